package auth

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// Token scopes.
const (
	ScopeRead = "read" // GET-only access
	ScopeFull = "full" // everything a token may do
)

// Principal kinds.
const (
	KindSession = "session"
	KindToken   = "token"
)

// sessionSecretLen is the length of the cookie value: 32 random bytes as unpadded base64url.
const sessionSecretLen = 43

// touchEvery throttles last-seen writes for sessions and tokens.
const touchEvery = time.Minute

// NewSession is what a successful setup or login hands to the browser.
type NewSession struct {
	Secret      string    // the session cookie value; never stored, never logged
	PublicID    string    // names the session in lists
	CSRFToken   string    // send back as X-CSRF-Token on state-changing requests
	ExpiresAt   time.Time // absolute expiry, for the cookie's Expires
	TrustMarker string    // the signed trusted-client marker cookie value
}

// Principal is who an authenticated request acts as.
type Principal struct {
	Kind            string // KindSession or KindToken
	Scope           string // ScopeFull for sessions
	SessionID       int64
	SessionPublicID string
	TokenPublicID   string
	csrf            string
}

// CheckCSRF reports, in constant time, whether got is this session's CSRF token. Always false for tokens.
func (p Principal) CheckCSRF(got string) bool {
	if p.Kind != KindSession || p.csrf == "" || got == "" {
		return false
	}
	return hmac.Equal([]byte(got), []byte(p.csrf))
}

// CSRFToken returns the session-bound CSRF token, empty for API tokens.
func (p Principal) CSRFToken() string { return p.csrf }

// SessionInfo describes a session in the owner's list; it never holds the secret.
type SessionInfo struct {
	PublicID   string
	CreatedAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
	Current    bool
}

func (s *Service) createSession(ctx context.Context, cl Client, now time.Time) (*NewSession, error) {
	secret, err := randomToken(32)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	pid, err := randomToken(12)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	row := &store.Session{PublicID: pid, SecretHash: sha256Hex(secret), CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.opts.SessionMax), IP: clip(cl.IP, 64), UserAgent: clip(cl.UserAgent, 256)}
	err = s.st.CreateSession(ctx, row)
	if errors.Is(err, store.ErrStorageFull) {
		// The store's full hook has released the data dir's space reserve by now: one retry, so a
		// login on a full disk gets the few pages it needs.
		row.ID = 0
		err = s.st.CreateSession(ctx, row)
	}
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	if err := s.st.PruneSessions(ctx, s.opts.MaxSessions); err != nil {
		// Pruning is housekeeping: the session is stored, so a full disk must not fail the login.
		s.log.Warn("could not prune sessions", "err", err)
	}
	csrf, err := s.csrfFor(ctx, secret)
	if err != nil {
		return nil, err
	}
	marker, err := s.issueTrustMarker(ctx, now)
	if err != nil {
		return nil, err
	}
	return &NewSession{Secret: secret, PublicID: pid, CSRFToken: csrf, ExpiresAt: row.ExpiresAt, TrustMarker: marker}, nil
}

// AuthenticateSession resolves a session cookie value. Unknown, revoked and expired sessions give
// ErrUnauthenticated; an expired one is deleted.
func (s *Service) AuthenticateSession(ctx context.Context, secret string) (Principal, error) {
	if len(secret) != sessionSecretLen {
		return Principal{}, ErrUnauthenticated
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return Principal{}, ErrUnauthenticated
	}
	row, err := s.st.SessionBySecretHash(ctx, sha256Hex(secret))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate session: %w", err)
	}
	now := s.now().UTC()
	if s.expired(row, now) {
		if err := s.st.DeleteSession(ctx, row.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("could not delete expired session", "err", err)
		}
		return Principal{}, ErrUnauthenticated
	}
	if now.Sub(row.LastSeenAt) >= touchEvery {
		if err := s.st.TouchSession(ctx, row.ID, now); err != nil {
			s.log.Warn("could not touch session", "err", err)
		}
	}
	csrf, err := s.csrfFor(ctx, secret)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: KindSession, Scope: ScopeFull, SessionID: row.ID, SessionPublicID: row.PublicID, csrf: csrf}, nil
}

func (s *Service) expired(row store.Session, now time.Time) bool {
	return !now.Before(row.ExpiresAt) || now.Sub(row.LastSeenAt) >= s.opts.SessionIdle
}

// Logout ends the principal's session.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if p.Kind != KindSession {
		return nil
	}
	if err := s.st.DeleteSession(ctx, p.SessionID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// ListSessions returns the live sessions, newest first, marking the caller's own.
func (s *Service) ListSessions(ctx context.Context, p Principal) ([]SessionInfo, error) {
	rows, err := s.st.ListSessions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	now := s.now().UTC()
	out := make([]SessionInfo, 0, len(rows))
	for _, r := range rows {
		if s.expired(r, now) {
			continue
		}
		out = append(out, SessionInfo{PublicID: r.PublicID, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt,
			IP: r.IP, UserAgent: r.UserAgent, Current: p.Kind == KindSession && r.ID == p.SessionID})
	}
	return out, nil
}

// RevokeSession ends the session with the given public id, or returns ErrNotFound.
func (s *Service) RevokeSession(ctx context.Context, publicID string) error {
	err := s.st.DeleteSessionByPublicID(ctx, publicID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// csrfFor derives the session-bound CSRF token from the session secret and the server secret.
func (s *Service) csrfFor(ctx context.Context, secret string) (string, error) {
	key, _, err := s.keys(ctx)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(mac(key, "csrf", sha256Hex(secret))), nil
}
