package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/store"
)

func TestProgressPublishesAtMostOncePerPercent(t *testing.T) {
	b := NewBroker()
	ch, unsub := b.Subscribe(1024)
	defer unsub()
	p := newProgress(b)
	id := wire.FullHash{7}
	for done := int64(0); done <= 10_000; done += 10 {
		p.report(id, done, 10_000)
	}
	p.report(id, 10_000, 10_000) // after completion a repeat is a new transfer's 100%: one more event at most
	n, last := 0, Event{}
	for len(ch) > 0 {
		last = <-ch
		n++
	}
	if n < 100 || n > 102 {
		t.Fatalf("%d events for 1000 reports, want about 100", n)
	}
	if last.Kind != EventMessageProgress || last.BytesDone != 10_000 || last.BytesTotal != 10_000 || last.MessageID != id.String() {
		t.Fatalf("last event %+v", last)
	}
	if len(p.last) != 0 {
		t.Fatalf("%d sends still tracked after completion", len(p.last))
	}
}

// TestResourceSendReportsProgress sends a message too large for one link packet between two loopback
// nodes: the sender publishes progress events that climb to the packed size before delivery.
func TestResourceSendReportsProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("loopback nodes")
	}
	addr := freeAddr(t)
	srv := startLoopNodeLinks(t, "server", true, "tcp-server://"+addr)
	defer srv.close()
	cli := startLoopNodeLinks(t, "client", true, "tcp-client://"+addr)
	defer cli.close()
	introduce(t, srv, cli)
	ctx := context.Background()
	events, unsub := cli.app.Events().Subscribe(512)
	defer unsub()
	m, err := cli.app.Send(ctx, SendRequest{To: srv.app.Identity(ctx).Address, Content: strings.Repeat("x", 40_000), Method: MethodDirect})
	if err != nil {
		t.Fatal(err)
	}
	var maxDone, total int64
	steps := 0
	deadline := time.After(60 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.MessageID != m.ID {
				continue
			}
			if ev.Kind == EventMessageProgress {
				if ev.BytesDone < maxDone {
					t.Fatalf("progress went back: %d after %d", ev.BytesDone, maxDone)
				}
				maxDone, total = ev.BytesDone, ev.BytesTotal
				steps++
			}
			if ev.Kind == EventMessageState && ev.State == store.StateDelivered {
				if steps < 2 || total < 40_000 || maxDone != total {
					t.Fatalf("delivered after %d progress events, last %d of %d", steps, maxDone, total)
				}
				return
			}
		case <-deadline:
			t.Fatalf("not delivered; %d progress events, last %d of %d", steps, maxDone, total)
		}
	}
}
