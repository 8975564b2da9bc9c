package nomadnet

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Destination naming and well-known paths (nomadnet/Node.py).
const (
	// AppName and Aspect name a node destination: "nomadnetwork.node".
	AppName = "nomadnetwork"
	Aspect  = "node"
	// IndexPath is the page a browser asks for first (Browser.DEFAULT_PATH).
	IndexPath = "/page/index.mu"
	// PagePrefix and FilePrefix start page and file paths.
	PagePrefix = "/page/"
	FilePrefix = "/file/"
)

// Request data bounds: what a client sends and what a server accepts.
const (
	MaxPathLen    = 512
	MaxFields     = 128
	MaxFieldKey   = 128
	MaxFieldValue = 16 << 10
	// MaxRequestData caps the packed request data a server accepts.
	MaxRequestData = 256 << 10
	maxNameLen     = 255
)

// defaultCacheTime is how long a page is cached without a "#!c=" header
// (Browser.DEFAULT_CACHE_TIME).
const defaultCacheTime = 12 * time.Hour

// notAllowedTitle starts the reference's refusal page (Node.DEFAULT_NOTALLOWED).
const notAllowedTitle = ">Request Not Allowed"

// ValidatePath checks a request path: it must start with /page/ or /file/,
// name something after the prefix, hold no ".." element, no control or
// backslash characters and be at most MaxPathLen bytes.
func ValidatePath(p string) error {
	switch {
	case len(p) > MaxPathLen:
		return fmt.Errorf("path of %d bytes: %w", len(p), ErrBadPath)
	case !strings.HasPrefix(p, PagePrefix) && !strings.HasPrefix(p, FilePrefix):
		return fmt.Errorf("path %q: must start with %s or %s: %w", p, PagePrefix, FilePrefix, ErrBadPath)
	case len(p) == len(PagePrefix):
		return fmt.Errorf("path %q names nothing: %w", p, ErrBadPath)
	case !utf8.ValidString(p):
		return fmt.Errorf("path is not UTF-8: %w", ErrBadPath)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("path %q holds \"..\": %w", p, ErrBadPath)
		}
	}
	for _, r := range p {
		if unicode.IsControl(r) || r == '\\' {
			return fmt.Errorf("path %q holds a control character: %w", p, ErrBadPath)
		}
	}
	return nil
}

// IsFilePath reports whether p is a /file/ path.
func IsFilePath(p string) bool { return strings.HasPrefix(p, FilePrefix) }

func validFieldKey(k string) bool {
	if !strings.HasPrefix(k, "field_") && !strings.HasPrefix(k, "var_") {
		return false
	}
	return len(k) <= MaxFieldKey && utf8.ValidString(k) && !strings.ContainsFunc(k, unicode.IsControl)
}

// CheckFields validates form data as a client would send it: keys start
// with "field_" (input fields) or "var_" (link variables), as
// Browser.handle_link builds them, within the count and size bounds.
func CheckFields(fields map[string]string) error {
	if len(fields) > MaxFields {
		return fmt.Errorf("%d fields, at most %d: %w", len(fields), MaxFields, ErrBadField)
	}
	for k, v := range fields {
		if !validFieldKey(k) {
			return fmt.Errorf("field key %q: must start with field_ or var_: %w", k, ErrBadField)
		}
		if len(v) > MaxFieldValue || !utf8.ValidString(v) {
			return fmt.Errorf("field %q: value too long or not UTF-8: %w", k, ErrBadField)
		}
	}
	return nil
}

