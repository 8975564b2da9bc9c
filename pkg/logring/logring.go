// Package logring keeps the most recent log records in memory so that the owner can read them in the
// UI. It is a slog.Handler that passes every record on to the process's own handler and keeps a copy,
// with the values of secret-looking attributes redacted, in a fixed-size ring.
package logring

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"
)

// DefaultSize is the number of records a ring keeps when New is given 0.
const DefaultSize = 1000

// maxValueLen caps one attribute value (and the message) as kept in the ring.
const maxValueLen = 512

// Redacted replaces the value of a secret attribute.
const Redacted = "[redacted]"

// Record is one kept log record.
type Record struct {
	Seq   uint64            `json:"seq"`
	Time  time.Time         `json:"time"`
	Level string            `json:"level"`
	Msg   string            `json:"msg"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Ring is the shared store of a Handler and the handlers derived from it with WithAttrs/WithGroup.
type Ring struct {
	mu   sync.Mutex
	buf  []Record
	next int // index the next record goes to
	full bool
	seq  uint64
}

// New returns a ring of size records (DefaultSize when size <= 0).
func New(size int) *Ring {
	if size <= 0 {
		size = DefaultSize
	}
	return &Ring{buf: make([]Record, size)}
}

func (r *Ring) add(rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	rec.Seq = r.seq
	r.buf[r.next] = rec
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// Recent returns up to limit records at or above min, newest first (limit <= 0: all kept).
func (r *Ring) Recent(min slog.Level, limit int) []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	out := make([]Record, 0, min2(n, limit))
	for i := 1; i <= n && (limit <= 0 || len(out) < limit); i++ {
		rec := r.buf[(r.next-i+len(r.buf))%len(r.buf)]
		var lv slog.Level
		_ = lv.UnmarshalText([]byte(rec.Level))
		if lv >= min {
			out = append(out, rec)
		}
	}
	return out
}

func min2(n, limit int) int {
	if limit > 0 && limit < n {
		return limit
	}
	return n
}

// Handler tees records into a Ring and on to next.
type Handler struct {
	ring   *Ring
	next   slog.Handler
	attrs  []slog.Attr // from WithAttrs, already prefixed with their groups
	prefix string      // group prefix for attributes added later
}

// NewHandler returns a handler that keeps records in ring and passes them to next. It is enabled
// exactly when next is, so the ring holds what the process log holds.
func NewHandler(ring *Ring, next slog.Handler) *Handler {
	return &Handler{ring: ring, next: next}
}

// Ring returns the ring the handler writes to.
func (h *Handler) Ring() *Ring { return h.ring }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	rec := Record{Time: r.Time.UTC(), Level: r.Level.String(), Msg: clip(redactValue(r.Message))}
	if len(h.attrs) > 0 || r.NumAttrs() > 0 {
		rec.Attrs = make(map[string]string, len(h.attrs)+r.NumAttrs())
		for _, a := range h.attrs {
			put(rec.Attrs, "", a)
		}
		r.Attrs(func(a slog.Attr) bool {
			put(rec.Attrs, h.prefix, a)
			return true
		})
	}
	h.ring.add(rec)
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), prefixed(h.prefix, as)...)
	c.next = h.next.WithAttrs(as)
	return &c
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	c.next = h.next.WithGroup(name)
	return &c
}

func prefixed(prefix string, as []slog.Attr) []slog.Attr {
	if prefix == "" {
		return as
	}
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = slog.Attr{Key: prefix + a.Key, Value: a.Value}
	}
	return out
}

// put flattens a into m, redacting secrets; groups become dotted keys.
func put(m map[string]string, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	key := prefix + a.Key
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p = key + "."
		}
		for _, g := range v.Group() {
			put(m, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	if Secret(a.Key) {
		m[key] = Redacted
		return
	}
	m[key] = clip(redactValue(fmt.Sprint(v.Any())))
}

// inlineSecret matches a secret carried inside a value, as in an interface URI's query.
var inlineSecret = regexp.MustCompile(`(?i)((?:passphrase|password|network_name|rpc_key|token|secret)=)[^&\s"]*`)

func redactValue(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	return inlineSecret.ReplaceAllString(s, "${1}"+Redacted)
}

// Secret reports whether an attribute key names something that must never be shown: passwords,
// passphrases, tokens, cookies, keys, DSNs and the like.
func Secret(key string) bool {
	k := strings.ToLower(key)
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		k = k[i+1:]
	}
	for _, s := range []string{"pass", "secret", "token", "cookie", "authorization", "dsn", "csrf", "session", "private", "ifac_key", "network_key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return k == "key" || strings.HasSuffix(k, "_key")
}

func clip(s string) string {
	if len(s) <= maxValueLen {
		return s
	}
	return s[:maxValueLen] + "…"
}
