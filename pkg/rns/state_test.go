package rns

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
)

// TestNodeRestartKeepsKnownAndPaths: a client node learns a destination,
// closes, and a new node on the same data dir knows its identity and path
// at once (once its interface is back) and sends to it without a new
// announce; damaged state files are logged and ignored.
func TestNodeRestartKeepsKnownAndPaths(t *testing.T) {
	ctx := context.Background()
	srv, err := New(Options{DataDir: t.TempDir(), Interfaces: []string{"tcp-server://127.0.0.1:0?name=srv"}, Transport: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	uri := "tcp-client://" + srv.ListenAddr("srv").String() + "?name=up"
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan transport.Delivery, 4)
	d, err := srv.RegisterDestination(transport.DestinationConfig{Identity: id, App: "reticle", Aspects: []string{"state"},
		Proof: transport.ProveAll, Ratchets: true, OnPacket: func(dl transport.Delivery) { got <- dl }})
	if err != nil {
		t.Fatal(err)
	}

	dataDir := t.TempDir()
	start := func() *Node {
		t.Helper()
		n, err := New(Options{DataDir: dataDir, Interfaces: []string{uri}, ReconnectMin: 20 * time.Millisecond,
			PersistInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return n
	}
	cli := start()
	waitFor(t, "client up", func() bool { return cli.InterfaceStats()[0].State == "up" })
	if err := srv.Announce(d, []byte("state")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "path", func() bool { return cli.Transport().HasPath(d.Hash()) })
	// Saved while running, not only on Close (a crash loses little).
	waitFor(t, "periodic save", func() bool {
		probe, err := transport.New(transport.Options{Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		n, err := probe.LoadPaths(filepath.Join(dataDir, PathTableFile))
		return err == nil && n == 1
	})
	if err := cli.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{KnownDestinationsFile, PathTableFile} {
		fi, err := os.Stat(filepath.Join(dataDir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi, err)
		}
	}

	cli = start()
	if _, appData, ok := cli.Transport().Recall(d.Hash()); !ok || string(appData) != "state" {
		t.Fatalf("recall after restart: %q %v", appData, ok)
	}
	waitFor(t, "restored path", func() bool { return cli.Transport().HasPath(d.Hash()) })
	waitFor(t, "client up again", func() bool { return cli.InterfaceStats()[0].State == "up" })
	r, err := cli.Send(d.Hash(), []byte("no announce needed"), transport.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case dl := <-got:
		if string(dl.Data) != "no announce needed" {
			t.Fatalf("got %q", dl.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery after restart")
	}
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("no proof")
	}
	if err := cli.Close(); err != nil {
		t.Fatal(err)
	}

	// Damaged files: the node starts, knows nothing, and overwrites them
	// with good state on close.
	for _, f := range []string{KnownDestinationsFile, PathTableFile} {
		if err := os.WriteFile(filepath.Join(dataDir, f), []byte("\x00garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cli = start()
	if _, _, ok := cli.Transport().Recall(d.Hash()); ok {
		t.Fatal("damaged file loaded")
	}
	if err := cli.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Transport().LoadKnown(filepath.Join(dataDir, KnownDestinationsFile)); err != nil {
		t.Fatalf("state rewritten on close is unreadable: %v", err)
	}
}
