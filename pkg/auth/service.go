package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// settingServerSecret is the settings key of the random secret behind CSRF tokens and trust markers.
const settingServerSecret = "auth.server_secret"

// Attempt outcomes recorded in the log, besides the limit reasons.
const (
	OutcomeSuccess       = "success"
	OutcomeFailure       = "failure"
	OutcomeBadSetupCode  = "bad_setup_code"
	OutcomeSetupRequired = "setup_required"
	OutcomeSetupDone     = "setup_done"
	OutcomeWeakPassword  = "weak_password"
	OutcomeError         = "error"
)

// Options configure the service. Zero values take the defaults noted.
type Options struct {
	Logger *slog.Logger     // nil discards
	Now    func() time.Time // nil is time.Now; tests inject a fake clock
	Hash   HashParams       // zero is DefaultHashParams()
	Limits Limits           // zero is DefaultLimits()
	// SessionIdle ends a session unused this long (7 days); SessionMax ends any session this long after
	// login (30 days).
	SessionIdle time.Duration
	SessionMax  time.Duration
	// SetupCodeTTL is how long a setup code is valid (24 h); a restart prints a fresh one.
	SetupCodeTTL time.Duration
	// TrustTTL is how long a trusted-client marker stays valid after a successful login (180 days).
	TrustTTL time.Duration
	// AttemptLogSize caps the attempt log; older rows are pruned (5000).
	AttemptLogSize int
	// MaxSessions caps stored sessions, oldest go first (50); MaxTokens caps API tokens (100).
	MaxSessions int
	MaxTokens   int
	// MaxConcurrentHashes bounds parallel argon2id computations, so a flood cannot exhaust memory (2).
	MaxConcurrentHashes int
}

// Service is the owner authentication of one instance. It is safe for concurrent use.
type Service struct {
	st   *store.Store
	log  *slog.Logger
	now  func() time.Time
	opts Options
	lim  *limiter
	sem  chan struct{}

	rec *recorder

	mu       sync.Mutex
	csrfKey  []byte
	trustKey []byte
}

// New builds the service over an open store. It does not touch the database until first used.
func New(opts Options, st *store.Store) (*Service, error) {
	if st == nil {
		return nil, errors.New("new auth service: nil store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Hash == (HashParams{}) {
		opts.Hash = DefaultHashParams()
	}
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.SessionIdle, 7*24*time.Hour)
	def(&opts.SessionMax, 30*24*time.Hour)
	def(&opts.SetupCodeTTL, 24*time.Hour)
	def(&opts.TrustTTL, 180*24*time.Hour)
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	defInt(&opts.AttemptLogSize, 5000)
	defInt(&opts.MaxSessions, 50)
	defInt(&opts.MaxTokens, 100)
	defInt(&opts.MaxConcurrentHashes, 2)
	return &Service{
		st: st, log: opts.Logger, now: opts.Now, opts: opts,
		lim: newLimiter(opts.Limits),
		sem: make(chan struct{}, opts.MaxConcurrentHashes),
		rec: &recorder{st: st, keep: opts.AttemptLogSize, log: opts.Logger},
	}, nil
}

// Start runs the attempt-log writer, which batches writes so that a flood of refused attempts costs one
// transaction per batch. Without Start (as in `reticle admin`) attempts are written one by one.
func (s *Service) Start(ctx context.Context) error {
	s.rec.start(ctx)
	return nil
}

// Close writes the attempts still queued and stops the writer.
func (s *Service) Close() error {
	s.rec.close()
	return nil
}

// Bootstrap prepares a fresh instance at startup. With an owner already present it does nothing. With
// initialPassword set (RETICLE_INITIAL_PASSWORD_FILE) it provisions the owner with it. Otherwise it stores
// a new one-time setup code, replacing any earlier one, and returns it: the caller logs it as
// "setup code: <code>". The code is returned only here and stored only as a hash.
func (s *Service) Bootstrap(ctx context.Context, initialPassword string) (setupCode string, err error) {
	if _, _, err := s.keys(ctx); err != nil {
		return "", err
	}
	_, err = s.st.GetOwner(ctx)
	switch {
	case err == nil:
		return "", s.st.DeleteSetupCodes(ctx)
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("bootstrap auth: %w", err)
	}
	now := s.now().UTC()
	if initialPassword != "" {
		if err := CheckPasswordPolicy(initialPassword); err != nil {
			return "", fmt.Errorf("bootstrap auth: initial password: %w", err)
		}
		h, err := s.hash(ctx, initialPassword)
		if err != nil {
			return "", fmt.Errorf("bootstrap auth: %w", err)
		}
		if err := s.st.SetOwnerPassword(ctx, h, now); err != nil {
			return "", fmt.Errorf("bootstrap auth: %w", err)
		}
		return "", s.st.DeleteSetupCodes(ctx)
	}
	code, err := randomSetupCode()
	if err != nil {
		return "", fmt.Errorf("bootstrap auth: %w", err)
	}
	if err := s.st.ReplaceSetupCode(ctx, sha256Hex(normalizeSetupCode(code)), now, now.Add(s.opts.SetupCodeTTL)); err != nil {
		return "", fmt.Errorf("bootstrap auth: %w", err)
	}
	return code, nil
}

