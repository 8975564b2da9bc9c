package iface

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"
)

func sharedSpec(t *testing.T, uri string) Spec {
	t.Helper()
	s, err := Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startShared(t *testing.T, spec Spec, h Handler) *Shared {
	t.Helper()
	s, err := NewShared(spec, Options{Handler: h, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestSharedAutoRoles(t *testing.T) {
	for _, typ := range []string{"unix", "tcp"} {
		t.Run(typ, func(t *testing.T) {
			uri := fmt.Sprintf("shared-instance://reticle-test-%d?type=%s&port=%d", time.Now().UnixNano(), typ, freeTCPPort(t))
			spec := sharedSpec(t, uri)
			rs, rc := newRecorder(), newRecorder()
			srv := startShared(t, spec, rs)
			if srv.Role() != LocalServing {
				t.Fatalf("first instance role %v", srv.Role())
			}
			cli := startShared(t, spec, rc)
			if cli.Role() != LocalAttached || !IsSharedUpstream(cli) || IsSharedUpstream(srv) {
				t.Fatalf("second instance role %v", cli.Role())
			}
			if e := rc.next(t, "attach"); e.i != cli {
				t.Fatalf("client attached %v", e.i.Name())
			}
			peer := rs.next(t, "attach").i
			if !IsLocalClient(peer) || peer.Parent() != srv || IsLocalClient(cli) {
				t.Fatalf("server attached %s (local client %v)", peer.Name(), IsLocalClient(peer))
			}
			waitFor(t, "client up", func() bool { return cli.State() == StateUp })
			if err := cli.Send(packet(1)); err != nil {
				t.Fatal(err)
			}
			if e := rs.next(t, "frame"); e.i != peer || !bytes.Equal(e.frame, packet(1)) {
				t.Fatalf("server got %x on %s", e.frame, e.i.Name())
			}
			if err := srv.Send(packet(2)); err != nil {
				t.Fatal(err)
			}
			if e := rc.next(t, "frame"); !bytes.Equal(e.frame, packet(2)) {
				t.Fatalf("client got %x", e.frame)
			}
			// The writer counts a frame after the write returns, which may be
			// after the client has read it.
			waitFor(t, "server counters", func() bool { return srv.Stats().PacketsOut == 1 })
			if st := srv.Stats(); st.Clients != 1 || st.PacketsIn != 1 || st.PacketsOut != 1 {
				t.Fatalf("server stats %+v", st)
			}
			// The client reconnects when the server comes back.
			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "client down", func() bool { return cli.State() != StateUp })
			srv2 := startShared(t, spec, rs)
			if srv2.Role() != LocalServing {
				t.Fatalf("restarted role %v", srv2.Role())
			}
			waitFor(t, "client reconnected", func() bool { return cli.State() == StateUp && len(srv2.Clients()) == 1 })
			if cli.Stats().Reconnects == 0 {
				t.Fatal("no reconnect counted")
			}
		})
	}
}

func TestSharedExplicitRoles(t *testing.T) {
	port := freeTCPPort(t)
	spec := sharedSpec(t, "shared-instance://x?type=tcp&role=server&port="+strconv.Itoa(port))
	startShared(t, spec, newRecorder())
	s, err := NewShared(spec, Options{Handler: newRecorder()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("second server started on a taken port")
	}
	// A client with nothing to attach to keeps trying and stays down.
	cspec := sharedSpec(t, fmt.Sprintf("shared-instance://nobody-%d?role=client", time.Now().UnixNano()))
	r := newRecorder()
	c := startShared(t, cspec, r)
	if c.Role() != LocalAttached || c.State() == StateUp {
		t.Fatalf("client role %v state %v", c.Role(), c.State())
	}
	if err := c.Send(packet(1)); err == nil {
		t.Fatal("send without a shared instance succeeded")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r.next(t, "detach")
}
