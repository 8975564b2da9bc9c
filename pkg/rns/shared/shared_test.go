package shared

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // testing the legacy handshake
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

type nopHandler struct{}

func (nopHandler) Attach(iface.Interface)          {}
func (nopHandler) Detach(iface.Interface)          {}
func (nopHandler) Inbound(iface.Interface, []byte) {}

func startServer(t *testing.T, network, addr string, key []byte, transportMode bool) (*Server, []iface.Interface) {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transport.New(transport.Options{Identity: id, Transport: transportMode})
	if err != nil {
		t.Fatal(err)
	}
	u, err := iface.NewUDP("lan", "127.0.0.1:0", "127.0.0.1:9", iface.Options{Handler: nopHandler{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	ifs := []iface.Interface{u}
	s, err := New(Options{Network: network, Address: addr, Key: key, Transport: tr,
		Interfaces: func() []iface.Interface { return ifs }, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, ifs
}

// call is the client side as the reference's get_rpc_client and one call.
func call(network, addr string, key []byte, req msgpack.Value) (msgpack.Value, error) {
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return msgpack.Value{}, err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := answerChallenge(c, key); err != nil {
		return msgpack.Value{}, err
	}
	if err := deliverChallenge(c, key); err != nil {
		return msgpack.Value{}, err
	}
	if err := writeMsg(c, req.Encode()); err != nil {
		return msgpack.Value{}, err
	}
	b, err := readMsg(c, 1<<20)
	if err != nil {
		return msgpack.Value{}, err
	}
	return msgpack.DecodeValue(b, msgpack.Limits{})
}

func get(path string) msgpack.Value { return msgpack.Map(kv("get", str(path))) }

func TestRPCInterfaceStats(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	addr := fmt.Sprintf("@rns/reticle-test-%d/rpc", time.Now().UnixNano())
	_, ifs := startServer(t, "unix", addr, key, true)
	v, err := call("unix", addr, key, get("interface_stats"))
	if err != nil {
		t.Fatal(err)
	}
	list, ok := v.Get(str("interfaces"))
	if !ok || list.Len() != 1 {
		t.Fatalf("interfaces: %v", list)
	}
	e := list.Index(0)
	name, _ := mustGet(t, e, "name").AsStr()
	typ, _ := mustGet(t, e, "type").AsStr()
	short, _ := mustGet(t, e, "short_name").AsStr()
	up, _ := mustGet(t, e, "status").AsBool()
	if name != "UDPInterface[lan]" || typ != "UDPInterface" || short != ifs[0].Name() || !up {
		t.Fatalf("entry name=%q type=%q short=%q up=%v", name, typ, short, up)
	}
	if _, ok := v.Get(str("transport_id")); !ok {
		t.Fatal("transport mode without transport_id")
	}
	for _, p := range []string{"path_table", "rate_table", "link_count", "first_hop_timeout", "medium_path_timeout"} {
		if _, err := call("unix", addr, key, get(p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func mustGet(t *testing.T, m msgpack.Value, k string) msgpack.Value {
	t.Helper()
	v, ok := m.Get(str(k))
	if !ok {
		t.Fatalf("missing %q", k)
	}
	return v
}

func TestRPCAuth(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	startServer(t, "tcp", addr, key, false)
	if _, err := call("tcp", addr, bytes.Repeat([]byte{2}, 32), get("interface_stats")); !errors.Is(err, ErrAuth) && err == nil {
		t.Fatal("wrong key accepted")
	}
	// A legacy (Python <= 3.11) client answers with a raw HMAC-MD5 over the
	// whole challenge, prefix included.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	msg, err := readMsg(c, 256)
	if err != nil || !bytes.HasPrefix(msg, []byte("#CHALLENGE#{sha256}")) {
		t.Fatalf("challenge %q %v", msg, err)
	}
	m := hmac.New(md5.New, key)
	m.Write(msg[len("#CHALLENGE#"):])
	if err := writeMsg(c, m.Sum(nil)); err != nil {
		t.Fatal(err)
	}
	if w, err := readMsg(c, 256); err != nil || string(w) != "#WELCOME#" {
		t.Fatalf("legacy answer: %q %v", w, err)
	}
	// Oversized and garbage requests never crash the server.
	for _, junk := range [][]byte{{0x7f, 0xff, 0xff, 0xff}, []byte("xxxx")} {
		c2, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c2.Write(junk)
		_ = c2.Close()
	}
	if _, err := call("tcp", addr, key, get("interface_stats")); err != nil {
		t.Fatalf("after junk: %v", err)
	}
}

func TestClientConfig(t *testing.T) {
	s, err := iface.Parse("shared-instance://box?type=tcp&port=4000&control_port=4001")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ClientConfig(s, []byte{0xab, 0xcd})
	for _, want := range []string{"shared_instance_type = tcp", "shared_instance_port = 4000", "instance_control_port = 4001", "rpc_key = abcd"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
}

func FuzzSplitDigest(f *testing.F) {
	f.Add([]byte("{sha256}0123456789012345678901234567890123456789"))
	f.Add(make([]byte, 20))
	f.Add([]byte("{md5"))
	f.Fuzz(func(t *testing.T, b []byte) {
		name, payload, ok := splitDigest(b)
		if ok && name != "" && digestFor(name) == nil {
			t.Fatalf("unknown digest %q accepted", name)
		}
		if ok && len(payload) > len(b) {
			t.Fatal("payload longer than message")
		}
	})
}

// FuzzDispatch feeds arbitrary requests to the call dispatcher: it must
// never panic, whatever the msgpack shape.
func FuzzDispatch(f *testing.F) {
	for _, v := range []msgpack.Value{
		get("interface_stats"), get("path_table"),
		msgpack.Map(kv("get", str("path_table")), kv("max_hops", msgpack.Int(2))),
		msgpack.Map(kv("get", str("next_hop")), kv("destination_hash", msgpack.Bin(make([]byte, 16)))),
		msgpack.Map(kv("get", str("first_hop_timeout")), kv("destination_hash", str("x"))),
		msgpack.Map(kv("drop", str("path")), kv("destination_hash", msgpack.Bin(make([]byte, 16)))),
		msgpack.Map(kv("destination_data", str("used")), kv("destination_hash", msgpack.Nil())),
		msgpack.Array(str("get")),
	} {
		f.Add(v.Encode())
	}
	id, err := identity.Generate()
	if err != nil {
		f.Fatal(err)
	}
	tr, err := transport.New(transport.Options{Identity: id, Transport: true})
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(Options{Network: "tcp", Address: "127.0.0.1:0", Key: []byte{1}, Transport: tr,
		Interfaces: func() []iface.Interface { return nil }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := msgpack.DecodeValue(b, msgpack.Limits{})
		if err != nil {
			return
		}
		if resp, ok := s.dispatch(v); ok {
			_ = resp.Encode()
		}
	})
}

// FuzzReadMsg: the length-prefixed reader never panics and never returns
// more than its limit.
func FuzzReadMsg(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 'a', 'b', 'c'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readMsg(bytes.NewReader(b), 64)
		if err == nil && len(got) > 64 {
			t.Fatalf("%d bytes past the limit", len(got))
		}
	})
}
