package interop

import (
	"fmt"
	"net"
	"testing"
)

// freeUDPPort returns a currently free UDP port on 127.0.0.1.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestInteropUDP: Reticle's udp:// interface and the reference's
// UDPInterface on loopback, each forwarding to the other's listen port:
// announces both ways and proven encrypted packets both ways.
func TestInteropUDP(t *testing.T) {
	requirePython(t)
	pyPort, goPort := freeUDPPort(t), freeUDPPort(t)
	section := fmt.Sprintf("  [[UDP]]\n    type = UDPInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = %d\n    forward_ip = 127.0.0.1\n    forward_port = %d\n", pyPort, goPort)
	peer, ready := startPeer(t, "pyudp", false, section)
	peerDest := mustHash(t, ready.str("dest"))
	r := startReticle(t, false, fmt.Sprintf("udp://127.0.0.1:%d?forward=127.0.0.1:%d", goPort, pyPort))
	r.waitUp(t)

	ev := announceUntilSeen(t, r, peer)
	if ev.num("hops") != 1 {
		t.Fatalf("peer saw Reticle at %d hops, want 1", ev.num("hops"))
	}
	pi := peerAnnounceUntilLearned(t, r, peer, peerDest)
	if pi.Hops != 1 || pi.NextHop != peerDest {
		t.Fatalf("path %+v", pi)
	}
	reticleSendUntilProven(t, r, peer, peerDest, []byte("reticle over udp"))
	peerSendUntilProven(t, peer, r.dest.Hash(), []byte("python over udp"), r.received([]byte("python over udp")))
	st := r.node.InterfaceStats()[0]
	if st.Kind != "udp" || st.PacketsIn == 0 || st.PacketsOut == 0 {
		t.Fatalf("stats %+v", st)
	}
}
