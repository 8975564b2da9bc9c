package plugins

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned for a plugin or key that is not installed; [Records] implementations return
// it (wrapped) too.
var ErrNotFound = errors.New("plugin not found")

// ErrQuota is what [Records.KVSet] returns (wrapped) when the write would pass the quota.
var ErrQuota = errors.New("plugin kv quota exceeded")

func isQuota(err error) bool { return errors.Is(err, ErrQuota) }

// Record is an installed plugin as persisted.
type Record struct {
	ID             string
	Version        string
	Manifest       []byte
	Wasm           []byte
	Signature      []byte
	WasmSHA256     string
	PublisherKeyID string
	Enabled        bool
	DisabledReason string
	Grants         []Capability // for Version only: an upgrade starts with none
	InstalledAt    time.Time
	UpdatedAt      time.Time
}

// AuditEntry is one audit event about a plugin.
type AuditEntry struct {
	ID       int64     `json:"id"`
	PluginID string    `json:"plugin_id"`
	Event    string    `json:"event"`
	Detail   string    `json:"detail"`
	At       time.Time `json:"at"`
}

// Audit events.
const (
	EventInstall      = "install"
	EventRefused      = "refused"
	EventGrant        = "grant"
	EventRevoke       = "revoke"
	EventEnable       = "enable"
	EventDisable      = "disable"
	EventAutoDisable  = "auto_disable"
	EventDenied       = "denied"
	EventFailure      = "failure"
	EventRemove       = "remove"
	EventKeyTrusted   = "key_trusted"
	EventKeyUntrusted = "key_untrusted"
)

// Records is the persistence the registry needs; cmd/reticle implements it on pkg/store.
type Records interface {
	PutPlugin(ctx context.Context, r Record) error // insert or replace the row of r.ID (grants are kept per version)
	GetPlugin(ctx context.Context, id string) (Record, error)
	ListPlugins(ctx context.Context) ([]Record, error)
	DeletePlugin(ctx context.Context, id string) error // the row, its grants and its kv
	SetEnabled(ctx context.Context, id string, enabled bool, reason string) error
	SetGrants(ctx context.Context, id, version string, caps []Capability) error

	TrustedKeys(ctx context.Context) ([]PublisherKey, error)
	AddTrustedKey(ctx context.Context, k PublisherKey) error
	DeleteTrustedKey(ctx context.Context, id string) error

	AddAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, pluginID string, limit int) ([]AuditEntry, error)

	KVGet(ctx context.Context, pluginID, key string) ([]byte, bool, error)
	KVSet(ctx context.Context, pluginID, key string, value []byte, quota int64) error
	KVDelete(ctx context.Context, pluginID, key string) error
}

// Host is what plugins may ask of the node.
type Host interface {
	// SendMessage sends content as the node's LXMF identity to the 32-hex-digit destination.
	SendMessage(ctx context.Context, pluginID, destination, content string) error
}
