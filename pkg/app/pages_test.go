package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/nomadnet"
)

type helloSource struct{}

func (helloSource) Owns(p string) bool { return strings.HasPrefix(p, "/page/hello") }
func (helloSource) Roots() []string    { return []string{"/page/hello"} }
func (helloSource) ServePage(_ context.Context, req nomadnet.PageRequest) ([]byte, error) {
	return []byte(">Hello " + req.Fields["field_name"] + "\n" + strings.Repeat("x", 40<<10)), nil
}

func startPages(t *testing.T, n *loopNode) *Pages {
	t.Helper()
	p, err := NewPages(PagesOptions{}, n.app)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// TestPagesBetweenTwoNodes: A hears B's node announce (sent with B's LXMF announce, named after B),
// fetches B's built-in index naming B's LXMF address, a page B's source serves with a field (as a
// resource, with progress events on A's broker), and gets bad_path for a path outside /page/ and /file/.
func TestPagesBetweenTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("loopback tcp")
	}
	addr := freeAddr(t)
	a := startLoopNodeLinks(t, "alice", true, "tcp-server://"+addr)
	defer a.close()
	b := startLoopNodeLinks(t, "bob", true, "tcp-client://"+addr)
	defer b.close()
	pa, pb := startPages(t, a), startPages(t, b)
	pb.SetSource(helloSource{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events, unsub := a.app.Events().Subscribe(256)
	defer unsub()

	var node NomadNode
	for i := 0; ; i++ {
		_ = b.app.Announce(ctx) // also announces B's node
		list, err := pa.ListNodes(ctx, NodeQuery{Search: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == 1 {
			node = list.Items[0]
			break
		}
		if i > 100 {
			t.Fatal("B's node never heard")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if own := pb.Own(ctx); node.Address != own.Address || node.Name != own.Name || own.Name != "bob" ||
		strings.Join(own.Paths, ",") != "/page/hello,/page/index.mu" {
		t.Fatalf("listed %+v, own %+v", node, pb.Own(ctx))
	}
	idx, err := pa.FetchPage(ctx, PageRequest{Node: node.Address, Path: nomadnet.IndexPath})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(idx.Content, ">bob\n") || !strings.Contains(idx.Content, b.app.Identity(ctx).Address) || idx.Size != len(idx.Content) {
		t.Fatalf("index %+v", idx)
	}
	pg, err := pa.FetchPage(ctx, PageRequest{Node: strings.ToUpper(node.Address), Path: "/page/hello", Fields: map[string]string{"field_name": "Ada"}})
	if err != nil || !strings.HasPrefix(pg.Content, ">Hello Ada\n") {
		t.Fatalf("page %.40q %v", pg.Content, err)
	}
	progress := 0
	for len(events) > 0 {
		if ev := <-events; ev.Kind == EventNomadNetProgress && ev.Path == "/page/hello" && ev.Node == node.Address {
			progress++
		}
	}
	if progress < 2 {
		t.Fatalf("%d progress events", progress)
	}
	if _, err := pa.FetchPage(ctx, PageRequest{Node: node.Address, Path: "/etc/passwd"}); !errors.Is(err, ErrPageBadRequest) {
		t.Fatalf("bad path: %v", err)
	}
	if _, err := pa.FetchPage(ctx, PageRequest{Node: "xyz", Path: nomadnet.IndexPath}); !errors.Is(err, ErrPageBadRequest) {
		t.Fatalf("bad node: %v", err)
	}
	if _, err := pa.ListNodes(ctx, NodeQuery{Cursor: "nope"}); !errors.Is(err, ErrInvalidCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}
