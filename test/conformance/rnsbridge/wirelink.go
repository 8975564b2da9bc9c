package main

import (
	"context"
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
)

// staleFactor is the reference's Link.STALE_FACTOR: stale time is the
// keepalive interval times this.
const staleFactor = 2

var (
	linkStatusNames = map[link.Status]string{
		link.StatusPending: "PENDING", link.StatusHandshake: "HANDSHAKE", link.StatusActive: "ACTIVE",
		link.StatusStale: "STALE", link.StatusClosed: "CLOSED",
	}
	linkReasonNames = map[link.Reason]string{
		link.ReasonTimeout: "TIMEOUT", link.ReasonInitiatorClosed: "INITIATOR_CLOSED",
		link.ReasonDestinationClosed: "DESTINATION_CLOSED",
	}
)

// outLink returns an outbound link opened by wire_link_open.
func (w *wireNode) outLink(p params) (*link.Link, error) {
	id, err := hashParam(p, "link_id")
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.outLinks[id]
	if !ok {
		return nil, fmt.Errorf("unknown link_id: %s", id)
	}
	return l, nil
}

// listener returns a destination registered by wire_listen.
func (w *wireNode) listener(p params) (*wireDest, error) {
	h, err := hashParam(p, "destination_hash")
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	wd, ok := w.dests[h]
	if !ok || !wd.listening {
		return nil, fmt.Errorf("no listener registered for destination_hash=%s", h)
	}
	return wd, nil
}

func linkStatusDict(l *link.Link) map[string]any {
	st, rs := l.Status(), l.CloseReason()
	ka := l.Keepalive().Seconds()
	res := map[string]any{
		"status": int(st), "status_name": linkStatusNames[st],
		"teardown_reason": nil, "teardown_reason_name": nil,
		"no_inbound_for_ms": nil, "last_keepalive_ago_ms": nil,
		"keepalive_s": ka, "stale_time_s": ka * staleFactor,
		"rtt": l.RTT().Seconds(), "mtu": l.MTU(), "mdu": l.MDU(), "mode": 1,
		"remote_identity_hash": nil, "remote_identified": false,
	}
	if rs != link.ReasonNone {
		res["teardown_reason"], res["teardown_reason_name"] = int(rs), linkReasonNames[rs]
	}
	if id := l.RemoteIdentity(); id != nil {
		h := id.Hash()
		res["remote_identity_hash"], res["remote_identified"] = hx(h[:]), true
	}
	return res
}

func (b *bridge) wireLinkOpen(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	dest, err := hashParam(p, "destination_hash")
	if err != nil {
		return nil, err
	}
	if _, _, ok := w.node.Transport().Recall(dest); !ok {
		return nil, fmt.Errorf("no identity known for %s; ensure an announce for this destination was received first", dest)
	}
	l, err := w.links.Open(dest, link.Callbacks{})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), msParam(p, "timeout_ms", 10000))
	defer cancel()
	if err := l.Wait(ctx); err != nil || l.Status() != link.StatusActive {
		_ = l.Close()
		return nil, fmt.Errorf("link to %s did not become active (status %s): %w", dest, l.Status(), err)
	}
	id := l.ID()
	w.mu.Lock()
	w.outLinks[id] = l
	w.mu.Unlock()
	return map[string]any{"link_id": hx(id[:])}, nil
}

func (b *bridge) wireLinkSend(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	l, err := w.outLink(p)
	if err != nil {
		return nil, err
	}
	data, err := p.optHex("data")
	if err != nil {
		return nil, err
	}
	if err := l.Send(data); err != nil {
		return nil, err
	}
	return map[string]any{"sent": true}, nil
}

// drain polls a listener's buffer until it holds something or timeout.
func (w *wireNode) drain(p params, def int, buf func() *[][]byte) []string {
	take := func() []string {
		w.mu.Lock()
		defer w.mu.Unlock()
		b := buf()
		out := make([]string, 0, len(*b))
		for _, x := range *b {
			out = append(out, hx(x))
		}
		*b = nil
		return out
	}
	out := []string{}
	pollUntil(msParam(p, "timeout_ms", def), func() bool {
		out = append(out, take()...)
		return len(out) > 0
	})
	return out
}

func (b *bridge) wireLinkPoll(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	wd, err := w.listener(p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"packets": w.drain(p, 5000, func() *[][]byte { return &wd.linkData })}, nil
}

func (b *bridge) wireOpportunisticPoll(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	wd, err := w.listener(p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"packets": w.drain(p, 5000, func() *[][]byte { return &wd.opportunistic })}, nil
}

func (b *bridge) wireResourcePoll(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	wd, err := w.listener(p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"resources": w.drain(p, 30000, func() *[][]byte { return &wd.resources })}, nil
}

func (b *bridge) wireLinkStatus(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	l, err := w.outLink(p)
	if err != nil {
		return nil, err
	}
	return linkStatusDict(l), nil
}

func (b *bridge) wireLinkMTU(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	l, err := w.outLink(p)
	if err != nil {
		return nil, err
	}
	st := l.Status()
	return map[string]any{"mtu": l.MTU(), "mdu": l.MDU(), "mode": 1, "status": int(st), "status_name": linkStatusNames[st]}, nil
}

func (b *bridge) wireLinkAwaitStatus(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	l, err := w.outLink(p)
	if err != nil {
		return nil, err
	}
	target := -1
	switch v := p["target_status"].(type) {
	case string:
		for s, n := range linkStatusNames {
			if n == v {
				target = int(s)
			}
		}
	case float64:
		target = int(v)
	}
	if target < 0 {
		return nil, fmt.Errorf("unknown target_status %v", p["target_status"])
	}
	reached := pollUntil(msParam(p, "timeout_ms", 15000), func() bool { return int(l.Status()) >= target })
	res := linkStatusDict(l)
	res["reached"] = reached
	return res, nil
}

func (b *bridge) wireLinkTeardown(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	l, err := w.outLink(p)
	if err != nil {
		return nil, err
	}
	if err := l.Close(); err != nil {
		return nil, err
	}
	return map[string]any{"torn_down": true}, nil
}

func (b *bridge) wireLinkIdentify(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	l, err := w.outLink(p)
	if err != nil {
		return nil, err
	}
	key, err := p.hex("private_key")
	if err != nil {
		return nil, err
	}
	id, err := identity.FromPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := l.Identify(id); err != nil {
		return nil, err
	}
	h := id.Hash()
	return map[string]any{"identified": true, "identity_hash": hx(h[:])}, nil
}

func (b *bridge) wireListenerLinkStatus(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	wd, err := w.listener(p)
	if err != nil {
		return nil, err
	}
	var links []*link.Link
	pollUntil(msParam(p, "timeout_ms", 0), func() bool {
		w.mu.Lock()
		links = append([]*link.Link(nil), wd.inbound...)
		w.mu.Unlock()
		return len(links) > 0
	})
	if len(links) == 0 {
		return map[string]any{"found": false, "link_count": 0}, nil
	}
	res := linkStatusDict(links[len(links)-1])
	res["found"], res["link_count"] = true, len(links)
	return res, nil
}
