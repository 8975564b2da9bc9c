// Package store is Reticle's persistence: the only package that imports GORM. It opens the SQLite database
// (pure Go, github.com/glebarez/sqlite) with its pragmas, or a PostgreSQL database (gorm.io/driver/postgres,
// pgx, pure Go) when Options.Database is a postgres:// URL, with a bounded pool and a session advisory
// lock so one store has one writer. It applies the numbered, forward-only migrations (one file each,
// m000N_*.go, listed in migrations.go; written once in SQLite's dialect, with PostgreSQL's column types
// mapped in execAll and explicit branches only where the SQL differs), and offers typed queries per
// resource (settings.go, interfaces.go, ...). Callers never see *gorm.DB.
//
// May import: gorm, glebarez/sqlite, gorm.io/driver/postgres, the standard library.
package store
