package propnode

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// fakeClock fires After channels only when advanced.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.t
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.t.Add(d), ch: ch})
	return ch
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.t) {
			w.ch <- c.t
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
	c.mu.Unlock()
}

// fakeConn is a scripted link.
type fakeConn struct {
	est, done chan struct{}
	mu        sync.Mutex
	identify  int
	requests  []GetRequest
	closed    bool
	answer    func(g GetRequest) (msgpack.Value, error)
}

func newFakeConn(up bool) *fakeConn {
	c := &fakeConn{est: make(chan struct{}), done: make(chan struct{})}
	if up {
		close(c.est)
	}
	return c
}

func (c *fakeConn) Established() <-chan struct{} { return c.est }
func (c *fakeConn) Done() <-chan struct{}        { return c.done }
func (c *fakeConn) Identify(*identity.Identity) error {
	c.mu.Lock()
	c.identify++
	c.mu.Unlock()
	return nil
}

func (c *fakeConn) Request(_ context.Context, path string, data msgpack.Value, _ int64) (msgpack.Value, error) {
	if path != PathGet {
		return msgpack.Nil(), errors.New("unexpected path " + path)
	}
	g, err := ParseGetRequest(msgpack.Array(data.Elems()...))
	if err != nil {
		return msgpack.Nil(), err
	}
	c.mu.Lock()
	c.requests = append(c.requests, g)
	c.mu.Unlock()
	return c.answer(g)
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.done)
	}
	return nil
}

type fakeNet struct {
	mu       sync.Mutex
	path     bool
	asked    int
	conn     *fakeConn
	openErr  error
	openings int
}

func (n *fakeNet) HasPath(wire.Hash) bool { n.mu.Lock(); defer n.mu.Unlock(); return n.path }
func (n *fakeNet) RequestPath(wire.Hash) error {
	n.mu.Lock()
	n.asked++
	n.mu.Unlock()
	return nil
}

func (n *fakeNet) Open(wire.Hash) (Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.openings++
	if n.openErr != nil {
		return nil, n.openErr
	}
	return n.conn, nil
}

type fakeRecv struct {
	mu   sync.Mutex
	got  [][]byte
	fail bool
}

func (r *fakeRecv) DeliverPropagated(b []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("refused")
	}
	r.got = append(r.got, b)
	return nil
}

