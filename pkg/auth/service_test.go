package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

var loginPath = "/api/v1/auth/login"

func TestBootstrapStoresOnlyAHash(t *testing.T) {
	ctx := context.Background()
	s, st, _ := newTestService(t, nil)
	code, err := s.Bootstrap(ctx, "")
	if err != nil || code == "" {
		t.Fatalf("bootstrap = %q, %v", code, err)
	}
	sc, err := st.GetSetupCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sc.CodeHash, strings.ReplaceAll(code, "-", "")) || len(sc.CodeHash) != 64 {
		t.Fatalf("stored code is not a hash: %q", sc.CodeHash)
	}
	// A restart prints a new code; the old one stops working.
	code2, _ := s.Bootstrap(ctx, "")
	if code2 == code {
		t.Fatal("restart reused the setup code")
	}
	if _, err := s.Setup(ctx, Client{IP: "192.0.2.1", Path: "/s"}, code, testPassword); !errors.Is(err, ErrBadSetupCode) {
		t.Fatalf("old code after restart: %v", err)
	}
	if _, err := s.Setup(ctx, Client{IP: "192.0.2.1", Path: "/s"}, strings.ToLower(code2), testPassword); err != nil {
		t.Fatalf("lowercase code: %v", err)
	}
	// With an owner, bootstrap prints nothing.
	if c, err := s.Bootstrap(ctx, ""); c != "" || err != nil {
		t.Fatalf("bootstrap with owner = %q, %v", c, err)
	}
}

func TestBootstrapInitialPassword(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestService(t, nil)
	if _, err := s.Bootstrap(ctx, "short"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("weak initial password: %v", err)
	}
	code, err := s.Bootstrap(ctx, testPassword)
	if err != nil || code != "" {
		t.Fatalf("bootstrap with password = %q, %v", code, err)
	}
	if req, _ := s.SetupRequired(ctx); req {
		t.Fatal("setup still required")
	}
	if _, err := s.Login(ctx, Client{IP: "192.0.2.1", Path: loginPath}, testPassword); err != nil {
		t.Fatal(err)
	}
}

