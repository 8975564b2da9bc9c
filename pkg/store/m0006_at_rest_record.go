package store

import "gorm.io/gorm"

// m0006AtRestRecord adds the second at-rest record: one row holding what pkg/integrity vouches for
// (the identity key files, each bound by an HMAC to its own key), kept in the database so that
// deleting or editing integrity.json beside it cannot hide a swapped identity.
func m0006AtRestRecord() migration {
	return migration{version: 6, name: "at_rest_record", up: func(tx *gorm.DB) error {
		return execAll(tx,
			`CREATE TABLE at_rest_record (
				id INTEGER PRIMARY KEY CHECK (id = 1),
				data BLOB NOT NULL,
				updated_at DATETIME NOT NULL)`,
		)
	}}
}