// SetupRequired reports whether no owner exists yet.
func (s *Service) SetupRequired(ctx context.Context) (bool, error) {
	_, err := s.st.GetOwner(ctx)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, store.ErrNotFound):
		return true, nil
	}
	return false, fmt.Errorf("setup required: %w", err)
}

// Setup claims a fresh instance with the setup code from the log and the owner's first password, and
// logs the browser in.
func (s *Service) Setup(ctx context.Context, cl Client, code, password string) (*NewSession, error) {
	now := s.now().UTC()
	if le := s.lim.check(now, cl); le != nil {
		s.record(ctx, cl, now, le.Reason)
		return nil, le
	}
	required, err := s.SetupRequired(ctx)
	if err != nil {
		s.record(ctx, cl, now, OutcomeError)
		return nil, err
	}
	if !required {
		s.record(ctx, cl, now, OutcomeSetupDone)
		return nil, ErrSetupDone
	}
	sc, err := s.st.GetSetupCode(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.record(ctx, cl, now, OutcomeError)
		return nil, err
	}
	given := sha256Hex(normalizeSetupCode(code))
	if err != nil || code == "" || !now.Before(sc.ExpiresAt) || !equalStrings(given, sc.CodeHash) {
		s.fail(ctx, cl, now, OutcomeBadSetupCode)
		return nil, ErrBadSetupCode
	}
	if err := CheckPasswordPolicy(password); err != nil {
		s.record(ctx, cl, now, OutcomeWeakPassword)
		return nil, err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		s.record(ctx, cl, now, OutcomeError)
		return nil, err
	}
	if err := s.st.ClaimOwner(ctx, sc.ID, h, now); err != nil {
		switch {
		case errors.Is(err, store.ErrConflict):
			s.record(ctx, cl, now, OutcomeSetupDone)
			return nil, ErrSetupDone
		case errors.Is(err, store.ErrNotFound):
			s.fail(ctx, cl, now, OutcomeBadSetupCode)
			return nil, ErrBadSetupCode
		}
		s.record(ctx, cl, now, OutcomeError)
		return nil, err
	}
	s.log.Info("owner password set through setup", "ip", cl.IP)
	return s.admit(ctx, cl, now)
}

// Login checks the owner password and opens a session.
func (s *Service) Login(ctx context.Context, cl Client, password string) (*NewSession, error) {
	now := s.now().UTC()
	if le := s.lim.check(now, cl); le != nil {
		s.record(ctx, cl, now, le.Reason)
		return nil, le
	}
	owner, err := s.st.GetOwner(ctx)
	if errors.Is(err, store.ErrNotFound) {
		s.record(ctx, cl, now, OutcomeSetupRequired)
		return nil, ErrSetupRequired
	}
	if err != nil {
		s.record(ctx, cl, now, OutcomeError)
		return nil, fmt.Errorf("login: %w", err)
	}
	ok, err := s.verify(ctx, password, owner.PasswordHash)
	if err != nil {
		s.record(ctx, cl, now, OutcomeError)
		return nil, fmt.Errorf("login: %w", err)
	}
	if !ok {
		s.fail(ctx, cl, now, OutcomeFailure)
		return nil, ErrBadCredentials
	}
	return s.admit(ctx, cl, now)
}

// ConfirmPassword checks the owner password again before a dangerous action (exporting the identity's
// private keys). It counts against the same per-client limits and lockout as a login, and every attempt
// is recorded.
func (s *Service) ConfirmPassword(ctx context.Context, cl Client, password string) error {
	now := s.now().UTC()
	if le := s.lim.check(now, cl); le != nil {
		s.record(ctx, cl, now, le.Reason)
		return le
	}
	owner, err := s.st.GetOwner(ctx)
	if err != nil {
		s.record(ctx, cl, now, OutcomeError)
		return fmt.Errorf("confirm password: %w", err)
	}
	ok, err := s.verify(ctx, password, owner.PasswordHash)
	if err != nil {
		s.record(ctx, cl, now, OutcomeError)
		return fmt.Errorf("confirm password: %w", err)
	}
	if !ok {
		s.fail(ctx, cl, now, OutcomeFailure)
		return ErrBadCredentials
	}
	s.record(ctx, cl, now, OutcomeSuccess)
	return nil
}

