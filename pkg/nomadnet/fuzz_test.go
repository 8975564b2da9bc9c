package nomadnet

import (
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// FuzzDecodeFields feeds peer request data through the server's decoder.
func FuzzDecodeFields(f *testing.F) {
	v, _ := EncodeFields(map[string]string{"field_a": "1", "var_b": "2"})
	f.Add(v.Encode())
	f.Add([]byte{0xc0})
	f.Add([]byte{0x81, 0xa1, 'x', 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := msgpack.DecodeValue(b, msgpack.Limits{MaxSize: MaxRequestData})
		if err != nil {
			return
		}
		out, err := DecodeFields(v)
		if err != nil {
			return
		}
		if err := CheckFields(out); err != nil {
			t.Fatalf("decoded fields fail the client's check: %v", err)
		}
	})
}

// FuzzResponses feeds peer responses (value and metadata) through the page
// and file extractors.
func FuzzResponses(f *testing.F) {
	f.Add(msgpack.Bin([]byte(">Page")).Encode(), []byte(nil), false)
	f.Add(msgpack.Bin([]byte("data")).Encode(), msgpack.Map(msgpack.KV{Key: msgpack.Str("name"), Value: msgpack.Bin([]byte("a.txt"))}).Encode(), true)
	f.Add(msgpack.Array(msgpack.Str("n"), msgpack.Bin([]byte("d"))).Encode(), []byte(nil), false)
	f.Fuzz(func(t *testing.T, resp, meta []byte, file bool) {
		v, err := msgpack.DecodeValue(resp, msgpack.Limits{})
		if err != nil {
			return
		}
		_, _ = PageContent(v)
		name, _, err := FileContent(v, file, meta, "/file/x")
		if err == nil && (name != SafeName(name) || name == "") {
			t.Fatalf("unsafe name %q", name)
		}
		_ = CacheTime(resp)
		_ = NodeName(resp)
	})
}

// FuzzValidatePath checks that accepted paths never climb.
func FuzzValidatePath(f *testing.F) {
	for _, s := range []string{"/page/index.mu", "/file/a", "/page/../x", "/page/a/./b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if ValidatePath(p) != nil {
			return
		}
		for _, el := range splitPath(p) {
			if el == ".." {
				t.Fatalf("accepted %q", p)
			}
		}
	})
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return out
}
