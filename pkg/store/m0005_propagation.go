package store

import "gorm.io/gorm"

// m0005Propagation adds LXMF propagation: the propagation nodes learned from lxmf.propagation announces
// (recorded only; no link is opened to them), and the messages this instance stores as a propagation
// node, each under its transient id (the SHA-256 of its propagated form) with the recipient's delivery
// hash, so a restarted node serves what it held before.
func m0005Propagation() migration {
	return migration{version: 5, name: "propagation", up: func(tx *gorm.DB) error {
		return execAll(tx,
			`CREATE TABLE propagation_nodes (
				hash TEXT PRIMARY KEY,
				public_key BLOB NOT NULL,
				name TEXT NOT NULL DEFAULT '',
				enabled BOOLEAN NOT NULL DEFAULT 0,
				stamp_cost INTEGER NOT NULL DEFAULT 0,
				stamp_flexibility INTEGER NOT NULL DEFAULT 0,
				transfer_limit_kb REAL NOT NULL DEFAULT 0,
				app_data BLOB,
				hops INTEGER NOT NULL DEFAULT 0,
				last_seen DATETIME NOT NULL,
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL)`,
			`CREATE TABLE propagation_messages (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				transient_id TEXT NOT NULL UNIQUE,
				destination TEXT NOT NULL,
				data BLOB NOT NULL,
				size INTEGER NOT NULL,
				stamp_value INTEGER NOT NULL DEFAULT 0,
				received_at DATETIME NOT NULL)`,
			`CREATE INDEX propagation_messages_destination ON propagation_messages (destination, size)`,
		)
	}}
}
