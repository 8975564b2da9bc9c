package nomadnet

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// fakeSource serves pages below /page/app: the root links to a sub page
// (found by the server when it serves the root), echoes field_name and
// the requester's identity, and serves a large page and an uncached one.
type fakeSource struct {
	mu    sync.Mutex
	calls map[string]int
	big   []byte
}

func (f *fakeSource) Owns(p string) bool {
	return p == "/page/app" || strings.HasPrefix(p, "/page/app/")
}
func (f *fakeSource) Roots() []string {
	return []string{"/page/app", "/page/app/big.mu", "/page/app/nocache.mu"}
}

func (f *fakeSource) ServePage(_ context.Context, req PageRequest) ([]byte, error) {
	f.mu.Lock()
	f.calls[req.Path]++
	n := f.calls[req.Path]
	f.mu.Unlock()
	switch req.Path {
	case "/page/app":
		return []byte(">App\nHello " + req.Fields["field_name"] + " var=" + req.Fields["var_x"] +
			" id=" + req.RemoteIdentity + "\n`[Sub`:/page/app/sub.mu]\n"), nil
	case "/page/app/sub.mu":
		return []byte(">Sub page\n"), nil
	case "/page/app/big.mu":
		return f.big, nil
	case "/page/app/nocache.mu":
		return []byte("#!c=0\ncall " + string(rune('0'+n)) + "\n"), nil
	}
	return nil, ErrNotFound
}