func newTestClient(t *testing.T, net Network, clk *fakeClock, o ClientOptions) (*Client, *fakeRecv) {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	o.Identity, o.Clock = id, clk
	rc := &fakeRecv{}
	c, err := NewClient(o, net, rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, rc
}

// runSync starts a sync and advances the fake clock by step whenever the
// sync waits on it, until it ends (bounded).
func runSync(t *testing.T, c *Client, clk *fakeClock, step time.Duration) SyncStatus {
	t.Helper()
	if err := c.Start(context.Background(), wire.Hash{1}); err != nil {
		t.Fatal(err)
	}
	for range 100_000 {
		st := c.Status()
		if st.State == SyncDone || st.State == SyncFailed {
			return st
		}
		if clk.pending() > 0 {
			clk.Advance(step)
		}
		runtime.Gosched()
	}
	t.Fatalf("sync did not end: %+v", c.Status())
	return SyncStatus{}
}

func TestSyncNoPath(t *testing.T) {
	clk := newFakeClock()
	n := &fakeNet{}
	c, _ := newTestClient(t, n, clk, ClientOptions{PathTimeout: 10 * time.Second})
	start := clk.Now()
	st := runSync(t, c, clk, time.Second)
	if st.State != SyncFailed || st.Error != ErrNoPath.Error() {
		t.Fatalf("status %+v", st)
	}
	if n.asked != 1 || n.openings != 0 {
		t.Fatalf("path requests %d, links %d", n.asked, n.openings)
	}
	if waited := clk.Now().Sub(start); waited < 10*time.Second || waited > 12*time.Second {
		t.Fatalf("gave up after %s, want the 10 s path timeout", waited)
	}
}

func TestSyncLinkTimeout(t *testing.T) {
	clk := newFakeClock()
	conn := newFakeConn(false)
	n := &fakeNet{path: true, conn: conn}
	c, _ := newTestClient(t, n, clk, ClientOptions{LinkTimeout: 20 * time.Second})
	st := runSync(t, c, clk, 5*time.Second)
	if st.State != SyncFailed || n.asked != 0 {
		t.Fatalf("status %+v", st)
	}
	if want := ErrLinkFailed.Error(); len(st.Error) < len(want) || st.Error[:len(want)] != want {
		t.Fatalf("error %q, want %q...", st.Error, want)
	}
	if !conn.closed {
		t.Fatal("link left open")
	}
}

func TestSyncCancel(t *testing.T) {
	clk := newFakeClock()
	conn := newFakeConn(false)
	c, _ := newTestClient(t, &fakeNet{path: true, conn: conn}, clk, ClientOptions{})
	if err := c.Start(context.Background(), wire.Hash{1}); err != nil {
		t.Fatal(err)
	}
	for range 100_000 {
		if clk.pending() > 0 {
			break
		}
		runtime.Gosched()
	}
	if st := c.Status(); st.State != SyncLinking {
		t.Fatalf("state %s, want linking", st.State)
	}
	if err := c.Start(context.Background(), wire.Hash{1}); !errors.Is(err, ErrSyncRunning) {
		t.Fatalf("second start: %v", err)
	}
	c.Cancel()
	for range 100_000 {
		if c.Status().State == SyncFailed {
			break
		}
		runtime.Gosched()
	}
	if st := c.Status(); st.State != SyncFailed || st.Error != ErrCancelled.Error() || !conn.closed {
		t.Fatalf("status %+v closed %v", st, conn.closed)
	}
}

func fakeMessage(i int) []byte {
	b := make([]byte, lxmf.Overhead+10)
	copy(b, fmt.Sprintf("message %d", i))
	return b
}

func TestSyncBounded(t *testing.T) {
	clk := newFakeClock()
	conn := newFakeConn(true)
	var ids []wire.FullHash
	msgs := map[wire.FullHash][]byte{}
	for i := range 5 {
		m := fakeMessage(i)
		h := wire.SHA256(m)
		ids = append(ids, h)
		msgs[h] = m
	}
	conn.answer = func(g GetRequest) (msgpack.Value, error) {
		switch {
		case g.List:
			return idsValue(ids), nil
		case len(g.Wants) > 0:
			var out []msgpack.Value
			for _, w := range g.Wants {
				out = append(out, msgpack.Bin(msgs[w]))
			}
			return msgpack.Array(out...), nil
		}
		return msgpack.Array(), nil
	}
	c, rc := newTestClient(t, &fakeNet{path: true, conn: conn}, clk, ClientOptions{MaxMessages: 2, MaxBytes: 5000})
	st := runSync(t, c, clk, time.Second)
	if st.State != SyncDone || st.Received != 2 || st.Remaining != 3 || st.Progress != 1 {
		t.Fatalf("status %+v", st)
	}
	if len(rc.got) != 2 || conn.identify != 1 {
		t.Fatalf("received %d, identified %d", len(rc.got), conn.identify)
	}
	if len(conn.requests) != 3 {
		t.Fatalf("%d requests", len(conn.requests))
	}
	get, confirm := conn.requests[1], conn.requests[2]
	if len(get.Wants) != 2 || get.TransferLimitKB != 5 {
		t.Fatalf("download request %+v", get)
	}
	if len(confirm.Wants) != 0 || len(confirm.Haves) != 2 || confirm.Haves[0] != ids[0] || confirm.Haves[1] != ids[1] {
		t.Fatalf("confirmation %+v", confirm)
	}
}

func TestSyncRefusedMessagesNotConfirmed(t *testing.T) {
	clk := newFakeClock()
	conn := newFakeConn(true)
	m := fakeMessage(1)
	conn.answer = func(g GetRequest) (msgpack.Value, error) {
		if g.List {
			return idsValue([]wire.FullHash{wire.SHA256(m)}), nil
		}
		return msgpack.Array(msgpack.Bin(m)), nil
	}
	c, rc := newTestClient(t, &fakeNet{path: true, conn: conn}, clk, ClientOptions{})
	rc.fail = true
	st := runSync(t, c, clk, time.Second)
	if st.State != SyncDone || st.Received != 0 || st.Failed != 1 || len(conn.requests) != 2 {
		t.Fatalf("status %+v, %d requests", st, len(conn.requests))
	}
}

func TestSyncErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp msgpack.Value
		want error
	}{
		{"no identity", msgpack.Int(ErrorNoIdentity), ErrNoAccess},
		{"no access", msgpack.Int(ErrorNoAccess), ErrNoAccess},
		{"malformed", msgpack.Str("x"), ErrRequest},
		{"nil", msgpack.Nil(), ErrRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			conn := newFakeConn(true)
			conn.answer = func(GetRequest) (msgpack.Value, error) { return tc.resp, nil }
			c, _ := newTestClient(t, &fakeNet{path: true, conn: conn}, clk, ClientOptions{})
			_, err := c.Sync(context.Background(), wire.Hash{2})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if st := c.Status(); st.State != SyncFailed || st.Error == "" || !conn.closed {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

func TestSyncEmptyList(t *testing.T) {
	clk := newFakeClock()
	conn := newFakeConn(true)
	conn.answer = func(GetRequest) (msgpack.Value, error) { return msgpack.Array(), nil }
	c, _ := newTestClient(t, &fakeNet{path: true, conn: conn}, clk, ClientOptions{})
	st, err := c.Sync(context.Background(), wire.Hash{3})
	if err != nil || st.State != SyncDone || st.Received != 0 || len(conn.requests) != 1 {
		t.Fatalf("status %+v, %v, %d requests", st, err, len(conn.requests))
	}
}
