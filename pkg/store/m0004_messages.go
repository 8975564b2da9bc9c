package store

import "gorm.io/gorm"

// m0004Messages adds LXMF messages (both directions; the outbound rows are the persisted send queue) and
// the LXMF peers learned from delivery announces. A message is unique per (message_id, direction), so a
// retried or re-received message is stored once. Times the queue compares (next_attempt_at) are Unix
// milliseconds, so ordering never depends on a text time format.
func m0004Messages() migration {
	return migration{version: 4, name: "messages", up: func(tx *gorm.DB) error {
		if isPostgres(tx) {
			// Search reads blob columns as text (SQLite: CAST AS TEXT). PostgreSQL refuses to decode bytes
			// that are not UTF-8, so this decodes what it can and shows the rest escaped.
			if err := tx.Exec(`CREATE FUNCTION reticle_text(b bytea) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $$
				BEGIN
					RETURN convert_from(b, 'UTF8');
				EXCEPTION WHEN OTHERS THEN
					RETURN encode(b, 'escape');
				END $$`).Error; err != nil {
				return err
			}
		}
		return execAll(tx,
			`CREATE TABLE messages (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				message_id TEXT NOT NULL,
				direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
				peer TEXT NOT NULL,
				title BLOB NOT NULL DEFAULT x'',
				content BLOB NOT NULL DEFAULT x'',
				fields BLOB,
				packed BLOB,
				timestamp REAL NOT NULL,
				state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'received')),
				method TEXT NOT NULL DEFAULT '',
				attempts INTEGER NOT NULL DEFAULT 0,
				next_attempt_at INTEGER NOT NULL DEFAULT 0,
				error TEXT NOT NULL DEFAULT '',
				verified BOOLEAN NOT NULL DEFAULT 0,
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL,
				UNIQUE (message_id, direction))`,
			`CREATE INDEX messages_peer ON messages (peer, id)`,
			`CREATE INDEX messages_queue ON messages (direction, state, next_attempt_at)`,
			`CREATE TABLE peers (
				hash TEXT PRIMARY KEY,
				public_key BLOB NOT NULL,
				display_name TEXT NOT NULL DEFAULT '',
				stamp_cost INTEGER NOT NULL DEFAULT 0,
				hops INTEGER NOT NULL DEFAULT 0,
				last_seen DATETIME NOT NULL,
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL)`,
		)
	}}
}
