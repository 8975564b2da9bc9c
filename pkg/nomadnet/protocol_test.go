package nomadnet

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

func TestValidatePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/page/index.mu", true},
		{"/page/a/b.mu", true},
		{"/file/report.pdf", true},
		{"/page/", false},
		{"/page", false},
		{"page/index.mu", false},
		{"/media/x.png", false},
		{"/page/../etc/passwd", false},
		{"/page/a/..", false},
		{"/page/a..b.mu", true},
		{"/page/a\x00", false},
		{"/page/a\\b", false},
		{"/page/" + strings.Repeat("a", MaxPathLen), false},
		{"/page/\xff", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			err := ValidatePath(tc.path)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadPath)) {
				t.Fatalf("ValidatePath(%q) = %v", tc.path, err)
			}
		})
	}
}

func TestFieldsRoundTrip(t *testing.T) {
	in := map[string]string{"field_name": "Ada", "var_x": "1", "field_empty": ""}
	v, err := EncodeFields(in)
	if err != nil {
		t.Fatal(err)
	}
	// The reference packs a dict of str: keys sorted here for a stable encoding.
	dec, err := msgpack.DecodeValue(v.Encode(), msgpack.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeFields(dec)
	if err != nil || len(out) != 3 || out["field_name"] != "Ada" || out["var_x"] != "1" {
		t.Fatalf("%v %v", out, err)
	}
	if v, err := EncodeFields(nil); err != nil || !v.IsNil() {
		t.Fatalf("no fields: %v %v", v, err)
	}
	for _, bad := range []map[string]string{{"name": "x"}, {"field_a\n": "x"}, {"field_a": strings.Repeat("x", MaxFieldValue+1)}} {
		if _, err := EncodeFields(bad); !errors.Is(err, ErrBadField) {
			t.Fatalf("%v: %v", bad, err)
		}
	}
	// Foreign entries are ignored the way Node.serve_page skips them.
	m := msgpack.Map(
		msgpack.KV{Key: msgpack.Str("field_ok"), Value: msgpack.Str("1")},
		msgpack.KV{Key: msgpack.Str("other"), Value: msgpack.Str("2")},
		msgpack.KV{Key: msgpack.Bin([]byte("field_bin")), Value: msgpack.Str("3")},
		msgpack.KV{Key: msgpack.Str("var_num"), Value: msgpack.Int(4)},
	)
	out, err = DecodeFields(m)
	if err != nil || len(out) != 1 || out["field_ok"] != "1" {
		t.Fatalf("%v %v", out, err)
	}
	if _, err := DecodeFields(msgpack.Array()); !errors.Is(err, ErrBadField) {
		t.Fatalf("array: %v", err)
	}
}

func TestFileContent(t *testing.T) {
	meta := msgpack.Map(msgpack.KV{Key: msgpack.Str("name"), Value: msgpack.Bin([]byte("a/../report.pdf"))}).Encode()
	for _, tc := range []struct {
		name     string
		v        msgpack.Value
		file     bool
		meta     []byte
		wantName string
		wantData string
		err      error
	}{
		{"file response", msgpack.Bin([]byte("PDF")), true, meta, "report.pdf", "PDF", nil},
		{"file without name", msgpack.Bin([]byte("X")), true, nil, "f.bin", "X", nil},
		{"bad metadata", msgpack.Bin([]byte("X")), true, []byte{0xc1}, "", "", ErrBadResponse},
		{"list", msgpack.Array(msgpack.Str("n.txt"), msgpack.Bin([]byte("hi"))), false, nil, "n.txt", "hi", nil},
		{"list bad", msgpack.Array(msgpack.Int(1), msgpack.Bin(nil)), false, nil, "", "", ErrBadResponse},
		{"refused", msgpack.Bin([]byte(notAllowedTitle + "\n\nYou are not authorised")), false, nil, "", "", ErrNotAllowed},
		{"bytes", msgpack.Bin([]byte("raw")), false, nil, "f.bin", "raw", nil},
		{"nil", msgpack.Nil(), false, nil, "", "", ErrNotFound},
		{"int", msgpack.Int(3), false, nil, "", "", ErrBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, d, err := FileContent(tc.v, tc.file, tc.meta, "/file/f.bin")
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || n != tc.wantName || string(d) != tc.wantData {
				t.Fatalf("%q %q %v", n, d, err)
			}
		})
	}
}

