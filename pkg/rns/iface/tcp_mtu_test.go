package iface

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// The reference's TCP interfaces autoconfigure their HW_MTU from the
// 10 Mbit/s bitrate guess (Interface.optimise_mtu): 16384 for the client,
// the server and the server's spawned clients. Frames may carry an access
// code on top (HW_MTU + ifac_size).
func TestTCPMTUMatchesReference(t *testing.T) {
	srvRec, cliRec := newRecorder(), newRecorder()
	srv := startServer(t, "127.0.0.1:0", srvRec)
	cli, err := NewTCPClient("cli", srv.Addr().String(), Options{Handler: cliRec, MinBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	peer := srvRec.next(t, "attach").i
	waitFor(t, "client up", func() bool { return cli.State() == StateUp })
	for _, i := range []Interface{cli, srv, peer} {
		if got := i.MTU(); got != 16384 {
			t.Errorf("%s: MTU %d, want 16384", i.Name(), got)
		}
	}
	if got := i2mtu(t, Options{Handler: cliRec, MTU: 4096}); got != 4096 {
		t.Errorf("explicit MTU %d, want 4096", got)
	}

	// A full-size packet with a 16-byte access code goes through.
	frame := bytes.Repeat([]byte{0x7e, 1, 0x7d}, (TCPLinkMTU+16)/3+1)[:TCPLinkMTU+16]
	if err := cli.Send(frame); err != nil {
		t.Fatal(err)
	}
	if e := srvRec.next(t, "frame"); !bytes.Equal(e.frame, frame) {
		t.Fatalf("server got %d bytes, want %d", len(e.frame), len(frame))
	}
	if err := cli.Send(make([]byte, TCPLinkMTU+ifacSlack+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversize send: %v", err)
	}
}

func i2mtu(t *testing.T, o Options) int {
	t.Helper()
	c, err := NewTCPClient("c", "127.0.0.1:1", o)
	if err != nil {
		t.Fatal(err)
	}
	return c.MTU()
}
