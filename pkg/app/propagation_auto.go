package app

import (
	"context"
	"errors"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// DefaultSyncInterval is how often the client syncs with its propagation node when
// PropagationOptions.SyncInterval is 0.
const DefaultSyncInterval = time.Hour

// chooseAuto picks the best heard propagation node unless the owner pinned one: enabled, not the node
// this instance hosts, fewest hops, then most recently heard. It changes nothing when no node
// qualifies, so a node heard once stays chosen while it is the only one.
func (p *propagation) chooseAuto(ctx context.Context) {
	if p.pinned.Load() {
		return
	}
	nodes, err := p.a.st.ListPropagationNodes(ctx, 256) // newest first
	if err != nil {
		p.a.log.Warn("propagation node not chosen", "error", err)
		return
	}
	var own wire.Hash
	if s := p.hosted(); s != nil {
		own = s.Hash()
	}
	var best wire.Hash
	bestHops := -1
	for _, n := range nodes {
		h, err := wire.ParseHash(n.Hash)
		if err != nil || !n.Enabled || h == own {
			continue
		}
		if bestHops < 0 || n.Hops < bestHops {
			best, bestHops = h, n.Hops
		}
	}
	if bestHops < 0 {
		return
	}
	if cur, ok := p.a.r.PropagationNode(); ok && cur == best {
		return
	}
	p.a.r.SetPropagationNode(best)
	p.a.r.Wake()
	p.a.log.Info("propagation node chosen automatically", "node", best.String(), "hops", bestHops)
}

// syncLoop syncs with the chosen node every interval (plus or minus a tenth) until ctx ends.
func (p *propagation) syncLoop(ctx context.Context, interval time.Duration) {
	defer p.wg.Done()
	for {
		t := time.NewTimer(jittered(interval))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		h, ok := p.a.r.PropagationNode()
		if !ok {
			continue
		}
		// The sync outlives a change of the schedule; closing the client ends it.
		if err := p.client.Start(context.WithoutCancel(ctx), h); err != nil && !errors.Is(err, ErrSyncRunning) {
			p.a.log.Warn("scheduled propagation sync not started", "node", h.String(), "error", err)
		}
	}
}
