package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Owner holds the instance owner's password hash (one row, id 1).
type Owner struct {
	ID           int64 `gorm:"primaryKey"`
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// TableName is the owner_credentials table.
func (Owner) TableName() string { return "owner_credentials" }

// SetupCode is the hash of the one-time code that claims a fresh instance.
type SetupCode struct {
	ID        int64 `gorm:"primaryKey"`
	CodeHash  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TableName is the setup_codes table.
func (SetupCode) TableName() string { return "setup_codes" }

// Session is a browser session. The cookie carries a secret whose SHA-256 is SecretHash; PublicID names
// the session in the UI without revealing the secret.
type Session struct {
	ID         int64 `gorm:"primaryKey"`
	PublicID   string
	SecretHash string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
	IP         string    `gorm:"column:ip"`
	UserAgent  string
}

// TableName is the sessions table.
func (Session) TableName() string { return "sessions" }

// APIToken is a bearer token for scripts; only its hash is stored.
type APIToken struct {
	ID         int64 `gorm:"primaryKey"`
	PublicID   string
	Name       string
	Scope      string // read or full
	TokenHash  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// TableName is the api_tokens table.
func (APIToken) TableName() string { return "api_tokens" }

// LoginAttempt is one recorded login, setup or password-change attempt.
type LoginAttempt struct {
	ID        int64 `gorm:"primaryKey"`
	At        time.Time
	IP        string `gorm:"column:ip"`
	UserAgent string
	Path      string
	Outcome   string
}

// TableName is the login_attempts table.
func (LoginAttempt) TableName() string { return "login_attempts" }

// GetOwner returns the owner's credentials, or ErrNotFound before setup.
func (s *Store) GetOwner(ctx context.Context) (Owner, error) {
	var o Owner
	if err := s.db.WithContext(ctx).Where("id = 1").Take(&o).Error; err != nil {
		return Owner{}, fmt.Errorf("get owner: %w", translate(err))
	}
	return o, nil
}

// SetOwnerPassword creates or replaces the owner's password hash.
func (s *Store) SetOwnerPassword(ctx context.Context, hash string, now time.Time) error {
	o := Owner{ID: 1, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"password_hash", "updated_at"}),
	}).Create(&o).Error
	if err != nil {
		return fmt.Errorf("set owner password: %w", translate(err))
	}
	return nil
}

// ReplaceSetupCode removes every earlier setup code and stores a new one.
func (s *Store) ReplaceSetupCode(ctx context.Context, codeHash string, now, expiresAt time.Time) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM setup_codes").Error; err != nil {
			return err
		}
		return tx.Create(&SetupCode{CodeHash: codeHash, CreatedAt: now, ExpiresAt: expiresAt}).Error
	})
	if err != nil {
		return fmt.Errorf("replace setup code: %w", translate(err))
	}
	return nil
}

// GetSetupCode returns the current setup code, or ErrNotFound.
func (s *Store) GetSetupCode(ctx context.Context) (SetupCode, error) {
	var c SetupCode
	if err := s.db.WithContext(ctx).Order("id DESC").Take(&c).Error; err != nil {
		return SetupCode{}, fmt.Errorf("get setup code: %w", translate(err))
	}
	return c, nil
}

// DeleteSetupCodes removes every setup code.
func (s *Store) DeleteSetupCodes(ctx context.Context) error {
	if err := s.db.WithContext(ctx).Exec("DELETE FROM setup_codes").Error; err != nil {
		return fmt.Errorf("delete setup codes: %w", translate(err))
	}
	return nil
}

// ClaimOwner spends the setup code codeID and stores the owner's first password, atomically: it returns
// ErrNotFound if that code was already spent or replaced, and ErrConflict if an owner already exists.
func (s *Store) ClaimOwner(ctx context.Context, codeID int64, passwordHash string, now time.Time) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Owner{}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrConflict
		}
		res := tx.Exec("DELETE FROM setup_codes WHERE id = ?", codeID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrNotFound
		}
		return tx.Create(&Owner{ID: 1, PasswordHash: passwordHash, CreatedAt: now, UpdatedAt: now}).Error
	})
	if err != nil {
		return fmt.Errorf("claim owner: %w", translate(err))
	}
	return nil
}

// SetSettingIfAbsent stores value under key unless the key exists, and returns the value now stored.
func (s *Store) SetSettingIfAbsent(ctx context.Context, key, value string) (string, error) {
	row := Setting{Key: key, Value: value, UpdatedAt: time.Now().UTC()}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return "", fmt.Errorf("set setting %q if absent: %w", key, translate(err))
	}
	return s.GetSetting(ctx, key)
}

// CreateSession stores a new session and fills in its ID.
func (s *Store) CreateSession(ctx context.Context, se *Session) error {
	if err := s.db.WithContext(ctx).Create(se).Error; err != nil {
		return fmt.Errorf("create session: %w", translate(err))
	}
	return nil
}