// EncodeFields packs form data as the request's data element: a map of str
// to str, or nil when there is none (the reference sends None).
func EncodeFields(fields map[string]string) (msgpack.Value, error) {
	if err := CheckFields(fields); err != nil {
		return msgpack.Nil(), err
	}
	if len(fields) == 0 {
		return msgpack.Nil(), nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kvs := make([]msgpack.KV, len(keys))
	for i, k := range keys {
		kvs[i] = msgpack.KV{Key: msgpack.Str(k), Value: msgpack.Str(fields[k])}
	}
	return msgpack.Map(kvs...), nil
}

// DecodeFields reads the form data of an inbound request the way
// Node.serve_page does: a map whose str keys start with "field_" or
// "var_"; other entries are ignored. Values must be str (or UTF-8 bin).
// Anything but a map or nil is an error.
func DecodeFields(v msgpack.Value) (map[string]string, error) {
	out := map[string]string{}
	if v.IsNil() {
		return out, nil
	}
	if v.Kind() != msgpack.KindMap {
		return nil, fmt.Errorf("request data is %s, not a map: %w", v.Kind(), ErrBadField)
	}
	for i := range v.Len() {
		e := v.Entry(i)
		k, ok := e.Key.AsStr()
		if !ok || !validFieldKey(k) {
			continue
		}
		val, ok := e.Value.AsBytes()
		if !ok || len(val) > MaxFieldValue || !utf8.Valid(val) {
			continue
		}
		if len(out) >= MaxFields {
			return nil, fmt.Errorf("more than %d fields: %w", MaxFields, ErrBadField)
		}
		out[k] = string(val)
	}
	return out, nil
}

// PageContent extracts page bytes from a response: the reference answers
// with bytes (bin); str is accepted too.
func PageContent(v msgpack.Value) ([]byte, error) {
	if v.IsNil() {
		return nil, ErrNotFound
	}
	b, ok := v.AsBytes()
	if !ok {
		return nil, fmt.Errorf("page response is %s: %w", v.Kind(), ErrBadResponse)
	}
	return b, nil
}

// FileContent extracts a file from a response to a /file/ request in the
// three shapes Browser.file_received takes: a file response (data with
// metadata {"name": ...}), a [name, data] list, or plain bytes (the
// refusal page, or content served as a page). reqPath names the file when
// the response does not.
func FileContent(v msgpack.Value, file bool, metadata []byte, reqPath string) (name string, data []byte, err error) {
	fallback := SafeName(path.Base(reqPath))
	switch {
	case file:
		data, _ = v.AsBin()
		name = fallback
		if len(metadata) > 0 {
			md, err := msgpack.DecodeValue(metadata, msgpack.Limits{MaxSize: 64 << 10, MaxDepth: 4, MaxItems: 64})
			if err != nil {
				return "", nil, fmt.Errorf("file metadata: %w: %w", ErrBadResponse, err)
			}
			if nv, ok := md.Get(msgpack.Str("name")); ok {
				if nb, ok := nv.AsBytes(); ok {
					if n := SafeName(string(nb)); n != "" {
						name = n
					}
				}
			}
		}
		return name, data, nil
	case v.Kind() == msgpack.KindArray && v.Len() == 2:
		nb, ok1 := v.Index(0).AsBytes()
		db, ok2 := v.Index(1).AsBytes()
		if !ok1 || !ok2 {
			return "", nil, fmt.Errorf("file response list: %w", ErrBadResponse)
		}
		if name = SafeName(string(nb)); name == "" {
			name = fallback
		}
		return name, db, nil
	case v.IsNil():
		return "", nil, ErrNotFound
	}
	b, ok := v.AsBytes()
	if !ok {
		return "", nil, fmt.Errorf("file response is %s: %w", v.Kind(), ErrBadResponse)
	}
	if bytes.HasPrefix(b, []byte(notAllowedTitle)) {
		return "", nil, ErrNotAllowed
	}
	return fallback, b, nil
}

// SafeName makes a file name from a peer safe to show and to offer as a
// download name: its last path element, without control characters,
// quotes or backslashes, at most 255 bytes; "" when nothing is left.
func SafeName(s string) string {
	s = strings.ToValidUTF8(s, "")
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == '\'' || r == '`' {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "." || s == ".." {
		return ""
	}
	for len(s) > maxNameLen {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// CacheTime reads a page's cache header ("#!c=<seconds>" on its first
// line, Browser.response_received); without one a page is cached for 12
// hours. 0 means do not cache.
func CacheTime(content []byte) time.Duration {
	if !bytes.HasPrefix(content, []byte("#!c=")) {
		return defaultCacheTime
	}
	line := content[4:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(line)), 10, 64)
	if err != nil || n < 0 {
		return defaultCacheTime
	}
	if n > int64(365*24*3600) {
		n = 365 * 24 * 3600
	}
	return time.Duration(n) * time.Second
}

// NodeName reads a node announce's app data: the UTF-8 node name
// (Node.announce), cleaned of control characters and capped at 128 runes.
func NodeName(appData []byte) string {
	s := strings.ToValidUTF8(string(appData), "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 128 {
		s = string(r[:128])
	}
	return s
}
