package auth

import (
	"container/list"
	"sync"
	"time"
)

// Limits configure the abuse controls on login, setup and password change.
type Limits struct {
	RateAttempts  int           // attempts allowed per client and path in RateWindow (20)
	RateWindow    time.Duration // (60 s)
	FailThreshold int           // failures within FailWindow that lock a client out (5)
	FailWindow    time.Duration // (15 min)
	LockoutBase   time.Duration // first lockout; each further one doubles (5 min)
	LockoutMax    time.Duration // cap on a lockout (2 h)
	LevelReset    time.Duration // a client without failures this long starts again at LockoutBase (24 h)
	// GlobalFailThreshold failures from untrusted clients, all addresses together, within FailWindow close
	// login for every untrusted client for GlobalLockout (doubling like LockoutBase). Trusted browsers
	// still get in. (50, 5 min; 0 disables the brake)
	GlobalFailThreshold int
	GlobalLockout       time.Duration
	// MaxKeys caps the clients tracked in memory; the least recently seen are forgotten first (10000).
	MaxKeys int
}

// DefaultLimits are at least as strict as MeshChatX: 20 attempts per 60 s per client IP and path, lockout
// after 5 failures within 15 min.
func DefaultLimits() Limits {
	return Limits{
		RateAttempts: 20, RateWindow: time.Minute,
		FailThreshold: 5, FailWindow: 15 * time.Minute,
		LockoutBase: 5 * time.Minute, LockoutMax: 2 * time.Hour, LevelReset: 24 * time.Hour,
		GlobalFailThreshold: 50, GlobalLockout: 5 * time.Minute,
		MaxKeys: 10000,
	}
}

// Client identifies who makes an attempt, as pkg/web saw it.
type Client struct {
	IP        string // client address after trusted-proxy processing
	UserAgent string
	Path      string // the matched route path, e.g. /api/v1/auth/login
	// TrustID is the id from a valid trusted-client marker, empty when the browser has none.
	TrustID string
}

// Limit reasons, also recorded as attempt outcomes.
const (
	ReasonRateLimited = "rate_limited"
	ReasonLocked      = "locked"
	ReasonGlobalLock  = "global_lock"
)

// counter is the state of one tracked key. Times are Unix nanoseconds to keep entries small.
type counter struct {
	key         string
	rateStart   int64
	rateCount   int32
	failCount   int32
	level       int32
	failStart   int64
	lastFail    int64
	lockedUntil int64
}

// limiter holds per-client counters in a bounded LRU plus one global failure counter.
type limiter struct {
	mu        sync.Mutex
	l         Limits
	entries   map[string]*list.Element
	lru       *list.List // front is the most recently used
	global    counter
	evictions uint64
}

func newLimiter(l Limits) *limiter {
	return &limiter{l: l, entries: make(map[string]*list.Element), lru: list.New()}
}

func (c Client) rateKey() string {
	if c.TrustID != "" {
		return "t|" + c.TrustID + "|" + c.Path
	}
	return "r|" + c.IP + "|" + c.Path
}

func (c Client) failKey() string {
	if c.TrustID != "" {
		return "tf|" + c.TrustID
	}
	return "f|" + c.IP
}

// get returns the counter for key, creating it (and evicting the oldest) when create is set.
func (lm *limiter) get(key string, create bool) *counter {
	if el, ok := lm.entries[key]; ok {
		lm.lru.MoveToFront(el)
		return el.Value.(*counter)
	}
	if !create {
		return nil
	}
	for lm.l.MaxKeys > 0 && lm.lru.Len() >= lm.l.MaxKeys {
		old := lm.lru.Back()
		lm.lru.Remove(old)
		delete(lm.entries, old.Value.(*counter).key)
		lm.evictions++
	}
	c := &counter{key: key}
	lm.entries[key] = lm.lru.PushFront(c)
	return c
}

// check counts an attempt and refuses it when the client is rate limited or locked out.
func (lm *limiter) check(now time.Time, cl Client) *LimitError {
	t := now.UnixNano()
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if f := lm.get(cl.failKey(), false); f != nil && f.lockedUntil > t {
		return &LimitError{RetryAfter: time.Duration(f.lockedUntil - t), Reason: ReasonLocked}
	}
	if cl.TrustID == "" && lm.global.lockedUntil > t {
		return &LimitError{RetryAfter: time.Duration(lm.global.lockedUntil - t), Reason: ReasonGlobalLock}
	}
	r := lm.get(cl.rateKey(), true)
	window := int64(lm.l.RateWindow)
	if t-r.rateStart >= window || t < r.rateStart {
		r.rateStart, r.rateCount = t, 0
	}
	if int(r.rateCount) >= lm.l.RateAttempts {
		return &LimitError{RetryAfter: time.Duration(r.rateStart + window - t), Reason: ReasonRateLimited}
	}
	r.rateCount++
	return nil
}

// failure records a failed attempt; enough of them lock the client (and, for untrusted clients, count
// towards the global brake). It reports whether this failure started a client or a global lockout.
func (lm *limiter) failure(now time.Time, cl Client) (locked, global bool) {
	t := now.UnixNano()
	lm.mu.Lock()
	defer lm.mu.Unlock()
	locked = lm.fail(lm.get(cl.failKey(), true), t, lm.l.FailThreshold, lm.l.LockoutBase)
	if cl.TrustID == "" {
		global = lm.fail(&lm.global, t, lm.l.GlobalFailThreshold, lm.l.GlobalLockout)
	}
	return locked, global
}

func (lm *limiter) fail(c *counter, t int64, threshold int, base time.Duration) bool {
	if c.level > 0 && t-c.lastFail >= int64(lm.l.LevelReset) {
		c.level = 0
	}
	if t-c.failStart >= int64(lm.l.FailWindow) || t < c.failStart {
		c.failStart, c.failCount = t, 0
	}
	c.failCount++
	c.lastFail = t
	if threshold > 0 && int(c.failCount) >= threshold {
		d := base
		for i := int32(0); i < c.level && d < lm.l.LockoutMax; i++ {
			d *= 2
		}
		d = min(d, lm.l.LockoutMax)
		c.lockedUntil = t + int64(d)
		c.level++
		c.failCount, c.failStart = 0, t
		return true
	}
	return false
}

// success forgets the client's failures.
func (lm *limiter) success(cl Client) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if el, ok := lm.entries[cl.failKey()]; ok {
		lm.lru.Remove(el)
		delete(lm.entries, cl.failKey())
	}
}

// LimiterStats describe the in-memory limiter, for tests and diagnostics.
type LimiterStats struct {
	Keys      int
	Evictions uint64
}

func (lm *limiter) stats() LimiterStats {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	return LimiterStats{Keys: lm.lru.Len(), Evictions: lm.evictions}
}
