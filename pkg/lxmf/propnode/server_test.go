package propnode

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// memStore is an in-memory Store with the same contract as the app's.
type memStore struct {
	mu      sync.Mutex
	entries []Entry
}

func (m *memStore) Put(_ context.Context, e Entry, limit int64) (PutResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if int64(len(e.Data)) > limit {
		return PutResult{}, errors.New("too large")
	}
	for _, x := range m.entries {
		if x.TransientID == e.TransientID {
			return PutResult{}, nil
		}
	}
	m.entries = append(m.entries, e)
	res := PutResult{Inserted: true}
	for m.total() > limit {
		m.entries = m.entries[1:]
		res.Evicted++
	}
	return res, nil
}

func (m *memStore) total() (n int64) {
	for _, e := range m.entries {
		n += int64(len(e.Data))
	}
	return n
}

func (m *memStore) Has(_ context.Context, id wire.FullHash) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if e.TransientID == id {
			return true, nil
		}
	}
	return false, nil
}

func (m *memStore) List(_ context.Context, dest wire.Hash, limit int) ([]Listed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Listed
	for _, e := range m.entries {
		if e.Destination == dest {
			out = append(out, Listed{TransientID: e.TransientID, Size: int64(len(e.Data))})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Size < out[j].Size })
	return out[:min(len(out), limit)], nil
}

func (m *memStore) Get(_ context.Context, dest wire.Hash, ids []wire.FullHash) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	for _, id := range ids {
		for _, e := range m.entries {
			if e.TransientID == id && e.Destination == dest {
				out = append(out, e.Data)
			}
		}
	}
	return out, nil
}

func (m *memStore) Expire(_ context.Context, before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	keep := m.entries[:0]
	for _, e := range m.entries {
		if e.ReceivedAt.Before(before) {
			n++
		} else {
			keep = append(keep, e)
		}
	}
	m.entries = keep
	return n, nil
}

func (m *memStore) Delete(_ context.Context, dest wire.Hash, ids []wire.FullHash) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	keep := m.entries[:0]
	for _, e := range m.entries {
		del := false
		for _, id := range ids {
			if e.TransientID == id && e.Destination == dest {
				del = true
			}
		}
		if del {
			n++
		} else {
			keep = append(keep, e)
		}
	}
	m.entries = keep
	return n, nil
}

