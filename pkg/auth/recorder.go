package auth

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// Recorder batching bounds.
const (
	recorderQueue = 4096 // attempts waiting for the writer; beyond this they are counted as dropped
	recorderBatch = 256  // attempts written per transaction at most
)

// recorder writes the attempt log. Before Start and after Close it writes each attempt synchronously;
// while running, one goroutine writes them in batches, so a flood costs one transaction per batch
// instead of one per request.
type recorder struct {
	st   *store.Store
	keep int
	log  *slog.Logger

	mu      sync.RWMutex
	running bool
	ch      chan recItem
	stop    chan struct{}
	done    chan struct{}
	dropped atomic.Uint64
}

// recItem is an attempt to write, or (flush set) a marker closed once everything before it is written.
type recItem struct {
	a     store.LoginAttempt
	flush chan struct{}
}

func (r *recorder) start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return
	}
	r.running = true
	r.ch = make(chan recItem, recorderQueue)
	r.stop = make(chan struct{})
	r.done = make(chan struct{})
	go r.loop(context.WithoutCancel(ctx), r.ch, r.stop, r.done)
}

func (r *recorder) close() {
	r.mu.Lock()
	if !r.running {
		r.mu.Unlock()
		return
	}
	r.running = false
	close(r.stop)
	done := r.done
	r.mu.Unlock()
	<-done
	if n := r.dropped.Swap(0); n > 0 {
		r.log.Warn("attempt log dropped records under load", "dropped", n)
	}
}

// add queues (or, when not running, writes) one attempt.
func (r *recorder) add(ctx context.Context, a store.LoginAttempt) {
	r.mu.RLock()
	if r.running {
		select {
		case r.ch <- recItem{a: a}:
		default:
			r.dropped.Add(1)
		}
		r.mu.RUnlock()
		return
	}
	r.mu.RUnlock()
	r.write(ctx, []store.LoginAttempt{a})
}

// flush waits until every attempt queued so far is written.
func (r *recorder) flush(ctx context.Context) {
	r.mu.RLock()
	if !r.running {
		r.mu.RUnlock()
		return
	}
	mark := make(chan struct{})
	select {
	case r.ch <- recItem{flush: mark}:
	case <-ctx.Done():
		r.mu.RUnlock()
		return
	}
	r.mu.RUnlock()
	select {
	case <-mark:
	case <-ctx.Done():
	}
}

func (r *recorder) loop(ctx context.Context, ch chan recItem, stop, done chan struct{}) {
	defer close(done)
	batch := make([]store.LoginAttempt, 0, recorderBatch)
	var marks []chan struct{}
	take := func(it recItem) {
		if it.flush != nil {
			marks = append(marks, it.flush)
		} else {
			batch = append(batch, it.a)
		}
	}
	commit := func() {
		r.write(ctx, batch)
		batch = batch[:0]
		for _, m := range marks {
			close(m)
		}
		marks = marks[:0]
	}
	for {
		select {
		case it := <-ch:
			take(it)
		drain:
			for len(batch) < recorderBatch {
				select {
				case it := <-ch:
					take(it)
				default:
					break drain
				}
			}
			commit()
		case <-stop:
			// Senders hold the read lock while sending and running is now false, so nothing new arrives.
			for {
				select {
				case it := <-ch:
					take(it)
					if len(batch) >= recorderBatch {
						commit()
					}
				default:
					commit()
					return
				}
			}
		}
	}
}

func (r *recorder) write(ctx context.Context, as []store.LoginAttempt) {
	if len(as) == 0 {
		return
	}
	if err := r.st.AddLoginAttempts(context.WithoutCancel(ctx), as, r.keep); err != nil {
		r.log.Warn("could not record login attempts", "err", err, "count", len(as))
	}
}
