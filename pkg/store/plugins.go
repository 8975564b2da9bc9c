package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrQuota is returned by PluginKVSet when the write would pass the plugin's quota.
var ErrQuota = errors.New("quota exceeded")

// Plugin is an installed plugin package.
type Plugin struct {
	ID             string `gorm:"primaryKey"`
	Version        string
	Manifest       []byte
	Wasm           []byte
	Signature      []byte
	WasmSHA256     string `gorm:"column:wasm_sha256"`
	PublisherKeyID string
	Enabled        bool
	DisabledReason string
	InstalledAt    time.Time
	UpdatedAt      time.Time
}

// TableName is the plugins table.
func (Plugin) TableName() string { return "plugins" }

// PluginGrant is one capability granted to one plugin version.
type PluginGrant struct {
	PluginID   string `gorm:"primaryKey"`
	Version    string `gorm:"primaryKey"`
	Capability string `gorm:"primaryKey"`
	GrantedAt  time.Time
}

// TableName is the plugin_grants table.
func (PluginGrant) TableName() string { return "plugin_grants" }

// PluginPublisher is a publisher key the owner trusts.
type PluginPublisher struct {
	KeyID     string `gorm:"primaryKey"`
	Name      string
	PublicKey []byte
	AddedAt   time.Time
}

// TableName is the plugin_publishers table.
func (PluginPublisher) TableName() string { return "plugin_publishers" }

// PluginAudit is one audit event.
type PluginAudit struct {
	ID       int64 `gorm:"primaryKey"`
	PluginID string
	Event    string
	Detail   string
	At       time.Time
}

// TableName is the plugin_audit table.
func (PluginAudit) TableName() string { return "plugin_audit" }

type pluginKV struct {
	PluginID string `gorm:"primaryKey"`
	Key      string `gorm:"primaryKey"`
	Value    []byte
}

func (pluginKV) TableName() string { return "plugin_kv" }

// PutPlugin inserts the plugin or replaces every column of the row with its id (an upgrade).
func (s *Store) PutPlugin(ctx context.Context, p *Plugin) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(p).Error
	if err != nil {
		return fmt.Errorf("put plugin %q: %w", p.ID, translate(err))
	}
	return nil
}

// GetPlugin returns the plugin with the given id, or ErrNotFound.
func (s *Store) GetPlugin(ctx context.Context, id string) (Plugin, error) {
	var p Plugin
	res := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&p)
	if res.Error != nil {
		return Plugin{}, fmt.Errorf("get plugin %q: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return Plugin{}, fmt.Errorf("get plugin %q: %w", id, ErrNotFound)
	}
	return p, nil
}

// ListPlugins returns every plugin ordered by id.
func (s *Store) ListPlugins(ctx context.Context) ([]Plugin, error) {
	var out []Plugin
	if err := s.db.WithContext(ctx).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list plugins: %w", translate(err))
	}
	return out, nil
}

// DeletePlugin removes a plugin with its grants and kv rows, or returns ErrNotFound.
func (s *Store) DeletePlugin(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, m := range []any{&PluginGrant{}, &pluginKV{}} {
			if err := tx.Where("plugin_id = ?", id).Delete(m).Error; err != nil {
				return fmt.Errorf("delete plugin %q: %w", id, translate(err))
			}
		}
		res := tx.Where("id = ?", id).Delete(&Plugin{})
		if res.Error != nil {
			return fmt.Errorf("delete plugin %q: %w", id, translate(res.Error))
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("delete plugin %q: %w", id, ErrNotFound)
		}
		return nil
	})
}

// SetPluginEnabled sets the enabled flag and the reason it is off.
func (s *Store) SetPluginEnabled(ctx context.Context, id string, enabled bool, reason string) error {
	res := s.db.WithContext(ctx).Model(&Plugin{}).Where("id = ?", id).Updates(map[string]any{
		"enabled": enabled, "disabled_reason": reason, "updated_at": time.Now().UTC(),
	})
	if res.Error != nil {
		return fmt.Errorf("enable plugin %q: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("enable plugin %q: %w", id, ErrNotFound)
	}
	return nil
}

// PluginGrants returns the capabilities granted to one plugin version, sorted.
func (s *Store) PluginGrants(ctx context.Context, id, version string) ([]string, error) {
	var out []string
	err := s.db.WithContext(ctx).Model(&PluginGrant{}).Where("plugin_id = ? AND version = ?", id, version).
		Order("capability").Pluck("capability", &out).Error
	if err != nil {
		return nil, fmt.Errorf("plugin grants %q: %w", id, translate(err))
	}
	return out, nil
}

// SetPluginGrants replaces the grants of one plugin version.
func (s *Store) SetPluginGrants(ctx context.Context, id, version string, caps []string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("plugin_id = ? AND version = ?", id, version).Delete(&PluginGrant{}).Error; err != nil {
			return fmt.Errorf("set plugin grants %q: %w", id, translate(err))
		}
		now := time.Now().UTC()
		for _, c := range caps {
			if err := tx.Create(&PluginGrant{PluginID: id, Version: version, Capability: c, GrantedAt: now}).Error; err != nil {
				return fmt.Errorf("set plugin grants %q: %w", id, translate(err))
			}
		}
		return nil
	})
}