// SessionBySecretHash returns the session whose secret hashes to h, or ErrNotFound.
func (s *Store) SessionBySecretHash(ctx context.Context, h string) (Session, error) {
	var se Session
	if err := s.db.WithContext(ctx).Where("secret_hash = ?", h).Take(&se).Error; err != nil {
		return Session{}, fmt.Errorf("get session: %w", translate(err))
	}
	return se, nil
}

// TouchSession records activity on a session.
func (s *Store) TouchSession(ctx context.Context, id int64, at time.Time) error {
	if err := s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", id).Update("last_seen_at", at).Error; err != nil {
		return fmt.Errorf("touch session: %w", translate(err))
	}
	return nil
}

// ListSessions returns every session, newest first.
func (s *Store) ListSessions(ctx context.Context) ([]Session, error) {
	var out []Session
	if err := s.db.WithContext(ctx).Order("id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list sessions: %w", translate(err))
	}
	return out, nil
}

// DeleteSession removes the session with the given row id, or returns ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id int64) error {
	return deleteOne(s.db.WithContext(ctx).Where("id = ?", id).Delete(&Session{}), "delete session")
}

// DeleteSessionByPublicID removes the session with the given public id, or returns ErrNotFound.
func (s *Store) DeleteSessionByPublicID(ctx context.Context, publicID string) error {
	return deleteOne(s.db.WithContext(ctx).Where("public_id = ?", publicID).Delete(&Session{}), "delete session")
}

// DeleteSessionsExcept removes every session but keepID (0 removes all) and returns how many went.
func (s *Store) DeleteSessionsExcept(ctx context.Context, keepID int64) (int64, error) {
	res := s.db.WithContext(ctx).Where("id <> ?", keepID).Delete(&Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete sessions: %w", translate(res.Error))
	}
	return res.RowsAffected, nil
}

// PruneSessions keeps only the newest keep sessions.
func (s *Store) PruneSessions(ctx context.Context, keep int) error {
	err := s.db.WithContext(ctx).Exec(
		"DELETE FROM sessions WHERE id NOT IN (SELECT id FROM sessions ORDER BY id DESC LIMIT ?)", keep).Error
	if err != nil {
		return fmt.Errorf("prune sessions: %w", translate(err))
	}
	return nil
}

// CreateAPIToken stores a new API token and fills in its ID.
func (s *Store) CreateAPIToken(ctx context.Context, t *APIToken) error {
	if err := s.db.WithContext(ctx).Create(t).Error; err != nil {
		return fmt.Errorf("create api token: %w", translate(err))
	}
	return nil
}

// APITokenByHash returns the token whose secret hashes to h, or ErrNotFound.
func (s *Store) APITokenByHash(ctx context.Context, h string) (APIToken, error) {
	var t APIToken
	if err := s.db.WithContext(ctx).Where("token_hash = ?", h).Take(&t).Error; err != nil {
		return APIToken{}, fmt.Errorf("get api token: %w", translate(err))
	}
	return t, nil
}

// ListAPITokens returns every API token, oldest first.
func (s *Store) ListAPITokens(ctx context.Context) ([]APIToken, error) {
	var out []APIToken
	if err := s.db.WithContext(ctx).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list api tokens: %w", translate(err))
	}
	return out, nil
}

// CountAPITokens returns how many API tokens exist.
func (s *Store) CountAPITokens(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&APIToken{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count api tokens: %w", translate(err))
	}
	return n, nil
}

// TouchAPIToken records the use of a token.
func (s *Store) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	if err := s.db.WithContext(ctx).Model(&APIToken{}).Where("id = ?", id).Update("last_used_at", at).Error; err != nil {
		return fmt.Errorf("touch api token: %w", translate(err))
	}
	return nil
}

// DeleteAPITokenByPublicID removes the token with the given public id, or returns ErrNotFound.
func (s *Store) DeleteAPITokenByPublicID(ctx context.Context, publicID string) error {
	return deleteOne(s.db.WithContext(ctx).Where("public_id = ?", publicID).Delete(&APIToken{}), "delete api token")
}

// AddLoginAttempts records a batch of attempts in one transaction and prunes the log to its newest keep
// rows.
func (s *Store) AddLoginAttempts(ctx context.Context, as []LoginAttempt, keep int) error {
	if len(as) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&as).Error; err != nil {
			return err
		}
		return tx.Exec("DELETE FROM login_attempts WHERE id <= ?", as[len(as)-1].ID-int64(keep)).Error
	})
	if err != nil {
		return fmt.Errorf("add login attempts: %w", translate(err))
	}
	return nil
}

// ListLoginAttempts returns up to limit attempts, newest first.
func (s *Store) ListLoginAttempts(ctx context.Context, limit int) ([]LoginAttempt, error) {
	var out []LoginAttempt
	if err := s.db.WithContext(ctx).Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list login attempts: %w", translate(err))
	}
	return out, nil
}

// CountLoginAttempts returns how many attempts the log holds.
func (s *Store) CountLoginAttempts(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&LoginAttempt{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count login attempts: %w", translate(err))
	}
	return n, nil
}

func deleteOne(res *gorm.DB, what string) error {
	if res.Error != nil {
		return fmt.Errorf("%s: %w", what, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}