func testServer(t *testing.T, st Store, o ServerOptions) *Server {
	t.Helper()
	if o.Identity == nil {
		id, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		o.Identity = id
	}
	if o.StorageLimit == 0 {
		o.StorageLimit = 1 << 20
	}
	if o.TransferLimitKB == 0 {
		o.TransferLimitKB = DefaultTransferLimitKB
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.MaxServe == 0 {
		o.MaxServe = 100
	}
	return &Server{opts: o, log: slog.New(slog.DiscardHandler), st: st, validated: map[wire.Hash]bool{}}
}

// entryFor builds a stamped propagation entry for the identity's
// destination with a cost-0 stamp.
func entryFor(t *testing.T, to *identity.Identity, content string) lxmf.PropagationEntry {
	t.Helper()
	src, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	m := &lxmf.Message{Destination: lxmf.DeliveryHash(to), Timestamp: 1.7e9, Content: []byte(content)}
	if err := m.Pack(src); err != nil {
		t.Fatal(err)
	}
	data, tid, err := m.EncryptFor(to, nil)
	if err != nil {
		t.Fatal(err)
	}
	stamp, _, err := lxmf.GeneratePropagationStamp(context.Background(), tid, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	pe, err := lxmf.ValidatePropagationStamp(append(data, stamp...), 0)
	if err != nil {
		t.Fatal(err)
	}
	return pe
}

func getReq(remote *identity.Identity, g GetRequest) *link.Request {
	return &link.Request{Path: PathGet, Data: g.Value(), Remote: remote}
}

func TestServeGetOnlyOwnMessages(t *testing.T) {
	st := &memStore{}
	s := testServer(t, st, ServerOptions{})
	alice, _ := identity.Generate()
	bob, _ := identity.Generate()
	ctx := context.Background()
	small, big, other := entryFor(t, alice, "hi"), entryFor(t, alice, string(make([]byte, 3000))), entryFor(t, bob, "for bob")
	for _, pe := range []lxmf.PropagationEntry{big, small, other} {
		if err := s.accept(ctx, pe, append(append([]byte{}, pe.LXMFData...), pe.Stamp...)); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats().Received; got != 3 {
		t.Fatalf("received %d", got)
	}
	if v, _ := s.handleGet(&link.Request{Data: GetRequest{List: true}.Value()}); !sameCode(v, ErrorNoIdentity) {
		t.Fatalf("anonymous list answered %v", v)
	}
	v, ok := s.handleGet(getReq(alice, GetRequest{List: true}))
	ids, err := ParseMessageList(v)
	if !ok || err != nil || len(ids) != 2 || ids[0] != small.TransientID || ids[1] != big.TransientID {
		t.Fatalf("alice's list %v %v", ids, err)
	}
	// Bob's id is never served to alice; a 2 KB transfer limit leaves out the big one.
	v, _ = s.handleGet(getReq(alice, GetRequest{Wants: []wire.FullHash{other.TransientID, big.TransientID, small.TransientID}, TransferLimitKB: 2}))
	msgs, err := ParseMessages(v)
	if err != nil || len(msgs) != 1 || string(msgs[0]) != string(small.LXMFData) {
		t.Fatalf("alice got %d messages, %v", len(msgs), err)
	}
	// Confirming deletes alice's, never bob's.
	s.handleGet(getReq(alice, GetRequest{Haves: []wire.FullHash{small.TransientID, other.TransientID}}))
	if has, _ := st.Has(ctx, small.TransientID); has {
		t.Fatal("confirmed message kept")
	}
	if has, _ := st.Has(ctx, other.TransientID); !has {
		t.Fatal("alice deleted bob's message")
	}
}

func sameCode(v msgpack.Value, code int) bool {
	c, ok := ParseResponseCode(v)
	return ok && c == code
}

type localRecv struct {
	h   wire.Hash
	got [][]byte
}

func (l *localRecv) Hash() wire.Hash { return l.h }
func (l *localRecv) DeliverPropagated(b []byte) error {
	l.got = append(l.got, b)
	return nil
}

func TestAcceptLocalAndLimits(t *testing.T) {
	st := &memStore{}
	me, _ := identity.Generate()
	local := &localRecv{h: lxmf.DeliveryHash(me)}
	pe := entryFor(t, me, "mine")
	size := int64(len(pe.LXMFData) + len(pe.Stamp))
	s := testServer(t, st, ServerOptions{Local: local, StorageLimit: 2 * size})
	ctx := context.Background()
	if err := s.accept(ctx, pe, nil); err != nil || len(local.got) != 1 || len(st.entries) != 0 {
		t.Fatalf("local delivery: %v, %d delivered, %d stored", err, len(local.got), len(st.entries))
	}
	other, _ := identity.Generate()
	var first wire.FullHash
	for i := range 3 {
		e := entryFor(t, other, "abcd")
		if i == 0 {
			first = e.TransientID
		}
		if err := s.accept(ctx, e, append(append([]byte{}, e.LXMFData...), e.Stamp...)); err != nil {
			t.Fatal(err)
		}
	}
	if has, _ := st.Has(ctx, first); has || len(st.entries) != 2 || s.Stats().Evicted != 1 {
		t.Fatalf("after the limit: oldest kept %v, %d held, %+v", has, len(st.entries), s.Stats())
	}
}

func TestExpire(t *testing.T) {
	st := &memStore{}
	clk := newFakeClock()
	s := testServer(t, st, ServerOptions{Clock: clk, MaxAge: time.Hour})
	to, _ := identity.Generate()
	ctx := context.Background()
	old := entryFor(t, to, "old")
	if err := s.accept(ctx, old, append(append([]byte{}, old.LXMFData...), old.Stamp...)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(50 * time.Minute)
	fresh := entryFor(t, to, "fresh")
	if err := s.accept(ctx, fresh, append(append([]byte{}, fresh.LXMFData...), fresh.Stamp...)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(20 * time.Minute)
	s.Expire(ctx)
	hasOld, _ := st.Has(ctx, old.TransientID)
	hasFresh, _ := st.Has(ctx, fresh.TransientID)
	if hasOld || !hasFresh || s.Stats().Evicted != 1 {
		t.Fatalf("old kept %v, fresh kept %v, %+v", hasOld, hasFresh, s.Stats())
	}
}

func TestAppDataRoundTrip(t *testing.T) {
	clk := newFakeClock()
	s := testServer(t, &memStore{}, ServerOptions{Name: "reticle node", StampCost: 13, StampFlexibility: 3, PeeringCost: 18, TransferLimitKB: 256, SyncLimitKB: 10240, Clock: clk})
	ad, err := lxmf.ParsePropagationNodeAppData(s.AppData())
	if err != nil {
		t.Fatal(err)
	}
	name, _ := ad.Name()
	if !ad.Enabled || ad.StampCost != 13 || ad.StampFlexibility != 3 || ad.PeeringCost != 18 || ad.TransferLimit != 256 || ad.SyncLimit != 10240 || name != "reticle node" || ad.Timebase != clk.Now().Unix() {
		t.Fatalf("app data %+v %q", ad, name)
	}
}

// failStore is a Store whose Put fails while fail is set.
type failStore struct {
	memStore
	fail bool
}

func (f *failStore) Put(ctx context.Context, e Entry, limit int64) (PutResult, error) {
	if f.fail {
		return PutResult{}, errors.New("disk full")
	}
	return f.memStore.Put(ctx, e, limit)
}

// TestUploadConfirmedOnlyWhenStored: ingest is the links' Confirm and
// ConfirmResource hook, so its result decides whether an upload is
// proven: only once every entry's stamp was valid and it was stored.
func TestUploadConfirmedOnlyWhenStored(t *testing.T) {
	st := &failStore{fail: true}
	s := testServer(t, st, ServerOptions{SyncLimitKB: DefaultTransferLimitKB})
	to, _ := identity.Generate()
	pe := entryFor(t, to, "upload")
	upload := lxmf.PackPropagationContainer(1.7e9, append(append([]byte{}, pe.LXMFData...), pe.Stamp...))
	l := &link.Link{}
	for _, resource := range []bool{false, true} {
		if s.ingest(l, upload, resource) {
			t.Fatalf("resource=%v: confirmed although the store failed", resource)
		}
	}
	if len(st.entries) != 0 {
		t.Fatalf("%d stored", len(st.entries))
	}
	st.fail = false
	if !s.ingest(l, upload, false) || len(st.entries) != 1 {
		t.Fatalf("not confirmed once storing works (%d stored)", len(st.entries))
	}
	if !s.ingest(l, upload, true) || len(st.entries) != 1 {
		t.Fatalf("a retried upload already held: not confirmed or stored twice (%d stored)", len(st.entries))
	}
	if s.ingest(l, []byte{0xc1}, false) {
		t.Fatal("malformed upload confirmed")
	}
}