func TestSafeNameAndNodeName(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf": "report.pdf", "../../etc/passwd": "passwd", `a\b.txt`: "b.txt", "..": "",
		"x\"y'z`.txt": "xyz.txt", "tab\there": "tabhere", strings.Repeat("é", 200): strings.Repeat("é", 127),
	} {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := NodeName([]byte(" My\x00 node\xff ")); got != "My node" {
		t.Errorf("NodeName = %q", got)
	}
}

func TestCacheTime(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"#!c=0\n>x": 0, "#!c=60\n": time.Minute, ">no header": defaultCacheTime, "#!c=abc\n": defaultCacheTime, "#!c=5": 5 * time.Second,
	} {
		if got := CacheTime([]byte(in)); got != want {
			t.Errorf("CacheTime(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestPageCacheLRU(t *testing.T) {
	var node wire.Hash
	now := time.Unix(1000, 0)
	c := newPageCache(250) // each entry: content + a 40-byte key
	put := func(p string, n int, ttl time.Duration) {
		c.put(cacheKey(node, p, nil), Page{Path: p, Content: make([]byte, n), FetchedAt: now}, ttl)
	}
	put("/page/a", 50, time.Hour)
	put("/page/b", 50, time.Hour)
	if _, ok := c.get(cacheKey(node, "/page/a", nil), now); !ok { // a is now most recent
		t.Fatal("a missing")
	}
	put("/page/c", 50, time.Hour) // 270 bytes: the least recent, b, goes
	if _, ok := c.get(cacheKey(node, "/page/b", nil), now); ok {
		t.Fatal("b kept past the byte cap")
	}
	if _, ok := c.get(cacheKey(node, "/page/a", nil), now.Add(2*time.Hour)); ok {
		t.Fatal("expired page returned")
	}
	put("/page/huge", 300, time.Hour)
	put("/page/nocache", 1, 0)
	if c.bytes() > 250 {
		t.Fatalf("cache holds %d bytes", c.bytes())
	}
}

func TestDirectoryListAndPersist(t *testing.T) {
	path := t.TempDir() + "/nodes.json"
	d := &Directory{opts: DirectoryOptions{Path: path, MaxNodes: 3, Now: time.Now}, nodes: map[wire.Hash]NodeInfo{}}
	base := time.Unix(1_700_000_000, 0).UTC()
	for i := range 4 {
		var h wire.Hash
		h[0] = byte(i + 1)
		d.Add(NodeInfo{Address: h, Name: "node " + string(rune('a'+i)), Hops: i, LastHeard: base.Add(time.Duration(i) * time.Minute)})
	}
	items, next := d.List("", 2, nil)
	if len(items) != 2 || items[0].Name != "node d" || next == nil {
		t.Fatalf("first page %+v %v", items, next)
	}
	cur, err := ParseNodeCursor(next.String())
	if err != nil {
		t.Fatal(err)
	}
	items, next = d.List("", 2, &cur)
	if len(items) != 1 || items[0].Name != "node b" || next != nil { // node a was evicted (cap 3)
		t.Fatalf("second page %+v %v", items, next)
	}
	if items, _ := d.List("NODE C", 10, nil); len(items) != 1 {
		t.Fatalf("search %+v", items)
	}
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	d2 := &Directory{opts: DirectoryOptions{Path: path, MaxNodes: 10}, nodes: map[wire.Hash]NodeInfo{}}
	if err := d2.load(); err != nil {
		t.Fatal(err)
	}
	if items, _ := d2.List("", 10, nil); len(items) != 3 || items[0].Hops != 3 {
		t.Fatalf("reloaded %+v", items)
	}
	for _, bad := range []string{"", "x.y", "1." + strings.Repeat("z", 32)} {
		if _, err := ParseNodeCursor(bad); err == nil {
			t.Fatalf("cursor %q accepted", bad)
		}
	}
}
