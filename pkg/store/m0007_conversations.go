package store

import "gorm.io/gorm"

// m0007Conversations stores each message once and makes threads cheap to page. Attachment bytes move
// out of the fields into content-addressed files (the attachments table points at them by SHA-256;
// pkg/app moves the bytes of rows written before this migration, marked fields_state 0); inbound rows
// drop their packed copy (the signature was checked on arrival and nothing re-sends an inbound message)
// and delivered outbound rows too (only a failed one may be retried). Conversations keep one row per peer
// with its newest message and unread count, so the conversation list never scans the messages table.
// Messages already stored count as read: they were shown before unread counts existed.
func m0007Conversations() migration {
	return migration{version: 7, name: "conversations", up: func(tx *gorm.DB) error {
		markRead := `UPDATE messages SET read = 1`
		if isPostgres(tx) {
			markRead = `UPDATE messages SET read = TRUE`
		}
		return execAll(tx,
			`ALTER TABLE messages ADD COLUMN read BOOLEAN NOT NULL DEFAULT 0`,
			`ALTER TABLE messages ADD COLUMN renderer TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE messages ADD COLUMN reply_to TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE messages ADD COLUMN reaction_to TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE messages ADD COLUMN reaction TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE messages ADD COLUMN meta TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE messages ADD COLUMN fields_state INTEGER NOT NULL DEFAULT 0`,
			markRead,
			`UPDATE messages SET fields_state = 1 WHERE fields IS NULL`,
			`UPDATE messages SET packed = NULL WHERE direction = 'in' OR state = 'delivered'`,
			`CREATE INDEX messages_thread ON messages (peer, reaction_to, id)`,
			`CREATE INDEX messages_reaction_to ON messages (reaction_to) WHERE reaction_to != ''`,
			`CREATE INDEX messages_unread ON messages (peer, direction, read)`,
			`CREATE INDEX messages_fields_state ON messages (fields_state) WHERE fields_state = 0`,
			`CREATE TABLE attachments (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				message_row INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
				idx INTEGER NOT NULL,
				kind TEXT NOT NULL CHECK (kind IN ('file', 'image', 'audio')),
				name TEXT NOT NULL DEFAULT '',
				mime TEXT NOT NULL DEFAULT '',
				codec TEXT NOT NULL DEFAULT '',
				hash TEXT NOT NULL,
				size INTEGER NOT NULL,
				UNIQUE (message_row, idx))`,
			`CREATE INDEX attachments_hash ON attachments (hash)`,
			`CREATE TABLE conversations (
				peer TEXT PRIMARY KEY,
				last_id INTEGER NOT NULL,
				unread INTEGER NOT NULL DEFAULT 0,
				updated_at DATETIME NOT NULL)`,
			`CREATE INDEX conversations_last ON conversations (last_id)`,
			`INSERT INTO conversations (peer, last_id, unread, updated_at)
				SELECT peer, MAX(id), 0, MAX(created_at) FROM messages GROUP BY peer`,
			`CREATE INDEX peers_last_seen ON peers (last_seen, hash)`,
		)
	}}
}
