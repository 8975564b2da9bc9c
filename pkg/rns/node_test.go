package rns

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestNodeIdentityFile(t *testing.T) {
	dir := t.TempDir()
	n, err := New(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, TransportIdentityFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode %v %v", fi.Mode(), err)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("identity dir mode %v %v", di.Mode(), err)
	}
	_ = os.Chmod(path, 0o644)
	n2, err := New(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if n2.Identity().Hash() != n.Identity().Hash() {
		t.Fatal("identity not reloaded")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("permissions not tightened: %v", fi.Mode())
	}
}

func TestNodeOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{},
		{DataDir: t.TempDir(), Interfaces: []string{"bogus://x:1"}},
		{DataDir: t.TempDir(), Interfaces: []string{"tcp-client://h:1", "tcp-client://h:1"}},
	} {
		if _, err := New(o); err == nil {
			t.Fatalf("New(%+v) succeeded", o)
		}
	}
}

func TestNodesOverTCP(t *testing.T) {
	base := runtime.NumGoroutine()
	ctx := context.Background()
	srv, err := New(Options{DataDir: t.TempDir(), Interfaces: []string{"tcp-server://127.0.0.1:0?name=srv"}, Transport: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := srv.ListenAddr("srv")
	if addr == nil {
		t.Fatal("no listen address")
	}
	cli, err := New(Options{DataDir: t.TempDir(), ReconnectMin: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Interfaces can be added to a running node.
	if _, err := cli.AddInterface("tcp-client://" + addr.String() + "?name=up"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.AddInterface("tcp-client://" + addr.String() + "?name=up"); !errors.Is(err, ErrDuplicateInterface) {
		t.Fatalf("duplicate add: %v", err)
	}
	waitFor(t, "client connected", func() bool { return cli.InterfaceStats()[0].State == "up" })
	waitFor(t, "server sees client", func() bool { return srv.InterfaceStats()[0].Clients == 1 })

	id, _ := identity.Generate()
	got := make(chan transport.Delivery, 1)
	d, err := srv.RegisterDestination(transport.DestinationConfig{Identity: id, App: "reticle", Aspects: []string{"node"},
		Proof: transport.ProveAll, OnPacket: func(dl transport.Delivery) { got <- dl }})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Announce(d, []byte("srv")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "path", func() bool { return cli.Transport().HasPath(d.Hash()) })
	r, err := cli.Send(d.Hash(), []byte("ping"), transport.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case dl := <-got:
		if string(dl.Data) != "ping" {
			t.Fatalf("got %q", dl.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("no proof")
	}
	if r.Status() != transport.ReceiptDelivered {
		t.Fatalf("receipt %v", r.Status())
	}
	if err := cli.RemoveInterface("up"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "server sees client leave", func() bool { return srv.InterfaceStats()[0].Clients == 0 })
	if len(cli.InterfaceStats()) != 0 || cli.Transport().HasPath(d.Hash()) {
		t.Fatal("removed interface still in use")
	}
	if err := cli.RemoveInterface("up"); !errors.Is(err, ErrNoInterface) {
		t.Fatalf("second remove: %v", err)
	}
	if err := cli.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= base })
}
