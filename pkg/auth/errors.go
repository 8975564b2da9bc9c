package auth

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors returned by the service. pkg/web maps them to HTTP status codes.
var (
	// ErrBadCredentials means the password (or current password) was wrong.
	ErrBadCredentials = errors.New("wrong password")
	// ErrBadSetupCode means the setup code was missing, wrong, spent or expired.
	ErrBadSetupCode = errors.New("wrong or expired setup code")
	// ErrSetupRequired means no owner exists yet, so nobody can log in.
	ErrSetupRequired = errors.New("setup required")
	// ErrSetupDone means an owner already exists, so setup is closed.
	ErrSetupDone = errors.New("setup already done")
	// ErrWeakPassword means a new password is too short or too long.
	ErrWeakPassword = errors.New("password must be 12 to 1024 characters")
	// ErrUnauthenticated means a session or token is unknown, revoked or expired.
	ErrUnauthenticated = errors.New("not authenticated")
	// ErrLimited is wrapped by *LimitError: too many attempts, try again later.
	ErrLimited = errors.New("too many attempts")
	// ErrNotFound means the session or token to revoke does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means a request field is malformed (bad scope, empty name).
	ErrInvalid = errors.New("invalid request")
	// ErrTooMany means a cap on stored items (API tokens) is reached.
	ErrTooMany = errors.New("limit reached")
)

// LimitError says an attempt was refused by the rate limit or a lockout, and when to come back.
type LimitError struct {
	RetryAfter time.Duration
	Reason     string // rate_limited, locked or global_lock
}

// Error describes the limit without revealing which one.
func (e *LimitError) Error() string {
	return fmt.Sprintf("too many attempts, retry in %s", e.RetryAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrLimited) true.
func (e *LimitError) Unwrap() error { return ErrLimited }

// RetryAfterSeconds is the Retry-After header value: whole seconds, at least 1.
func (e *LimitError) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
