package store

import "gorm.io/gorm"

// m0003Auth adds the owner's credentials, the one-time setup code, browser sessions, API tokens and the
// bounded log of login and setup attempts. Secrets are stored only as hashes; the server secret used for
// CSRF and trusted-client markers lives in settings under auth.server_secret (written by pkg/auth).
func m0003Auth() migration {
	return migration{version: 3, name: "auth", up: func(tx *gorm.DB) error {
		return execAll(tx,
			`CREATE TABLE owner_credentials (
				id INTEGER PRIMARY KEY CHECK (id = 1),
				password_hash TEXT NOT NULL,
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL)`,
			`CREATE TABLE setup_codes (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				code_hash TEXT NOT NULL,
				created_at DATETIME NOT NULL,
				expires_at DATETIME NOT NULL)`,
			`CREATE TABLE sessions (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				public_id TEXT NOT NULL UNIQUE,
				secret_hash TEXT NOT NULL UNIQUE,
				created_at DATETIME NOT NULL,
				last_seen_at DATETIME NOT NULL,
				expires_at DATETIME NOT NULL,
				ip TEXT NOT NULL DEFAULT '',
				user_agent TEXT NOT NULL DEFAULT '')`,
			`CREATE TABLE api_tokens (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				public_id TEXT NOT NULL UNIQUE,
				name TEXT NOT NULL,
				scope TEXT NOT NULL CHECK (scope IN ('read', 'full')),
				token_hash TEXT NOT NULL UNIQUE,
				created_at DATETIME NOT NULL,
				last_used_at DATETIME)`,
			`CREATE TABLE login_attempts (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				at DATETIME NOT NULL,
				ip TEXT NOT NULL,
				user_agent TEXT NOT NULL,
				path TEXT NOT NULL,
				outcome TEXT NOT NULL)`,
		)
	}}
}
