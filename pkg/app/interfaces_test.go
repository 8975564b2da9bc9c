package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns"
)

// newNetwork is a started node on a temp store with one --interface flag.
func newNetwork(t *testing.T) (*Network, *rns.Node, string) {
	t.Helper()
	dir := t.TempDir()
	st := openStore(t, dir)
	flag := "tcp-server://127.0.0.1:0?name=bootstrap"
	node, err := rns.New(rns.Options{DataDir: dir, Interfaces: []string{flag}})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Close() })
	nw, err := NewNetwork(NetworkOptions{Flags: []string{flag}}, st, node)
	if err != nil {
		t.Fatal(err)
	}
	return nw, node, dir
}

func ptr[T any](v T) *T { return &v }

func TestNetworkInterfacesLive(t *testing.T) {
	if testing.Short() {
		t.Skip("opens sockets")
	}
	ctx := context.Background()
	nw, node, _ := newNetwork(t)

	created, err := nw.CreateInterface(ctx, InterfaceRequest{
		URI: ptr("tcp-server://127.0.0.1:0"), Name: ptr("lan"), Passphrase: ptr("hunter2 secret"), NetworkName: ptr("homenet"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID != "1" || created.Source != SourceStored || !created.Enabled || !created.IFAC || created.State != "up" {
		t.Fatalf("created %+v", created)
	}
	if strings.Contains(created.URI, "hunter2") || strings.Contains(created.URI, "homenet") {
		t.Fatalf("secret in uri %q", created.URI)
	}
	spec, ok := node.Spec("lan")
	if !ok || spec.Passphrase != "hunter2 secret" || spec.NetworkName != "homenet" {
		t.Fatalf("running spec %+v", spec)
	}
	list, err := nw.ListInterfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "flag-1" || list[0].Source != SourceFlag || list[1].Name != "lan" {
		t.Fatalf("list %+v", list)
	}
	busy := node.ListenAddr("lan").String()

	t.Run("port in use", func(t *testing.T) {
		_, err := nw.CreateInterface(ctx, InterfaceRequest{URI: ptr("tcp-server://" + busy + "?name=second")})
		if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("err %v", err)
		}
		if l, _ := nw.ListInterfaces(ctx); len(l) != 2 {
			t.Fatalf("failed create was stored: %+v", l)
		}
	})
	t.Run("validation names the field", func(t *testing.T) {
		for _, c := range []struct {
			req  InterfaceRequest
			want string
		}{
			{InterfaceRequest{}, "uri is required"},
			{InterfaceRequest{URI: ptr("tcp-client://nohost")}, "uri: want HOST:PORT"},
			{InterfaceRequest{URI: ptr("tcp-client://h:1?network_name=topsecret&bogus=1")}, "uri: unknown parameter"},
			{InterfaceRequest{URI: ptr("tcp-client://h:1"), Name: ptr(strings.Repeat("n", 65))}, "name must be"},
			{InterfaceRequest{URI: ptr("tcp-client://h:1"), Passphrase: ptr("a\nb")}, "passphrase must be"},
			{InterfaceRequest{URI: ptr("shared-instance://x"), Passphrase: ptr("p")}, "not used on a shared instance"},
			{InterfaceRequest{URI: ptr("tcp-client://h:1"), Name: ptr("bootstrap")}, "--interface flag"},
			{InterfaceRequest{URI: ptr("tcp-client://h:1"), Name: ptr("lan")}, `name "lan"`},
		} {
			_, err := nw.CreateInterface(ctx, c.req)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "topsecret") {
				t.Errorf("%+v: err %v, want %q", c.req, err, c.want)
			}
		}
	})
	t.Run("flags are read-only", func(t *testing.T) {
		if _, err := nw.UpdateInterface(ctx, "flag-1", InterfaceRequest{Enabled: ptr(false)}); !errors.Is(err, ErrInterfaceReadOnly) {
			t.Fatalf("update flag: %v", err)
		}
		if err := nw.DeleteInterface(ctx, "flag-1"); !errors.Is(err, ErrInterfaceReadOnly) {
			t.Fatalf("delete flag: %v", err)
		}
		if err := nw.DeleteInterface(ctx, "42"); !errors.Is(err, ErrInterfaceNotFound) {
			t.Fatalf("delete missing: %v", err)
		}
	})
	t.Run("disable, change and enable", func(t *testing.T) {
		off, err := nw.UpdateInterface(ctx, created.ID, InterfaceRequest{Enabled: ptr(false)})
		if err != nil || off.Enabled || off.State != "down" {
			t.Fatalf("disable: %+v %v", off, err)
		}
		if _, ok := node.Interface("lan"); ok {
			t.Fatal("disabled interface still running")
		}
		// The masked URI sent back keeps the stored secrets.
		on, err := nw.UpdateInterface(ctx, created.ID, InterfaceRequest{URI: ptr(off.URI), Name: ptr("lan2"), Enabled: ptr(true)})
		if err != nil || on.Name != "lan2" || on.State != "up" {
			t.Fatalf("enable: %+v %v", on, err)
		}
		spec, ok := node.Spec("lan2")
		if !ok || spec.Passphrase != "hunter2 secret" || spec.NetworkName != "homenet" {
			t.Fatalf("secrets lost: %+v", spec)
		}
		// A failed change keeps the running interface as it was.
		if _, err := nw.UpdateInterface(ctx, created.ID, InterfaceRequest{URI: ptr("tcp-server://" + node.ListenAddr("bootstrap").String())}); !errors.Is(err, ErrPortInUse) {
			t.Fatalf("change to busy port: %v", err)
		}
		if _, ok := node.Interface("lan2"); !ok {
			t.Fatal("interface gone after a failed change")
		}
	})
	t.Run("a client that cannot connect says why", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := ln.Addr().String()
		_ = ln.Close()
		c, err := nw.CreateInterface(ctx, InterfaceRequest{URI: ptr("tcp-client://" + closed), Name: ptr("nowhere")})
		if err != nil {
			t.Fatal(err)
		}
		var got InterfaceInfo
		for range 500 {
			list, _ := nw.ListInterfaces(ctx)
			for _, i := range list {
				if i.ID == c.ID {
					got = i
				}
			}
			if got.LastError != "" {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got.State == "up" || !strings.Contains(got.LastError, "refused") || strings.Contains(got.LastError, "\n") {
			t.Fatalf("unreachable client %+v", got)
		}
		if err := nw.DeleteInterface(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if err := nw.DeleteInterface(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
		if _, ok := node.Interface("lan2"); ok {
			t.Fatal("deleted interface still running")
		}
		if l, _ := nw.ListInterfaces(ctx); len(l) != 1 {
			t.Fatalf("list after delete %+v", l)
		}
	})
}

func TestNetworkStartSkipsBrokenRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("opens sockets")
	}
	ctx := context.Background()
	nw, node, _ := newNetwork(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	if _, err := nw.CreateInterface(ctx, InterfaceRequest{URI: ptr("tcp-server://" + ln.Addr().String() + "?name=taken"), Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := nw.CreateInterface(ctx, InterfaceRequest{URI: ptr("udp://127.0.0.1:0?name=ok")}); err != nil {
		t.Fatal(err)
	}
	// Enable the record behind the node's back, as a restart would find it.
	if err := node.RemoveInterface("ok"); err != nil {
		t.Fatal(err)
	}
	rec, _ := nw.st.GetInterface(ctx, 1)
	rec.Enabled = true
	if err := nw.st.UpdateInterface(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	if err := nw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ := nw.ListInterfaces(ctx)
	if list[1].Name != "taken" || list[1].State != "down" || !strings.Contains(list[1].LastError, "address already in use") {
		t.Fatalf("taken %+v", list[1])
	}
	if list[2].Name != "ok" || list[2].State != "up" {
		t.Fatalf("ok %+v", list[2])
	}
	if _, ok := node.Interface("ok"); !ok {
		t.Fatal("good record not started")
	}
}

func TestNetworkPaths(t *testing.T) {
	ctx := context.Background()
	nw, _, _ := newNetwork(t)
	if _, err := nw.Path(ctx, "zz"); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("bad hash: %v", err)
	}
	dest := strings.Repeat("ab", 16)
	if _, err := nw.Path(ctx, dest); !errors.Is(err, ErrNoPath) {
		t.Fatalf("unknown path: %v", err)
	}
	if err := nw.DropPath(ctx, dest); !errors.Is(err, ErrNoPath) {
		t.Fatalf("drop unknown: %v", err)
	}
	if len(nw.Paths(ctx)) != 0 {
		t.Fatal("paths on a fresh node")
	}
}

func TestPathsPaged(t *testing.T) {
	var all []PathInfo
	for i := range 120 {
		all = append(all, PathInfo{Destination: fmt.Sprintf("%032x", i), Hops: i / 50})
	}
	var got []PathInfo
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		p, err := pagePaths(all, 50, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > 50 {
			t.Fatalf("page of %d", len(p.Items))
		}
		got = append(got, p.Items...)
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if len(got) != len(all) || got[0] != all[0] || got[119] != all[119] || got[50] != all[50] {
		t.Fatalf("paged %d of %d paths, or out of order", len(got), len(all))
	}
	if _, err := pagePaths(all, 50, "junk"); !errors.Is(err, ErrInvalidCursor) {
		t.Fatalf("junk cursor: %v", err)
	}
}
