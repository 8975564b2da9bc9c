package store

import "gorm.io/gorm"

// m0009Blocks stores blocked identities: one row per identity hash, with the address it was blocked by
// (for the list the owner sees). Every destination of a blocked identity is blocked.
func m0009Blocks() migration {
	return migration{version: 9, name: "blocks", up: func(tx *gorm.DB) error {
		return execAll(tx,
			`CREATE TABLE blocks (
				identity_hash TEXT PRIMARY KEY,
				address TEXT NOT NULL DEFAULT '',
				created_at DATETIME NOT NULL)`,
		)
	}}
}
