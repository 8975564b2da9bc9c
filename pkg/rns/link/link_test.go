package link

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

func echo(r *Request) (msgpack.Value, bool) { return r.Data, true }

func TestEstablishAndTeardown(t *testing.T) {
	for _, tc := range []struct {
		name       string
		closeFromA bool
	}{{"initiator closes", true}, {"responder closes", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var gotB []byte
			estB := 0
			p := newPair(t, 500, Options{}, ListenConfig{Callbacks: Callbacks{
				Established: func(*Link) { estB++ },
				Packet:      func(_ *Link, d []byte) { gotB = d },
			}})
			estA := 0
			la, lb := p.open(Callbacks{Established: func(*Link) { estA++ }})
			if estA != 1 || estB != 1 {
				t.Fatalf("established callbacks a=%d b=%d", estA, estB)
			}
			if la.ID() != lb.ID() || !la.Initiator() || lb.Initiator() {
				t.Fatal("link ids or roles differ")
			}
			if la.RemoteIdentity().Hash() != p.destID.Hash() {
				t.Fatal("initiator does not know the destination identity")
			}
			if la.MDU() != wire.LinkMDU {
				t.Fatalf("mdu %d, want %d", la.MDU(), wire.LinkMDU)
			}
			msg := []byte("hello over the link")
			if err := la.Send(msg); err != nil {
				t.Fatal(err)
			}
			p.pump()
			if !bytes.Equal(gotB, msg) {
				t.Fatalf("responder got %q", gotB)
			}
			if err := la.Send(make([]byte, la.MDU()+1)); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("oversize send: %v", err)
			}
			closer, other := la, lb
			want := ReasonInitiatorClosed
			if !tc.closeFromA {
				closer, other, want = lb, la, ReasonDestinationClosed
			}
			if err := closer.Close(); err != nil {
				t.Fatal(err)
			}
			p.pump()
			if other.Status() != StatusClosed || !closed(other.Done()) {
				t.Fatal("peer did not see LINKCLOSE")
			}
			if other.CloseReason() != want || closer.CloseReason() != want {
				t.Fatalf("reasons %v / %v, want %v", closer.CloseReason(), other.CloseReason(), want)
			}
			if len(p.a.Links()) != 0 || len(p.b.Links()) != 0 {
				t.Fatal("closed links still registered")
			}
		})
	}
}

func TestLargeMTUSignalled(t *testing.T) {
	p := newPair(t, 262144, Options{}, ListenConfig{})
	la, lb := p.open(Callbacks{})
	// No path is known, so the initiator signals the default MTU.
	if la.MTU() != wire.MTU || lb.MTU() != wire.MTU {
		t.Fatalf("mtu %d/%d without a path", la.MTU(), lb.MTU())
	}
}

func TestIdentify(t *testing.T) {
	var got *identity.Identity
	p := newPair(t, 500, Options{}, ListenConfig{Callbacks: Callbacks{
		RemoteIdentified: func(_ *Link, id *identity.Identity) { got = id },
	}})
	la, lb := p.open(Callbacks{})
	me, _ := identity.Generate()
	if err := la.Identify(me); err != nil {
		t.Fatal(err)
	}
	p.pump()
	if got == nil || got.Hash() != me.Hash() || lb.RemoteIdentity().Hash() != me.Hash() {
		t.Fatal("responder did not learn the initiator identity")
	}
	if err := lb.Identify(me); !errors.Is(err, ErrNotActive) {
		t.Fatalf("responder identify: %v", err)
	}
}

