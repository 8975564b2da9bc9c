package interop

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
)

// TestSharedReticlePair needs no Python: two Reticle nodes configured with
// the same role=auto shared instance; the first serves, the second attaches
// to it, and they exchange announces and proven packets through it.
func TestSharedReticlePair(t *testing.T) {
	if testing.Short() {
		t.Skip("slow; skipped with -short")
	}
	uri := fmt.Sprintf("shared-instance://%s", instanceName(t))
	a := startReticle(t, true, uri)
	// b also has a TCP server, left down while b is attached to a's shared
	// instance, as the reference does.
	standbyPort := freePort(t)
	b := startReticle(t, false, uri, fmt.Sprintf("tcp-server://127.0.0.1:%d?name=standby", standbyPort))
	if st := b.node.Interfaces()[1].State(); st != iface.StateDown || b.node.ListenAddr("standby") != nil {
		t.Fatalf("standby interface is %v while attached", st)
	}
	sa, sb := a.node.Interfaces()[0].(*iface.Shared), b.node.Interfaces()[0].(*iface.Shared)
	if sa.Role() != iface.LocalServing || sb.Role() != iface.LocalAttached {
		t.Fatalf("roles %v and %v", sa.Role(), sb.Role())
	}
	b.waitUp(t)
	// b's side of the connection is up before a's transport has attached the new local client; an
	// announce from a in between has nowhere to go. Wait (bounded) for a to see its client.
	for i := 0; sa.Stats().Clients != 1; i++ {
		if i == 250 {
			t.Fatalf("serving side never saw the attached client: %+v", sa.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, pair := range [][2]*reticle{{a, b}, {b, a}} {
		from, to := pair[0], pair[1]
		var ok bool
		for attempt := 1; attempt <= maxAttempts && !ok; attempt++ {
			if err := from.node.Announce(from.dest, nil); err != nil {
				t.Fatal(err)
			}
			for range 100 {
				if ok = to.node.Transport().HasPath(from.dest.Hash()); ok {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		if !ok {
			t.Fatal("no path learned through the shared instance")
		}
		payload := []byte("through the shared instance")
		rc, err := to.node.Send(from.dest.Hash(), payload, transport.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-rc.Done():
		case <-time.After(10 * time.Second):
		}
		if rc.Status() != transport.ReceiptDelivered || !from.received(payload)() {
			t.Fatalf("receipt %v", rc.Status())
		}
	}
	if st := sa.Stats(); st.Clients != 1 || st.PacketsIn == 0 {
		t.Fatalf("serving stats %+v", st)
	}
}

// TestSharedAddRemoveAtRuntime: a shared instance added to a running node
// serves data and RPC sockets; removing it closes both.
func TestSharedAddRemoveAtRuntime(t *testing.T) {
	r := startReticle(t, false, "udp://127.0.0.1:0?forward=127.0.0.1:9")
	uri := fmt.Sprintf("shared-instance://%s?role=server", instanceName(t))
	i, err := r.node.AddInterface(uri)
	if err != nil {
		t.Fatal(err)
	}
	spec := i.(*iface.Shared).Spec()
	dial := func(network, addr string) error {
		c, err := net.DialTimeout(network, addr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	for _, addr := range [][2]string{pair(iface.SharedAddress(spec)), pair(iface.ControlAddress(spec))} {
		if err := dial(addr[0], addr[1]); err != nil {
			t.Fatalf("%s not served: %v", addr[1], err)
		}
	}
	if err := r.node.RemoveInterface(i.Name()); err != nil {
		t.Fatal(err)
	}
	for _, addr := range [][2]string{pair(iface.SharedAddress(spec)), pair(iface.ControlAddress(spec))} {
		if err := dial(addr[0], addr[1]); err == nil {
			t.Fatalf("%s still served after removal", addr[1])
		}
	}
}

func pair(a, b string) [2]string { return [2]string{a, b} }
