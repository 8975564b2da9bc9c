package app

import (
	"sync"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// progressSteps is how many progress events one resource send publishes at most (one per percent),
// so a large transfer cannot flood the event stream.
const progressSteps = 100

// maxTracked bounds the sends whose last published step is remembered.
const maxTracked = 1024

// progress publishes message.progress events for messages sent as resources, at most one per step.
type progress struct {
	events *Broker
	mu     sync.Mutex
	last   map[wire.FullHash]int64
}

func newProgress(events *Broker) *progress {
	return &progress{events: events, last: make(map[wire.FullHash]int64)}
}

// report is the router's Progress hook.
func (p *progress) report(id wire.FullHash, done, total int64) {
	if total <= 0 {
		return
	}
	done = min(max(done, 0), total)
	step := done * progressSteps / total
	p.mu.Lock()
	prev, seen := p.last[id]
	if seen && step <= prev {
		p.mu.Unlock()
		return
	}
	if step >= progressSteps {
		delete(p.last, id)
	} else {
		if !seen && len(p.last) >= maxTracked {
			clear(p.last)
		}
		p.last[id] = step
	}
	p.mu.Unlock()
	p.events.Publish(Event{Kind: EventMessageProgress, MessageID: id.String(), BytesDone: done, BytesTotal: total})
}