func TestRequestResponse(t *testing.T) {
	p := newPair(t, 500, Options{}, ListenConfig{Handlers: []Handler{
		{Path: "/echo", Handle: echo},
		{Path: "/big", Handle: func(*Request) (msgpack.Value, bool) { return msgpack.Bin(bytes.Repeat([]byte{7}, 5000)), true }},
		{Path: "/private", Handle: func(*Request) (msgpack.Value, bool) { return msgpack.Str("secret"), true },
			Allow: func(id *identity.Identity) bool { return id != nil }},
		{Path: "/silent", Handle: func(*Request) (msgpack.Value, bool) { return msgpack.Nil(), false }},
	}})
	la, _ := p.open(Callbacks{})
	big := make([]byte, 3000)
	_, _ = rand.Read(big)
	for _, tc := range []struct {
		name string
		path string
		data msgpack.Value
		want []byte
	}{
		{"small", "/echo", msgpack.Bin([]byte("ping")), []byte("ping")},
		{"request as resource", "/echo", msgpack.Bin(big), big},
		{"response as resource", "/big", msgpack.Nil(), bytes.Repeat([]byte{7}, 5000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr, err := la.Request(tc.path, tc.data, RequestOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p.pump()
			if !closed(rr.Done()) {
				t.Fatal("no response")
			}
			v, err := rr.Response()
			if err != nil {
				t.Fatal(err)
			}
			if b, ok := v.AsBin(); !ok || !bytes.Equal(b, tc.want) {
				t.Fatal("response differs")
			}
		})
	}
	for _, path := range []string{"/private", "/silent", "/unknown"} {
		t.Run(path+" times out", func(t *testing.T) {
			rr, err := la.Request(path, msgpack.Nil(), RequestOptions{Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			p.pump()
			p.advance(4 * time.Second)
			if closed(rr.Done()) {
				t.Fatal("concluded early")
			}
			p.advance(2 * time.Second)
			if _, err := rr.Response(); !errors.Is(err, ErrTimeout) {
				t.Fatalf("want timeout, got %v", err)
			}
		})
	}
	t.Run("response over cap refused", func(t *testing.T) {
		rr, err := la.Request("/big", msgpack.Nil(), RequestOptions{MaxResponseSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		p.pump()
		if _, err := rr.Response(); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("want too large, got %v", err)
		}
	})
}

func TestEstablishmentTimeout(t *testing.T) {
	p := newPair(t, 500, Options{}, ListenConfig{})
	p.ib.SetDrop(true)
	la, err := p.a.Open(p.dest.Hash(), Callbacks{})
	if err != nil {
		t.Fatal(err)
	}
	p.pump()
	p.advance(11 * time.Second)
	if la.Status() != StatusPending {
		t.Fatalf("status %s before timeout", la.Status())
	}
	p.advance(2 * time.Second)
	if la.Status() != StatusClosed || la.CloseReason() != ReasonTimeout {
		t.Fatalf("status %s reason %v", la.Status(), la.CloseReason())
	}
	if err := la.Wait(context.Background()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("wait: %v", err)
	}
}

func TestKeepaliveAndStale(t *testing.T) {
	p := newPair(t, 500, Options{}, ListenConfig{})
	la, lb := p.open(Callbacks{})
	ka := la.Keepalive()
	if ka != keepaliveMin {
		t.Fatalf("keepalive %v for a near-zero rtt, want %v", ka, keepaliveMin)
	}
	// Keepalives keep the link active well past the stale time.
	for range 10 {
		p.advance(ka)
	}
	if la.Status() != StatusActive || lb.Status() != StatusActive {
		t.Fatalf("status %s/%s with keepalives flowing", la.Status(), lb.Status())
	}
	// Cut the medium: both ends go stale, then time out.
	p.ia.SetDrop(true)
	p.ib.SetDrop(true)
	for range 3 {
		p.advance(ka)
	}
	if la.Status() != StatusStale {
		t.Fatalf("initiator status %s after silence", la.Status())
	}
	p.advance(staleGrace + time.Second)
	if la.Status() != StatusClosed || la.CloseReason() != ReasonTimeout {
		t.Fatalf("initiator %s/%v", la.Status(), la.CloseReason())
	}
	if lb.Status() != StatusClosed || lb.CloseReason() != ReasonTimeout {
		t.Fatalf("responder %s/%v", lb.Status(), lb.CloseReason())
	}
}

func TestUnknownDestination(t *testing.T) {
	p := newPair(t, 500, Options{}, ListenConfig{})
	if _, err := p.a.Open(wire.Hash{1}, Callbacks{}); err == nil {
		t.Fatal("open to unknown destination succeeded")
	}
}

func TestPacketProofs(t *testing.T) {
	p := newPair(t, 500, Options{}, ListenConfig{ProveAll: true})
	la, lb := p.open(Callbacks{})
	t.Run("responder proves", func(t *testing.T) {
		r, err := la.SendWithReceipt([]byte("prove me"), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		p.pump()
		if !r.Delivered() || r.Err() != nil {
			t.Fatalf("delivered %v err %v", r.Delivered(), r.Err())
		}
	})
	t.Run("initiator proves when asked", func(t *testing.T) {
		la.SetProveAll(true)
		r, err := lb.SendWithReceipt([]byte("and me"), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		p.pump()
		if !r.Delivered() {
			t.Fatal("initiator proof not accepted")
		}
	})
	t.Run("unproven times out", func(t *testing.T) {
		la.SetProveAll(false)
		r, err := lb.SendWithReceipt([]byte("no proof"), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		p.pump()
		p.advance(2 * time.Second)
		if r.Delivered() || !errors.Is(r.Err(), ErrTimeout) {
			t.Fatalf("delivered %v err %v", r.Delivered(), r.Err())
		}
	})
	t.Run("forged proof refused", func(t *testing.T) {
		p.ib.SetDrop(true)
		r, err := la.SendWithReceipt([]byte("lost"), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		p.pump()
		p.ib.SetDrop(false)
		if r.Delivered() {
			t.Fatal("proof was not dropped")
		}
		h := r.Hash()
		forged := &wire.Packet{DestinationType: wire.Link, PacketType: wire.Proof, DestinationHash: la.ID(),
			Data: append(h[:], make([]byte, wire.SignatureLen)...)}
		p.a.HandleLinkPacket(forged, forged.Hash(), p.ia)
		if r.Delivered() {
			t.Fatal("forged proof accepted")
		}
	})
}

func TestMaxLinks(t *testing.T) {
	p := newPair(t, 500, Options{MaxLinks: 2}, ListenConfig{})
	for range 2 {
		p.open(Callbacks{})
	}
	la, err := p.a.Open(p.dest.Hash(), Callbacks{})
	if err != nil {
		t.Fatal(err)
	}
	p.pump()
	if la.Status() != StatusPending || len(p.b.Links()) != 2 {
		t.Fatalf("third link: %s, responder holds %d", la.Status(), len(p.b.Links()))
	}
}