// PluginPublishers lists the trusted publisher keys.
func (s *Store) PluginPublishers(ctx context.Context) ([]PluginPublisher, error) {
	var out []PluginPublisher
	if err := s.db.WithContext(ctx).Order("added_at, key_id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("plugin publishers: %w", translate(err))
	}
	return out, nil
}

// AddPluginPublisher trusts a key (again: the name is updated).
func (s *Store) AddPluginPublisher(ctx context.Context, p *PluginPublisher) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key_id"}}, DoUpdates: clause.AssignmentColumns([]string{"name"})}).Create(p).Error
	if err != nil {
		return fmt.Errorf("add plugin publisher: %w", translate(err))
	}
	return nil
}

// DeletePluginPublisher removes a trusted key, or returns ErrNotFound.
func (s *Store) DeletePluginPublisher(ctx context.Context, keyID string) error {
	res := s.db.WithContext(ctx).Where("key_id = ?", keyID).Delete(&PluginPublisher{})
	if res.Error != nil {
		return fmt.Errorf("delete plugin publisher: %w", translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("delete plugin publisher %q: %w", keyID, ErrNotFound)
	}
	return nil
}

// maxPluginAudit bounds the audit table: older rows are pruned on insert.
const maxPluginAudit = 10_000

// AddPluginAudit appends an audit event and prunes the oldest beyond maxPluginAudit.
func (s *Store) AddPluginAudit(ctx context.Context, a *PluginAudit) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(a).Error; err != nil {
			return fmt.Errorf("add plugin audit: %w", translate(err))
		}
		if a.ID%100 == 0 {
			if err := tx.Where("id <= ?", a.ID-maxPluginAudit).Delete(&PluginAudit{}).Error; err != nil {
				return fmt.Errorf("prune plugin audit: %w", translate(err))
			}
		}
		return nil
	})
}

// PluginAuditLog returns the newest audit events first, of one plugin or of all (pluginID "").
func (s *Store) PluginAuditLog(ctx context.Context, pluginID string, limit int) ([]PluginAudit, error) {
	q := s.db.WithContext(ctx).Order("id DESC").Limit(limit)
	if pluginID != "" {
		q = q.Where("plugin_id = ?", pluginID)
	}
	var out []PluginAudit
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("plugin audit: %w", translate(err))
	}
	return out, nil
}

// PluginKVGet returns a value and whether it exists.
func (s *Store) PluginKVGet(ctx context.Context, pluginID, key string) ([]byte, bool, error) {
	var row pluginKV
	res := s.db.WithContext(ctx).Where("plugin_id = ? AND key = ?", pluginID, key).Limit(1).Find(&row)
	if res.Error != nil {
		return nil, false, fmt.Errorf("plugin kv get: %w", translate(res.Error))
	}
	return row.Value, res.RowsAffected == 1, nil
}

// PluginKVSet stores a value unless the plugin's keys and values would then exceed quota bytes.
func (s *Store) PluginKVSet(ctx context.Context, pluginID, key string, value []byte, quota int64) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var used int64
		err := tx.Raw(`SELECT COALESCE(SUM(`+s.textBytes("key")+` + LENGTH(value)), 0) FROM plugin_kv
			WHERE plugin_id = ? AND key != ?`, pluginID, key).Scan(&used).Error
		if err != nil {
			return fmt.Errorf("plugin kv usage: %w", translate(err))
		}
		if used+int64(len(key)+len(value)) > quota {
			return fmt.Errorf("plugin %q kv: %w (%d bytes)", pluginID, ErrQuota, quota)
		}
		row := pluginKV{PluginID: pluginID, Key: key, Value: value}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return fmt.Errorf("plugin kv set: %w", translate(err))
		}
		return nil
	})
}

// PluginKVDelete removes a key (absent keys are fine).
func (s *Store) PluginKVDelete(ctx context.Context, pluginID, key string) error {
	if err := s.db.WithContext(ctx).Where("plugin_id = ? AND key = ?", pluginID, key).Delete(&pluginKV{}).Error; err != nil {
		return fmt.Errorf("plugin kv delete: %w", translate(err))
	}
	return nil
}
