package store

import "gorm.io/gorm"

// m0010Contacts stores the owner's contacts: one row per LXMF address with the owner's own name for it
// (which wins over the announced one), notes and a favourite mark. A contact's peer row is never evicted.
func m0010Contacts() migration {
	return migration{version: 10, name: "contacts", up: func(tx *gorm.DB) error {
		return execAll(tx,
			`CREATE TABLE contacts (
				address TEXT PRIMARY KEY,
				name TEXT NOT NULL DEFAULT '',
				notes TEXT NOT NULL DEFAULT '',
				favourite BOOLEAN NOT NULL DEFAULT 0,
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL)`,
			`CREATE INDEX contacts_order ON contacts (favourite, name, address)`,
		)
	}}
}