func TestSetupRefusals(t *testing.T) {
	ctx := context.Background()
	s, _, clk := newTestService(t, nil)
	code, _ := s.Bootstrap(ctx, "")
	cl := Client{IP: "192.0.2.9", Path: "/api/v1/auth/setup"}
	for name, c := range map[string]string{"no code": "", "wrong code": "AAAA-BBBB-CCCC-DDDD", "prefix": code[:4]} {
		if _, err := s.Setup(ctx, cl, c, testPassword); !errors.Is(err, ErrBadSetupCode) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.Login(ctx, cl, testPassword); !errors.Is(err, ErrSetupRequired) {
		t.Fatalf("login before setup: %v", err)
	}
	if _, err := s.Setup(ctx, Client{IP: "192.0.2.10", Path: cl.Path}, code, "short"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("weak password: %v", err)
	}
	clk.Advance(24 * time.Hour)
	if _, err := s.Setup(ctx, Client{IP: "192.0.2.10", Path: cl.Path}, code, testPassword); !errors.Is(err, ErrBadSetupCode) {
		t.Fatalf("expired code: %v", err)
	}
	code, _ = s.Bootstrap(ctx, "")
	ns, err := s.Setup(ctx, Client{IP: "192.0.2.10", Path: cl.Path}, code, testPassword)
	if err != nil || ns.Secret == "" || ns.CSRFToken == "" || ns.TrustMarker == "" {
		t.Fatalf("setup = %+v, %v", ns, err)
	}
	// Single use: the code cannot claim the instance again, even with the right code.
	if _, err := s.Setup(ctx, Client{IP: "192.0.2.11", Path: cl.Path}, code, "another password!"); !errors.Is(err, ErrSetupDone) {
		t.Fatalf("second setup: %v", err)
	}
}

func TestSetupCodeGuessingLocksOut(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestService(t, nil)
	code, _ := s.Bootstrap(ctx, "")
	cl := Client{IP: "198.51.100.3", Path: "/api/v1/auth/setup"}
	for range 5 {
		_, _ = s.Setup(ctx, cl, "WRONG", testPassword)
	}
	_, err := s.Setup(ctx, cl, code, testPassword)
	var le *LimitError
	if !errors.As(err, &le) || le.Reason != ReasonLocked {
		t.Fatalf("right code from a locked-out guesser: %v", err)
	}
}

func TestLoginLockoutAndRelease(t *testing.T) {
	ctx := context.Background()
	s, _, clk := newTestService(t, nil)
	setupOwner(t, s)
	cl := Client{IP: "203.0.113.7", UserAgent: "bot", Path: loginPath}
	for i := range 5 {
		if _, err := s.Login(ctx, cl, "wrong password 123"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	_, err := s.Login(ctx, cl, testPassword)
	var le *LimitError
	if !errors.As(err, &le) || le.Reason != ReasonLocked || le.RetryAfterSeconds() != 300 {
		t.Fatalf("correct password during lockout: %v", err)
	}
	clk.Advance(5 * time.Minute)
	if _, err := s.Login(ctx, cl, testPassword); err != nil {
		t.Fatalf("after lockout: %v", err)
	}
	atts, _ := s.Attempts(ctx, 10)
	if len(atts) != 8 || atts[0].Outcome != OutcomeSuccess || atts[1].Outcome != ReasonLocked || atts[2].Outcome != OutcomeFailure {
		t.Fatalf("attempt log = %+v", atts)
	}
	if atts[1].IP != cl.IP || atts[1].UserAgent != "bot" || atts[1].Path != loginPath || !atts[1].Time.Equal(clk.Now().Add(-5*time.Minute)) {
		t.Fatalf("attempt fields = %+v", atts[1])
	}
}

func TestTrustedBrowserAdmittedDuringBroadAttack(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestService(t, nil)
	first := setupOwner(t, s)
	trustID := s.TrustID(ctx, first.TrustMarker)
	if trustID == "" {
		t.Fatal("fresh trust marker not accepted")
	}
	for i := range 60 {
		cl := Client{IP: "10.9.0." + string(rune('0'+i%10)) + string(rune('0'+i/10)), Path: loginPath}
		_, _ = s.Login(ctx, cl, "guess guess guess")
	}
	newcomer := Client{IP: "192.0.2.77", Path: loginPath}
	if _, err := s.Login(ctx, newcomer, testPassword); !errors.Is(err, ErrLimited) {
		t.Fatalf("untrusted owner during broad attack: %v", err)
	}
	owner := Client{IP: "192.0.2.77", Path: loginPath, TrustID: trustID}
	if _, err := s.Login(ctx, owner, testPassword); err != nil {
		t.Fatalf("trusted browser refused during broad attack: %v", err)
	}
	// Forged and tampered markers are not trusted.
	for _, m := range []string{"", "x.y.z", first.TrustMarker + "x", strings.Replace(first.TrustMarker, ".", "A.", 1)} {
		if id := s.TrustID(ctx, m); id != "" {
			t.Errorf("marker %q accepted", m)
		}
	}
}

func TestTrustMarkerExpiresAndResetRevokes(t *testing.T) {
	ctx := context.Background()
	s, _, clk := newTestService(t, nil)
	ns := setupOwner(t, s)
	clk.Advance(179 * 24 * time.Hour)
	if s.TrustID(ctx, ns.TrustMarker) == "" {
		t.Fatal("marker expired early")
	}
	clk.Advance(24 * time.Hour)
	if s.TrustID(ctx, ns.TrustMarker) != "" {
		t.Fatal("marker valid after TrustTTL")
	}
	ns2, err := s.Login(ctx, Client{IP: "192.0.2.1", Path: loginPath}, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ResetPassword(ctx, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if s.TrustID(ctx, ns2.TrustMarker) != "" {
		t.Fatal("marker survived reset-password")
	}
	if _, err := s.AuthenticateSession(ctx, ns2.Secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("session survived reset-password: %v", err)
	}
	if _, err := s.Login(ctx, Client{IP: "192.0.2.1", Path: loginPath}, "a brand new password"); err != nil {
		t.Fatal(err)
	}
}

func TestSessionsLifecycle(t *testing.T) {
	ctx := context.Background()
	s, st, clk := newTestService(t, nil)
	a := setupOwner(t, s)
	pa, err := s.AuthenticateSession(ctx, a.Secret)
	if err != nil || pa.Kind != KindSession || pa.Scope != ScopeFull || !pa.CheckCSRF(a.CSRFToken) {
		t.Fatalf("session a = %+v, %v", pa, err)
	}
	if pa.CheckCSRF("") || pa.CheckCSRF(a.CSRFToken+"x") {
		t.Fatal("wrong CSRF token accepted")
	}
	b, _ := s.Login(ctx, Client{IP: "192.0.2.2", UserAgent: "phone", Path: loginPath}, testPassword)
	if b.CSRFToken == a.CSRFToken {
		t.Fatal("CSRF token not bound to the session")
	}
	pb, _ := s.AuthenticateSession(ctx, b.Secret)
	if pb.CheckCSRF(a.CSRFToken) {
		t.Fatal("session b accepted session a's CSRF token")
	}
	// The secret is stored only hashed.
	rows, _ := st.ListSessions(ctx)
	for _, r := range rows {
		if r.SecretHash == a.Secret || r.SecretHash == b.Secret || r.PublicID == a.Secret {
			t.Fatal("session secret stored in clear")
		}
	}
	list, _ := s.ListSessions(ctx, pb)
	if len(list) != 2 || !list[0].Current || list[0].UserAgent != "phone" || list[1].Current {
		t.Fatalf("list = %+v", list)
	}
	// Change password from b ends a, keeps b.
	if err := s.ChangePassword(ctx, pb, Client{IP: "192.0.2.2", Path: "/pw"}, "wrong current pw", "new password 123"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong current: %v", err)
	}
	if err := s.ChangePassword(ctx, pb, Client{IP: "192.0.2.2", Path: "/pw"}, testPassword, "short"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("weak new: %v", err)
	}
	if err := s.ChangePassword(ctx, pb, Client{IP: "192.0.2.2", Path: "/pw"}, testPassword, "new password 123"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateSession(ctx, a.Secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("other session survived password change: %v", err)
	}
	if _, err := s.AuthenticateSession(ctx, b.Secret); err != nil {
		t.Fatalf("own session ended by password change: %v", err)
	}
	if _, err := s.Login(ctx, Client{IP: "192.0.2.3", Path: loginPath}, testPassword); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("old password still works: %v", err)
	}
	// Idle expiry.
	clk.Advance(7*24*time.Hour - time.Second)
	if _, err := s.AuthenticateSession(ctx, b.Secret); err != nil {
		t.Fatalf("expired before idle timeout: %v", err)
	}
	clk.Advance(7 * 24 * time.Hour)
	if _, err := s.AuthenticateSession(ctx, b.Secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("idle session still valid: %v", err)
	}
	// Absolute expiry despite activity.
	c, _ := s.Login(ctx, Client{IP: "192.0.2.4", Path: loginPath}, "new password 123")
	for range 31 {
		clk.Advance(24 * time.Hour)
		if _, err := s.AuthenticateSession(ctx, c.Secret); err != nil {
			break
		}
	}
	if _, err := s.AuthenticateSession(ctx, c.Secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("session outlived the absolute expiry")
	}
	// Revoke and logout.
	d, _ := s.Login(ctx, Client{IP: "192.0.2.5", Path: loginPath}, "new password 123")
	if err := s.RevokeSession(ctx, d.PublicID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, d.PublicID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	e, _ := s.Login(ctx, Client{IP: "192.0.2.5", Path: loginPath}, "new password 123")
	pe, _ := s.AuthenticateSession(ctx, e.Secret)
	if err := s.Logout(ctx, pe); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateSession(ctx, e.Secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("session valid after logout")
	}
	for _, junk := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("!", 43)} {
		if _, err := s.AuthenticateSession(ctx, junk); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("junk session %q: %v", junk, err)
		}
	}
}

func TestSessionsCapped(t *testing.T) {
	ctx := context.Background()
	s, st, _ := newTestService(t, func(o *Options) { o.MaxSessions = 3 })
	first := setupOwner(t, s)
	for range 4 {
		if _, err := s.Login(ctx, Client{IP: "192.0.2.1", Path: loginPath}, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := st.ListSessions(ctx)
	if len(rows) != 3 {
		t.Fatalf("%d sessions stored, want 3", len(rows))
	}
	if _, err := s.AuthenticateSession(ctx, first.Secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("oldest session not pruned")
	}
}

func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	s, st, clk := newTestService(t, func(o *Options) { o.MaxTokens = 2 })
	for _, tc := range []struct{ name, scope string }{{"", "read"}, {"x", "admin"}, {strings.Repeat("n", 65), "full"}} {
		if _, _, err := s.CreateToken(ctx, tc.name, tc.scope); !errors.Is(err, ErrInvalid) {
			t.Errorf("create(%q,%q): %v", tc.name, tc.scope, err)
		}
	}
	ri, rsecret, err := s.CreateToken(ctx, " reader ", ScopeRead)
	if err != nil || ri.Name != "reader" || !strings.HasPrefix(rsecret, "rtk_") {
		t.Fatalf("create = %+v %q %v", ri, rsecret, err)
	}
	fi, fsecret, _ := s.CreateToken(ctx, "writer", ScopeFull)
	if _, _, err := s.CreateToken(ctx, "third", ScopeRead); !errors.Is(err, ErrTooMany) {
		t.Fatalf("over cap: %v", err)
	}
	rows, _ := st.ListAPITokens(ctx)
	for _, r := range rows {
		if strings.Contains(r.TokenHash, rsecret) || strings.Contains(r.TokenHash, fsecret) {
			t.Fatal("token stored in clear")
		}
	}
	p, err := s.AuthenticateToken(ctx, rsecret)
	if err != nil || p.Kind != KindToken || p.Scope != ScopeRead || p.TokenPublicID != ri.PublicID || p.CheckCSRF("") {
		t.Fatalf("read token = %+v, %v", p, err)
	}
	if p, _ := s.AuthenticateToken(ctx, fsecret); p.Scope != ScopeFull {
		t.Fatalf("full token scope %q", p.Scope)
	}
	list, _ := s.ListTokens(ctx)
	if len(list) != 2 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(clk.Now()) {
		t.Fatalf("list = %+v", list)
	}
	if err := s.RevokeToken(ctx, fi.PublicID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateToken(ctx, fsecret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
	// Change the last character of a real token: to "A", or to "B" when it already is "A" (1 in 64
	// secrets end in "A"; "A" then would be the valid token itself).
	last := "A"
	if strings.HasSuffix(rsecret, "A") {
		last = "B"
	}
	for _, junk := range []string{"", "rtk_", rsecret[:len(rsecret)-1] + last, "xxx_" + rsecret[4:]} {
		if _, err := s.AuthenticateToken(ctx, junk); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("junk token %q: %v", junk, err)
		}
	}
}

func TestAttemptLogBounded(t *testing.T) {
	ctx := context.Background()
	s, st, _ := newTestService(t, func(o *Options) { o.AttemptLogSize = 7 })
	setupOwner(t, s)
	for i := range 20 {
		_, _ = s.Login(ctx, Client{IP: "192.0.2." + string(rune('a'+i)), UserAgent: strings.Repeat("u", 1000), Path: loginPath}, "x")
	}
	if n, _ := st.CountLoginAttempts(ctx); n != 7 {
		t.Fatalf("log holds %d, want 7", n)
	}
	atts, _ := s.Attempts(ctx, 100)
	if len(atts) != 7 || len(atts[0].UserAgent) != 256 {
		t.Fatalf("attempts = %d, ua len %d", len(atts), len(atts[0].UserAgent))
	}
}

func TestResetPasswordWithoutOwner(t *testing.T) {
	ctx := context.Background()
	s, st, _ := newTestService(t, nil)
	if _, err := s.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetPassword(ctx, "short"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("weak reset: %v", err)
	}
	if err := s.ResetPassword(ctx, testPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSetupCode(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("setup code survived reset-password")
	}
	if _, err := s.Login(ctx, Client{IP: "192.0.2.1", Path: loginPath}, testPassword); err != nil {
		t.Fatal(err)
	}
}

func TestBatchedAttemptLog(t *testing.T) {
	ctx := context.Background()
	s, st, _ := newTestService(t, func(o *Options) { o.AttemptLogSize = 300 })
	setupOwner(t, s)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		_, _ = s.Login(ctx, Client{IP: "10.0.0." + string(rune('a'+i%20)), Path: loginPath}, "wrong")
	}
	atts, err := s.Attempts(ctx, 1000)
	if err != nil || len(atts) != 300 {
		t.Fatalf("attempts after flush = %d, %v; want 300 (the cap)", len(atts), err)
	}
	_, _ = s.Login(ctx, Client{IP: "10.0.0.99", Path: loginPath}, "wrong")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	last, _ := st.ListLoginAttempts(ctx, 1)
	if len(last) != 1 || last[0].IP != "10.0.0.99" {
		t.Fatalf("attempt queued before Close not written: %+v", last)
	}
	// After Close, writes are synchronous again.
	_, _ = s.Login(ctx, Client{IP: "10.0.0.100", Path: loginPath}, "wrong")
	last, _ = st.ListLoginAttempts(ctx, 1)
	if len(last) != 1 || last[0].IP != "10.0.0.100" {
		t.Fatalf("attempt after Close not written: %+v", last)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}
