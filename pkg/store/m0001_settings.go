package store

import "gorm.io/gorm"

func m0001Settings() migration {
	return migration{version: 1, name: "settings", up: func(tx *gorm.DB) error {
		return execAll(tx, `CREATE TABLE settings (
			key TEXT PRIMARY KEY,
			value TEXT NOT NULL,
			updated_at DATETIME NOT NULL)`)
	}}
}