// ChangePassword replaces the owner password after checking the current one, and ends every other
// session. p is the caller's principal; its session stays open.
func (s *Service) ChangePassword(ctx context.Context, p Principal, cl Client, current, next string) error {
	now := s.now().UTC()
	if le := s.lim.check(now, cl); le != nil {
		s.record(ctx, cl, now, le.Reason)
		return le
	}
	owner, err := s.st.GetOwner(ctx)
	if err != nil {
		s.record(ctx, cl, now, OutcomeError)
		return fmt.Errorf("change password: %w", err)
	}
	ok, err := s.verify(ctx, current, owner.PasswordHash)
	if err != nil {
		s.record(ctx, cl, now, OutcomeError)
		return fmt.Errorf("change password: %w", err)
	}
	if !ok {
		s.fail(ctx, cl, now, OutcomeFailure)
		return ErrBadCredentials
	}
	if err := CheckPasswordPolicy(next); err != nil {
		s.record(ctx, cl, now, OutcomeWeakPassword)
		return err
	}
	h, err := s.hash(ctx, next)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if err := s.st.SetOwnerPassword(ctx, h, now); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	n, err := s.st.DeleteSessionsExcept(ctx, p.SessionID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	s.lim.success(cl)
	s.record(ctx, cl, now, OutcomeSuccess)
	s.log.Info("owner password changed", "ip", cl.IP, "sessions_ended", n)
	return nil
}

// ResetPassword sets a new owner password directly (reticle admin reset-password), ends every session,
// spends any setup code and rotates the server secret, which invalidates every trusted-client marker.
func (s *Service) ResetPassword(ctx context.Context, password string) error {
	if err := CheckPasswordPolicy(password); err != nil {
		return err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if err := s.st.SetOwnerPassword(ctx, h, s.now().UTC()); err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if _, err := s.st.DeleteSessionsExcept(ctx, 0); err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if err := s.st.DeleteSetupCodes(ctx); err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	secret, err := randomToken(32)
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if err := s.st.SetSetting(ctx, settingServerSecret, secret); err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	s.mu.Lock()
	s.csrfKey, s.trustKey = nil, nil
	s.mu.Unlock()
	return nil
}

// LimiterStats reports the size of the in-memory limiter.
func (s *Service) LimiterStats() LimiterStats { return s.lim.stats() }

// admit ends a successful setup or login: forget failures, open a session, issue a trust marker.
func (s *Service) admit(ctx context.Context, cl Client, now time.Time) (*NewSession, error) {
	s.lim.success(cl)
	ns, err := s.createSession(ctx, cl, now)
	if err != nil {
		s.record(ctx, cl, now, OutcomeError)
		return nil, err
	}
	s.record(ctx, cl, now, OutcomeSuccess)
	return ns, nil
}

// fail counts a failed attempt against the client and records it.
func (s *Service) fail(ctx context.Context, cl Client, now time.Time, outcome string) {
	locked, global := s.lim.failure(now, cl)
	if locked {
		s.log.Warn("client locked out after repeated auth failures", "ip", cl.IP, "trusted", cl.TrustID != "")
	}
	if global {
		s.log.Warn("login closed to untrusted clients after failures from many addresses")
	}
	s.record(ctx, cl, now, outcome)
}

// hash runs argon2id under the concurrency bound.
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return HashPassword(pw, s.opts.Hash)
}

// verify checks a password under the concurrency bound; over-long input fails without hashing.
func (s *Service) verify(ctx context.Context, pw, encoded string) (bool, error) {
	if len(pw) > MaxPasswordBytes || pw == "" {
		return false, nil
	}
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	return VerifyPassword(pw, encoded)
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for password hashing: %w", ctx.Err())
	}
}

func (s *Service) release() { <-s.sem }

// keys loads (creating on first use) the server secret and derives the CSRF and trust keys.
func (s *Service) keys(ctx context.Context) (csrf, trust []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.csrfKey != nil {
		return s.csrfKey, s.trustKey, nil
	}
	fresh, err := randomToken(32)
	if err != nil {
		return nil, nil, err
	}
	secret, err := s.st.SetSettingIfAbsent(ctx, settingServerSecret, fresh)
	if err != nil {
		return nil, nil, fmt.Errorf("load server secret: %w", err)
	}
	if len(secret) < 32 {
		return nil, nil, errors.New("load server secret: too short")
	}
	s.csrfKey = mac([]byte(secret), "reticle csrf key", "")
	s.trustKey = mac([]byte(secret), "reticle trust key", "")
	return s.csrfKey, s.trustKey, nil
}

// record appends to the attempt log (queued while the writer runs); a failure to write is logged, never
// returned.
func (s *Service) record(ctx context.Context, cl Client, now time.Time, outcome string) {
	a := store.LoginAttempt{At: now, IP: clip(cl.IP, 64), UserAgent: clip(cl.UserAgent, 256),
		Path: clip(cl.Path, 128), Outcome: outcome}
	s.rec.add(ctx, a)
	if outcome != OutcomeSuccess {
		s.log.Debug("auth attempt refused", "ip", a.IP, "path", a.Path, "outcome", outcome)
	}
}

// clip shortens s to at most n bytes of valid UTF-8.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
