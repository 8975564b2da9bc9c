package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestOwnerAndSetupCode(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, 0)
	defer closeStore(t, s)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := s.GetOwner(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("owner before setup: want ErrNotFound, got %v", err)
	}
	if err := s.ReplaceSetupCode(ctx, "h1", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceSetupCode(ctx, "h2", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c, err := s.GetSetupCode(ctx)
	if err != nil || c.CodeHash != "h2" || !c.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("setup code = %+v, %v", c, err)
	}
	if err := s.ClaimOwner(ctx, c.ID-1, "pw", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("claim with replaced code: want ErrNotFound, got %v", err)
	}
	if err := s.ClaimOwner(ctx, c.ID, "pw", now); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimOwner(ctx, c.ID, "pw2", now); !errors.Is(err, ErrConflict) {
		t.Fatalf("second claim: want ErrConflict, got %v", err)
	}
	if _, err := s.GetSetupCode(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("code after claim: want ErrNotFound, got %v", err)
	}
	if err := s.SetOwnerPassword(ctx, "pw3", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	o, err := s.GetOwner(ctx)
	if err != nil || o.PasswordHash != "pw3" || !o.CreatedAt.Equal(now) || !o.UpdatedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("owner = %+v, %v", o, err)
	}
	v, err := s.SetSettingIfAbsent(ctx, "k", "first")
	if err != nil || v != "first" {
		t.Fatalf("if absent = %q, %v", v, err)
	}
	if v, _ := s.SetSettingIfAbsent(ctx, "k", "second"); v != "first" {
		t.Fatalf("if absent kept %q, want first", v)
	}
}

func TestSessionsAndTokens(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, 0)
	defer closeStore(t, s)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids []int64
	for i, pid := range []string{"a", "b", "c"} {
		se := &Session{PublicID: pid, SecretHash: "h" + pid, CreatedAt: now, LastSeenAt: now,
			ExpiresAt: now.Add(time.Hour), IP: "127.0.0.1", UserAgent: "ua"}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(i, err)
		}
		ids = append(ids, se.ID)
	}
	if err := s.CreateSession(ctx, &Session{PublicID: "d", SecretHash: "ha"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate secret hash: want ErrConflict, got %v", err)
	}
	if err := s.TouchSession(ctx, ids[0], now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	se, err := s.SessionBySecretHash(ctx, "ha")
	if err != nil || !se.LastSeenAt.Equal(now.Add(time.Minute)) || se.IP != "127.0.0.1" {
		t.Fatalf("session = %+v, %v", se, err)
	}
	if err := s.PruneSessions(ctx, 2); err != nil {
		t.Fatal(err)
	}
	list, _ := s.ListSessions(ctx)
	if len(list) != 2 || list[0].PublicID != "c" || list[1].PublicID != "b" {
		t.Fatalf("after prune = %+v", list)
	}
	if err := s.DeleteSessionByPublicID(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete pruned: want ErrNotFound, got %v", err)
	}
	n, err := s.DeleteSessionsExcept(ctx, ids[2])
	if err != nil || n != 1 {
		t.Fatalf("delete except = %d, %v", n, err)
	}
	if err := s.DeleteSession(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}

	tok := &APIToken{PublicID: "t1", Name: "bot", Scope: "read", TokenHash: "th", CreatedAt: now}
	if err := s.CreateAPIToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIToken(ctx, &APIToken{PublicID: "t2", Name: "x", Scope: "admin", TokenHash: "x", CreatedAt: now}); err == nil {
		t.Fatal("scope outside read|full accepted")
	}
	if err := s.TouchAPIToken(ctx, tok.ID, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := s.APITokenByHash(ctx, "th")
	if err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(now.Add(time.Second)) || got.Scope != "read" {
		t.Fatalf("token = %+v, %v", got, err)
	}
	if c, _ := s.CountAPITokens(ctx); c != 1 {
		t.Fatalf("count = %d", c)
	}
	if err := s.DeleteAPITokenByPublicID(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.APITokenByHash(ctx, "th"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted token: want ErrNotFound, got %v", err)
	}
}

func TestLoginAttemptsBounded(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, 0)
	defer closeStore(t, s)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 25 {
		a := []LoginAttempt{{At: now.Add(time.Duration(i) * time.Second), IP: "10.0.0.1", UserAgent: "ua", Path: "/login", Outcome: "failure"}}
		if err := s.AddLoginAttempts(ctx, a, 10); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.CountLoginAttempts(ctx); n != 10 {
		t.Fatalf("log holds %d rows, want 10", n)
	}
	batch := make([]LoginAttempt, 4)
	for i := range batch {
		batch[i] = LoginAttempt{At: now.Add(time.Duration(30+i) * time.Second), IP: "10.0.0.2", Path: "/login", Outcome: "locked"}
	}
	if err := s.AddLoginAttempts(ctx, batch, 10); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountLoginAttempts(ctx); n != 10 {
		t.Fatalf("log holds %d rows after batch, want 10", n)
	}
	if err := s.AddLoginAttempts(ctx, nil, 10); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListLoginAttempts(ctx, 3)
	if err != nil || len(list) != 3 || !list[0].At.Equal(now.Add(33*time.Second)) || list[0].IP != "10.0.0.2" {
		t.Fatalf("newest attempts = %+v, %v", list, err)
	}
}
