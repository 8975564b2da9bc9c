package store

import "gorm.io/gorm"

// m0008Reserved holds the place of migration 8, which another branch adds; the plugins migration
// was given number 9. Drop this file at merge (it changes nothing).
func m0008Reserved() migration {
	return migration{version: 8, name: "reserved", up: func(tx *gorm.DB) error { return nil }}
}
