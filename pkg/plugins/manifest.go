package plugins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ABIVersion is the only guest ABI this host speaks.
const ABIVersion = 1

// MaxManifestBytes caps manifest.json.
const MaxManifestBytes = 16 << 10

// Capability names a group of host functions a plugin may be granted.
type Capability string

// The capabilities of ABI version 1. Deny by default: a plugin gets only those the owner granted for its
// version.
const (
	CapMessagesRead Capability = "messages.read" // inbound messages are delivered to on_message
	CapMessagesSend Capability = "messages.send" // reticle.send_message, rate-limited
	CapPagesServe   Capability = "pages.serve"   // serve_page answers page requests below the manifest's page_prefix
	CapLog          Capability = "log"           // reticle.log
	CapKV           Capability = "kv"            // reticle.kv_get/kv_set/kv_delete within a byte quota
	CapClock        Capability = "clock"         // the real WASI clocks (otherwise a fixed fake clock)
	CapRandom       Capability = "random"        // the real WASI random_get (otherwise a fixed stream)
)

// Capabilities lists every known capability in a stable order.
var Capabilities = []Capability{CapMessagesRead, CapMessagesSend, CapPagesServe, CapLog, CapKV, CapClock, CapRandom}

// Entry points a guest may export.
const (
	EntryOnMessage = "on_message"
	EntryServePage = "serve_page"
)

// entryCapability is the capability without which an entry point is never called.
var entryCapability = map[string]Capability{EntryOnMessage: CapMessagesRead, EntryServePage: CapPagesServe}

// ErrInvalidManifest marks a manifest that does not parse or validate.
var ErrInvalidManifest = errors.New("invalid manifest")

// Limits are what a plugin asks for; the host clamps each to its own maximum (zero = the host default).
type Limits struct {
	MemoryPages    uint32 `json:"memory_pages,omitempty"`
	TimeoutMS      uint32 `json:"timeout_ms,omitempty"`
	MaxOutputBytes uint32 `json:"max_output_bytes,omitempty"`
	Concurrency    uint32 `json:"concurrency,omitempty"`
	KVQuotaBytes   uint32 `json:"kv_quota_bytes,omitempty"`
	SendsPerMinute uint32 `json:"sends_per_minute,omitempty"`
}

// Manifest describes a plugin package.
type Manifest struct {
	ID             string       `json:"id"`
	Version        string       `json:"version"`
	ABI            int          `json:"abi"`
	Name           string       `json:"name,omitempty"`
	Description    string       `json:"description,omitempty"`
	EntryPoints    []string     `json:"entry_points"`
	Capabilities   []Capability `json:"capabilities"`
	PagePrefix     string       `json:"page_prefix,omitempty"`
	Limits         Limits       `json:"limits"`
	PublisherKeyID string       `json:"publisher_key_id"`
}

var (
	idPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	semverPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})(-[0-9A-Za-z.-]{1,32})?$`)
	keyIDPattern  = regexp.MustCompile(`^[0-9a-f]{16}$`)
	prefixPattern = regexp.MustCompile(`^/page/[A-Za-z0-9._/-]{1,120}$`)
)

// ParseManifest decodes and validates manifest.json strictly: unknown fields, trailing data, oversized
// input, unknown capabilities or entry points and malformed ids or versions are refused.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if len(b) > MaxManifestBytes {
		return m, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidManifest, len(b), MaxManifestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrInvalidManifest, err) //nolint:errorlint // the JSON error is text for the owner
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Manifest{}, fmt.Errorf("%w: trailing data after the object", ErrInvalidManifest)
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// Validate checks every field of m.
func (m Manifest) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidManifest, fmt.Sprintf(format, a...))
	}
	switch {
	case !idPattern.MatchString(m.ID):
		return bad("id must match %s", idPattern)
	case !semverPattern.MatchString(m.Version):
		return bad("version %q is not MAJOR.MINOR.PATCH[-pre]", m.Version)
	case m.ABI != ABIVersion:
		return bad("abi %d is not supported (this host speaks %d)", m.ABI, ABIVersion)
	case len(m.Name) > 100 || len(m.Description) > 1000:
		return bad("name or description too long")
	case !keyIDPattern.MatchString(m.PublisherKeyID):
		return bad("publisher_key_id must be 16 lowercase hex digits")
	case len(m.EntryPoints) == 0 || len(m.EntryPoints) > len(entryCapability):
		return bad("entry_points must name 1 to %d of on_message, serve_page", len(entryCapability))
	case len(m.Capabilities) > len(Capabilities):
		return bad("too many capabilities")
	}
	seen := map[string]bool{}
	for _, e := range m.EntryPoints {
		c, ok := entryCapability[e]
		if !ok || seen[e] {
			return bad("entry point %q is unknown or repeated", e)
		}
		seen[e] = true
		if !slices.Contains(m.Capabilities, c) {
			return bad("entry point %s needs capability %s in capabilities", e, c)
		}
	}
	for _, c := range m.Capabilities {
		if !slices.Contains(Capabilities, c) || seen[string(c)] {
			return bad("capability %q is unknown or repeated", c)
		}
		seen[string(c)] = true
	}
	if slices.Contains(m.EntryPoints, EntryServePage) != (m.PagePrefix != "") {
		return bad("page_prefix is required with serve_page and only with it")
	}
	if m.PagePrefix != "" && (!prefixPattern.MatchString(m.PagePrefix) || strings.Contains(m.PagePrefix, "..")) {
		return bad("page_prefix must look like /page/name")
	}
	return nil
}

// Requests reports whether m asks for capability c.
func (m Manifest) Requests(c Capability) bool { return slices.Contains(m.Capabilities, c) }

// CompareVersions orders two semantic versions (as validated by [ParseManifest]): -1, 0 or 1. A
// pre-release sorts before its release; pre-release tags compare as strings.
func CompareVersions(a, b string) int {
	ca, pa := splitVersion(a)
	cb, pb := splitVersion(b)
	for i := range 3 {
		if ca[i] != cb[i] {
			if ca[i] < cb[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case pa == pb:
		return 0
	case pa == "":
		return 1
	case pb == "":
		return -1
	}
	return strings.Compare(pa, pb)
}

func splitVersion(v string) ([3]uint64, string) {
	var out [3]uint64
	core, pre, _ := strings.Cut(v, "-")
	for i, p := range strings.SplitN(core, ".", 3) {
		n, _ := strconv.ParseUint(p, 10, 32)
		out[i] = n
	}
	return out, pre
}
