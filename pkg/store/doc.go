// Package store is Reticle's persistence: the only package that imports GORM. It opens the SQLite database
// (pure Go, github.com/glebarez/sqlite) with its pragmas, applies the numbered, forward-only migrations
// (one file each, m000N_*.go, listed in migrations.go), and offers typed queries per resource
// (settings.go, interfaces.go, ...). Callers never see *gorm.DB.
//
// May import: gorm, glebarez/sqlite, the standard library.
package store
