package app

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// DefaultAnnounceInterval is how often the delivery destination (and a hosted propagation node) is
// announced again besides at start and on each interface coming up.
const DefaultAnnounceInterval = 6 * time.Hour

// announceSettle is how long the announcer waits after an interface came up before announcing, so that
// a burst of interfaces (or accepted clients) coming up gives one announce, and a fresh TCP link has its
// first frames through.
const announceSettle = 500 * time.Millisecond

// DefaultDisplayName is the name announced until the owner sets one: "Reticle" and the first four hex
// digits of the address, so two fresh nodes are told apart.
func DefaultDisplayName(addr wire.Hash) string { return "Reticle " + addr.String()[:4] }

// InterfaceEvents is what the announcer needs of the node; *rns.Node implements it.
type InterfaceEvents interface {
	OnInterfaceEvent(f func(rns.InterfaceEvent)) (remove func())
}

// announcer announces on interface-up events and on an interval with jitter.
type announcer struct {
	a      *App
	kick   chan struct{}
	every  chan time.Duration // a new interval from the settings
	remove func()
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startAnnouncer starts the announce loop. Called from Start with a.mu held.
func (a *App) startAnnouncer(ctx context.Context) {
	an := &announcer{a: a, kick: make(chan struct{}, 1), every: make(chan time.Duration, 1)}
	if a.ifEvents != nil {
		an.remove = a.ifEvents.OnInterfaceEvent(func(ev rns.InterfaceEvent) {
			a.events.Publish(Event{Kind: EventInterface, Interface: ev.Name, Sub: ev.Sub, State: ev.State.String()})
			if ev.State != iface.StateUp {
				return
			}
			select {
			case an.kick <- struct{}{}:
			default:
			}
		})
	}
	ctx, an.cancel = context.WithCancel(ctx)
	an.wg.Add(1)
	a.settingsMu.Lock()
	every := a.announceEvery
	a.settingsMu.Unlock()
	go an.loop(ctx, every)
	a.ann = an
}

// setInterval makes the loop use a new interval from now on (0: off); the newest value wins.
func (an *announcer) setInterval(d time.Duration) {
	if an == nil {
		return // not started: Start reads the interval
	}
	for {
		select {
		case an.every <- d:
			return
		default:
		}
		select {
		case <-an.every: // replace a value the loop has not taken yet
		default:
		}
	}
}

func (an *announcer) stop() {
	if an == nil {
		return
	}
	if an.remove != nil {
		an.remove()
	}
	an.cancel()
	an.wg.Wait()
}

// jittered is d plus or minus up to a tenth of it.
func jittered(d time.Duration) time.Duration {
	tenth := int64(d / 10)
	if tenth <= 0 {
		return d
	}
	return d - time.Duration(tenth) + time.Duration(rand.Int64N(2*tenth+1)) //nolint:gosec // G404: timing jitter, not a secret
}

func (an *announcer) loop(ctx context.Context, every time.Duration) {
	defer an.wg.Done()
	var tick <-chan time.Time
	var t *time.Timer
	arm := func() {
		if t != nil {
			t.Stop()
			t, tick = nil, nil
		}
		if every > 0 {
			t = time.NewTimer(jittered(every))
			tick = t.C
		}
	}
	arm()
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case every = <-an.every:
			arm()
		case <-an.kick:
			settle := time.NewTimer(announceSettle)
			select {
			case <-ctx.Done():
				settle.Stop()
				return
			case <-settle.C:
			}
			an.a.announceAll("interface_up")
		case <-tick:
			an.a.announceAll("interval")
			t.Reset(jittered(every))
		}
	}
}

// announceAll announces the delivery destination and the hosted propagation node, if any; failures
// (no interface up yet) are logged, the next interface-up event tries again.
func (a *App) announceAll(reason string) {
	if err := a.r.Announce(); err != nil {
		a.log.Info("lxmf announce not sent", "reason", reason, "error", err)
	} else {
		a.log.Debug("lxmf announced", "reason", reason)
	}
	if _, hosted := a.PropagationServerAddress(); hosted {
		if err := a.AnnouncePropagation(); err != nil {
			a.log.Info("propagation node announce not sent", "reason", reason, "error", err)
		}
	}
	if extra := a.extraAnnounce.Load(); extra != nil {
		(*extra)(reason)
	}
}

// alsoAnnounce sets (nil: clears) what announceAll announces besides LXMF.
func (a *App) alsoAnnounce(f func(reason string)) {
	if f == nil {
		a.extraAnnounce.Store(nil)
		return
	}
	a.extraAnnounce.Store(&f)
}
