package transport

import (
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
)

// RunJobs runs the periodic work once: announce retransmission, announce
// queue draining, receipt timeouts, table culling and the release of held
// announces. Start calls it every 250 ms; tests with a fake clock call it
// directly.
func (t *Transport) RunJobs() {
	type release struct {
		i   iface.Interface
		raw []byte
	}
	var releases []release
	var fx effects
	t.mu.Lock()
	now := t.clock.Now()
	if now.Sub(t.lastAnnounces) >= announcesCheckInterval {
		t.lastAnnounces = now
		t.announceJobs(now)
	}
	t.drainAnnounceQueues(now)
	if now.Sub(t.lastReceipts) >= receiptsCheckInterval {
		t.lastReceipts = now
		t.receiptJobs(now, &fx)
	}
	if now.Sub(t.lastCull) >= tablesCullInterval {
		t.lastCull = now
		t.cull(now)
	}
	if now.Sub(t.lastIfJobs) >= interfaceJobsInterval {
		t.lastIfJobs = now
		for _, st := range t.order {
			st.shouldIngressLimit(&t.ic, now)
			if raw, ok := st.releaseHeld(&t.ic, now); ok {
				releases = append(releases, release{st.i, raw})
			}
		}
	}
	t.mu.Unlock()
	fx.run()
	for _, r := range releases {
		t.inbound(r.i, r.raw, true)
	}
}

// cull expires paths, reverse entries, path request gates and discovery
// requests. Called with t.mu held.
func (t *Transport) cull(now time.Time) {
	for h, pe := range t.paths {
		if now.After(pe.expires) {
			delete(t.paths, h)
		}
	}
	for h, re := range t.reverse {
		if now.Sub(re.at) > reverseTimeout {
			delete(t.reverse, h)
		}
	}
	for h, at := range t.pathRequests {
		if now.Sub(at) > pathRequestGateTimeout {
			delete(t.pathRequests, h)
		}
	}
	for h, d := range t.discoveryPRs {
		if now.After(d.timeout) {
			delete(t.discoveryPRs, h)
		}
	}
	t.cullLinks(now)
	for h, re := range t.rates {
		if _, ok := t.paths[h]; !ok && now.Sub(re.last) > t.rate.Target+t.rate.Penalty {
			delete(t.rates, h)
		}
	}
}
