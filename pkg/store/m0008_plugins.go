package store

import "gorm.io/gorm"

// m0008Plugins adds the plugin registry: installed packages (one row per plugin, its current version
// with manifest, module and signature, re-verified at every load), the owner's trusted publisher keys,
// grants per plugin version (an upgrade starts with none), a per-plugin key-value store whose quota
// pkg/plugins enforces through PluginKVSet, and the audit log of installs, grants, refusals and
// failures.
func m0008Plugins() migration {
	return migration{version: 8, name: "plugins", up: func(tx *gorm.DB) error {
		return execAll(tx,
			`CREATE TABLE plugins (
				id TEXT PRIMARY KEY,
				version TEXT NOT NULL,
				manifest BLOB NOT NULL,
				wasm BLOB NOT NULL,
				signature BLOB NOT NULL,
				wasm_sha256 TEXT NOT NULL,
				publisher_key_id TEXT NOT NULL,
				enabled BOOLEAN NOT NULL DEFAULT 0,
				disabled_reason TEXT NOT NULL DEFAULT '',
				installed_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL)`,
			`CREATE TABLE plugin_grants (
				plugin_id TEXT NOT NULL REFERENCES plugins (id) ON DELETE CASCADE,
				version TEXT NOT NULL,
				capability TEXT NOT NULL,
				granted_at DATETIME NOT NULL,
				PRIMARY KEY (plugin_id, version, capability))`,
			`CREATE TABLE plugin_publishers (
				key_id TEXT PRIMARY KEY,
				name TEXT NOT NULL DEFAULT '',
				public_key BLOB NOT NULL,
				added_at DATETIME NOT NULL)`,
			`CREATE TABLE plugin_kv (
				plugin_id TEXT NOT NULL REFERENCES plugins (id) ON DELETE CASCADE,
				key TEXT NOT NULL,
				value BLOB NOT NULL,
				PRIMARY KEY (plugin_id, key))`,
			`CREATE TABLE plugin_audit (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				plugin_id TEXT NOT NULL DEFAULT '',
				event TEXT NOT NULL,
				detail TEXT NOT NULL DEFAULT '',
				at DATETIME NOT NULL)`,
			`CREATE INDEX plugin_audit_plugin ON plugin_audit (plugin_id, id)`,
		)
	}}
}
