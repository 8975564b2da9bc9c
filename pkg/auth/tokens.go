package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// tokenPrefix marks Reticle API tokens, so secret scanners and people recognise them.
const tokenPrefix = "rtk_"

// TokenInfo describes an API token in the owner's list; it never holds the secret.
type TokenInfo struct {
	PublicID   string
	Name       string
	Scope      string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// CreateToken makes a new API token and returns its description and its secret, which is shown once and
// stored only as a hash.
func (s *Service) CreateToken(ctx context.Context, name, scope string) (TokenInfo, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) {
		return TokenInfo{}, "", fmt.Errorf("%w: name must be 1 to 64 characters", ErrInvalid)
	}
	if scope != ScopeRead && scope != ScopeFull {
		return TokenInfo{}, "", fmt.Errorf("%w: scope must be read or full", ErrInvalid)
	}
	n, err := s.st.CountAPITokens(ctx)
	if err != nil {
		return TokenInfo{}, "", fmt.Errorf("create token: %w", err)
	}
	if n >= int64(s.opts.MaxTokens) {
		return TokenInfo{}, "", fmt.Errorf("%w: at most %d api tokens", ErrTooMany, s.opts.MaxTokens)
	}
	raw, err := randomToken(32)
	if err != nil {
		return TokenInfo{}, "", fmt.Errorf("create token: %w", err)
	}
	pid, err := randomToken(12)
	if err != nil {
		return TokenInfo{}, "", fmt.Errorf("create token: %w", err)
	}
	secret := tokenPrefix + raw
	row := &store.APIToken{PublicID: pid, Name: name, Scope: scope, TokenHash: sha256Hex(secret), CreatedAt: s.now().UTC()}
	if err := s.st.CreateAPIToken(ctx, row); err != nil {
		return TokenInfo{}, "", fmt.Errorf("create token: %w", err)
	}
	s.log.Info("api token created", "token_id", pid, "scope", scope)
	return tokenInfo(*row), secret, nil
}

// AuthenticateToken resolves a bearer token, or returns ErrUnauthenticated.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (Principal, error) {
	if len(secret) != len(tokenPrefix)+sessionSecretLen || subtle.ConstantTimeCompare([]byte(secret[:len(tokenPrefix)]), []byte(tokenPrefix)) != 1 {
		return Principal{}, ErrUnauthenticated
	}
	row, err := s.st.APITokenByHash(ctx, sha256Hex(secret))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate token: %w", err)
	}
	now := s.now().UTC()
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= touchEvery {
		if err := s.st.TouchAPIToken(ctx, row.ID, now); err != nil {
			s.log.Warn("could not touch api token", "err", err)
		}
	}
	return Principal{Kind: KindToken, Scope: row.Scope, TokenPublicID: row.PublicID}, nil
}

// ListTokens returns every API token, oldest first.
func (s *Service) ListTokens(ctx context.Context) ([]TokenInfo, error) {
	rows, err := s.st.ListAPITokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]TokenInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, tokenInfo(r))
	}
	return out, nil
}

// RevokeToken deletes the token with the given public id, or returns ErrNotFound.
func (s *Service) RevokeToken(ctx context.Context, publicID string) error {
	err := s.st.DeleteAPITokenByPublicID(ctx, publicID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	s.log.Info("api token revoked", "token_id", publicID)
	return nil
}

func tokenInfo(r store.APIToken) TokenInfo {
	return TokenInfo{PublicID: r.PublicID, Name: r.Name, Scope: r.Scope, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt}
}
