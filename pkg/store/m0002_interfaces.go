package store

import "gorm.io/gorm"

func m0002Interfaces() migration {
	return migration{version: 2, name: "interfaces", up: func(tx *gorm.DB) error {
		return execAll(tx, `CREATE TABLE interfaces (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			name TEXT NOT NULL UNIQUE,
			uri TEXT NOT NULL,
			enabled BOOLEAN NOT NULL DEFAULT 1,
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL)`)
	}}
}