type pair struct {
	srvNode, cliNode *rns.Node
	srvLinks         *link.Manager
	cliLinks         *link.Manager
	server           *Server
	source           *fakeSource
	cliID            *identity.Identity
	lxmf             wire.Hash
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

func startNode(tb testing.TB, uri string) (*rns.Node, *link.Manager) {
	tb.Helper()
	n, err := rns.New(rns.Options{DataDir: tb.TempDir(), Interfaces: []string{uri},
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	lm, err := n.NewLinks(link.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if err := n.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := lm.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = lm.Close()
		_ = n.Close()
	})
	return n, lm
}

func newPair(t *testing.T) *pair {
	t.Helper()
	if testing.Short() {
		t.Skip("loopback tcp")
	}
	addr := freeAddr(t)
	p := &pair{source: &fakeSource{calls: map[string]int{}, big: append([]byte(">Big\n"), bytes.Repeat([]byte("0123456789abcdef"), 20<<10)...)}}
	p.srvNode, p.srvLinks = startNode(t, "tcp-server://"+addr)
	p.cliNode, p.cliLinks = startNode(t, "tcp-client://"+addr)
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	p.lxmf[0] = 0xab
	p.server, err = NewServer(ServerOptions{Transport: p.srvNode.Transport(), Links: p.srvLinks, Identity: id,
		Name: func() string { return "Test `node`" }, LXMFAddress: p.lxmf, Source: p.source})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.server.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.server.Close() })
	if p.cliID, err = identity.Generate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pair) client(t *testing.T, o ClientOptions) *Client {
	t.Helper()
	o.Transport, o.Links = p.cliNode.Transport(), p.cliLinks
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestFetchPagesOverLoopback: with no path known, the client requests one,
// links, and fetches the built-in index, a source page with form data and
// its identity, a page only linked from it, and a large page as a resource
// with progress; all over one link, which the janitor closes once idle.
func TestFetchPagesOverLoopback(t *testing.T) {
	p := newPair(t)
	var mu sync.Mutex
	var progress []int64
	now := time.Now()
	var nowMu sync.Mutex
	clock := func() time.Time { nowMu.Lock(); defer nowMu.Unlock(); return now }
	c := p.client(t, ClientOptions{Identity: p.cliID, Now: clock, Progress: func(node wire.Hash, path string, done, total int64) {
		if node != p.server.Hash() || path != "/page/app/big.mu" {
			t.Errorf("progress for %s %s", node, path)
		}
		mu.Lock()
		progress = append(progress, done)
		mu.Unlock()
	}})
	ctx := ctxT(t)
	node := p.server.Hash()

	idx, err := c.FetchPage(ctx, node, IndexPath, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	s := string(idx.Content)
	if !strings.Contains(s, ">Test node\n") || !strings.Contains(s, p.lxmf.String()) || idx.Cached {
		t.Fatalf("index %q cached=%v", s, idx.Cached)
	}

	pg, err := c.FetchPage(ctx, node, "/page/app", map[string]string{"field_name": "Ada", "var_x": "7"}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "Hello Ada var=7 id=" + p.cliID.Hash().String()
	if !strings.Contains(string(pg.Content), want) {
		t.Fatalf("page %q, want %q", pg.Content, want)
	}
	sub, err := c.FetchPage(ctx, node, "/page/app/sub.mu", nil, false)
	if err != nil || string(sub.Content) != ">Sub page\n" {
		t.Fatalf("sub page %q %v", sub.Content, err)
	}

	big, err := c.FetchPage(ctx, node, "/page/app/big.mu", nil, false)
	if err != nil || !bytes.Equal(big.Content, p.source.big) {
		t.Fatalf("big page: %d bytes, %v", len(big.Content), err)
	}
	mu.Lock()
	np := len(progress)
	last := int64(0)
	if np > 0 {
		last = progress[np-1]
	}
	mu.Unlock()
	if np < 2 || last < int64(len(p.source.big)) {
		t.Fatalf("progress %d reports, last %d of %d", np, last, len(p.source.big))
	}

	if n := c.OpenLinks(); n != 1 {
		t.Fatalf("%d links open, want 1 reused", n)
	}
	nowMu.Lock()
	now = now.Add(DefaultIdleTimeout)
	nowMu.Unlock()
	c.CloseIdle()
	if n := c.OpenLinks(); n != 0 {
		t.Fatalf("%d links after idle close", n)
	}
	// A new link is made for the next request.
	if _, err := c.FetchPage(ctx, node, "/page/app/sub.mu", nil, true); err != nil {
		t.Fatal(err)
	}
}

// TestPageCache: a second fetch comes from the cache, refresh and form
// data bypass it, and "#!c=0" pages are never cached.
func TestPageCache(t *testing.T) {
	p := newPair(t)
	c := p.client(t, ClientOptions{})
	ctx := ctxT(t)
	node := p.server.Hash()
	for i, tc := range []struct {
		path    string
		fields  map[string]string
		refresh bool
		cached  bool
	}{
		{"/page/app", nil, false, false}, // registers the sub page it links to
		{"/page/app/sub.mu", nil, false, false},
		{"/page/app/sub.mu", nil, false, true},
		{"/page/app/sub.mu", nil, true, false},
		{"/page/app", map[string]string{"field_name": "a"}, false, false},
		{"/page/app", map[string]string{"field_name": "b"}, false, false},
		{"/page/app", map[string]string{"field_name": "a"}, false, true},
		{"/page/app/nocache.mu", nil, false, false},
		{"/page/app/nocache.mu", nil, false, false},
	} {
		pg, err := c.FetchPage(ctx, node, tc.path, tc.fields, tc.refresh)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if pg.Cached != tc.cached {
			t.Fatalf("%d %s: cached %v, want %v", i, tc.path, pg.Cached, tc.cached)
		}
	}
	if n := p.source.calls["/page/app/nocache.mu"]; n != 2 {
		t.Fatalf("uncached page produced %d times", n)
	}
}

// TestFetchErrors: a path the node does not serve gets no answer (not
// found), a page over the cap is refused, an unknown node has no path,
// bad paths and fields never reach the network.
func TestFetchErrors(t *testing.T) {
	p := newPair(t)
	ctx := ctxT(t)
	node := p.server.Hash()
	c := p.client(t, ClientOptions{RequestTimeout: 6 * time.Second, MaxPageSize: 64 << 10, PathTimeout: 2 * time.Second})
	if _, err := c.FetchPage(ctx, node, "/page/nope.mu", nil, false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing page: %v", err)
	}
	small := p.client(t, ClientOptions{MaxPageSize: 64 << 10})
	if _, err := small.FetchPage(ctx, node, "/page/app/big.mu", nil, false); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big page: %v", err)
	}
	var unknown wire.Hash
	unknown[0] = 1
	if _, err := c.FetchPage(ctx, unknown, IndexPath, nil, false); !errors.Is(err, ErrNoPath) {
		t.Fatalf("unknown node: %v", err)
	}
	for _, bad := range []string{"/page/../x", "/etc/passwd", "/page/", "/file/a\x00b"} {
		if _, err := c.FetchPage(ctx, node, bad, nil, false); !errors.Is(err, ErrBadPath) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	if _, err := c.FetchPage(ctx, node, IndexPath, map[string]string{"name": "x"}, false); !errors.Is(err, ErrBadField) {
		t.Fatalf("unprefixed field: %v", err)
	}
	if _, err := c.FetchFile(ctx, node, IndexPath, nil); !errors.Is(err, ErrBadPath) {
		t.Fatalf("page as file: %v", err)
	}
	// The link survived the unanswered request and was reused.
	if _, err := c.FetchPage(ctx, node, IndexPath, nil, false); err != nil {
		t.Fatal(err)
	}
	if n := c.OpenLinks(); n != 1 {
		t.Fatalf("%d links", n)
	}
}

// TestFetchFileList: a node answering a file request with [name, data]
// (the list form Browser.file_received takes) gives the file and a safe name.
func TestFetchFileList(t *testing.T) {
	p := newPair(t)
	data := bytes.Repeat([]byte{0, 1, 2, 250}, 30000)
	err := p.srvLinks.RegisterHandler(p.server.Hash(), link.Handler{Path: "/file/x.bin", Handle: func(*link.Request) (msgpack.Value, bool) {
		return msgpack.Array(msgpack.Str("../evil\x01.bin"), msgpack.Bin(data)), true
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := p.client(t, ClientOptions{})
	f, err := c.FetchFile(ctxT(t), p.server.Hash(), "/file/x.bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "evil.bin" || !bytes.Equal(f.Data, data) {
		t.Fatalf("file %q %d bytes", f.Name, len(f.Data))
	}
}

// TestDirectoryHearsAnnounce: the node's announce carries its name and the
// client's directory lists it.
func TestDirectoryHearsAnnounce(t *testing.T) {
	p := newPair(t)
	got := make(chan NodeInfo, 4)
	d, err := NewDirectory(DirectoryOptions{Transport: p.cliNode.Transport(), Path: t.TempDir() + "/nodes.json",
		OnNode: func(n NodeInfo) { got <- n }})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	ctx := ctxT(t)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		_ = p.server.Announce() // fails until the client's interface is up
		select {
		case n := <-got:
			if n.Address != p.server.Hash() || n.Name != "Test `node`" {
				t.Fatalf("heard %+v", n)
			}
			items, next := d.List("test", 10, nil)
			if len(items) != 1 || next != nil {
				t.Fatalf("list %+v %v", items, next)
			}
			return
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("no announce heard")
		}
	}
}
