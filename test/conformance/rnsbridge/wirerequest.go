package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

func (b *bridge) wireRegisterRequestHandler(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	dh, err := hashParam(p, "destination_hash")
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	wd, ok := w.dests[dh]
	w.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no registered destination with hash %s; call wire_listen first", dh)
	}
	if p.has("response_file") {
		return nil, errors.New("response_file is not implemented by the reticle bridge")
	}
	path := p.str("path")
	resp, err := p.optHex("response")
	if err != nil {
		return nil, err
	}
	respNone := p.bool("response_none")
	var allow func(*identity.Identity) bool
	switch a := p.str("allow"); a {
	case "", "all":
	case "none":
		allow = func(*identity.Identity) bool { return false }
	case "list":
		allowed := map[wire.Hash]bool{}
		for _, s := range p.list("allowed_identity_hashes") {
			h, err := wire.ParseHash(s)
			if err != nil {
				return nil, fmt.Errorf("allowed_identity_hashes: %w", err)
			}
			allowed[h] = true
		}
		allow = func(id *identity.Identity) bool { return id != nil && allowed[id.Hash()] }
	default:
		return nil, fmt.Errorf("unsupported allow: %q (use all, list or none)", a)
	}
	key := dh.String() + "|" + path
	h := link.Handler{Path: path, Allow: allow, Handle: func(req *link.Request) (msgpack.Value, bool) {
		data, _ := req.Data.AsBytes()
		e := map[string]any{
			"data": hx(data), "request_id": hx(req.ID[:]), "link_id": nil,
			"remote_identity_hash": nil, "requested_at": float64(req.RequestedAt.UnixNano()) / 1e9,
		}
		if req.Link != nil {
			id := req.Link.ID()
			e["link_id"] = hx(id[:])
		}
		if req.Remote != nil {
			rh := req.Remote.Hash()
			e["remote_identity_hash"] = hx(rh[:])
		}
		w.mu.Lock()
		w.reqLog[key] = append(w.reqLog[key], e)
		w.mu.Unlock()
		if respNone {
			return msgpack.Nil(), false
		}
		return msgpack.Bin(resp), true
	}}
	w.mu.Lock()
	wd.handlers[path] = h
	if _, ok := w.reqLog[key]; !ok {
		w.reqLog[key] = nil
	}
	w.mu.Unlock()
	if wd.listening {
		// Handlers are fixed per Listen: re-listen with the new set. Links
		// accepted before keep the handlers they were accepted with.
		w.links.Unlisten(wd.d)
		if err := w.links.Listen(wd.d, w.listenConfig(wd)); err != nil {
			return nil, err
		}
	}
	return map[string]any{"registered": true}, nil
}

func (b *bridge) wireGetRequestLog(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	dh, err := hashParam(p, "destination_hash")
	if err != nil {
		return nil, err
	}
	key := dh.String() + "|" + p.str("path")
	w.mu.Lock()
	entries := append([]map[string]any{}, w.reqLog[key]...)
	w.mu.Unlock()
	return map[string]any{"count": len(entries), "entries": entries}, nil
}

func (b *bridge) wireLinkRequest(p params) (map[string]any, error) {
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
	v := msgpack.Nil()
	if len(data) > 0 {
		v = msgpack.Bin(data)
	}
	timeout := msParam(p, "timeout_ms", 10000)
	start := time.Now()
	rr, err := l.Request(p.str("path"), v, link.RequestOptions{Timeout: timeout})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+500*time.Millisecond)
	defer cancel()
	resp, err := rr.Wait(ctx)
	switch {
	case err == nil:
		res := map[string]any{"status": "ready", "response": nil, "response_metadata": nil,
			"response_time_s": time.Since(start).Seconds()}
		if b, ok := resp.AsBytes(); ok {
			res["response"] = hx(b)
		}
		return res, nil
	case errors.Is(err, context.DeadlineExceeded):
		return map[string]any{"status": "timeout", "response": nil, "response_metadata": nil}, nil
	default:
		return map[string]any{"status": "failed", "response": nil, "response_metadata": nil, "error": err.Error()}, nil
	}
}

func (b *bridge) wireLinkRequestLarge(p params) (map[string]any, error) {
	if !p.has("timeout_ms") {
		p["timeout_ms"] = float64(30000)
	}
	return b.wireLinkRequest(p)
}

func (b *bridge) wireSendOpportunistic(p params) (map[string]any, error) {
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
	data, err := p.optHex("data")
	if err != nil {
		return nil, err
	}
	rc, err := w.node.Send(dest, data, transport.SendOptions{})
	if err != nil || rc == nil {
		return map[string]any{"sent": false, "delivered": false, "status": "send_failed"}, nil
	}
	select {
	case <-rc.Done():
	case <-time.After(msParam(p, "timeout_ms", 5000)):
	}
	if rc.Status() == transport.ReceiptDelivered {
		return map[string]any{"sent": true, "delivered": true, "status": "delivered"}, nil
	}
	return map[string]any{"sent": true, "delivered": false, "status": "timeout"}, nil
}

func (b *bridge) wireSendLinkData(p params) (map[string]any, error) {
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
	if p.has("create_receipt") && !p.bool("create_receipt") {
		if err := l.Send(data); err != nil {
			return map[string]any{"sent": false, "receipt_id": nil}, nil
		}
		return map[string]any{"sent": true, "receipt_id": nil}, nil
	}
	r, err := l.SendWithReceipt(data, 0)
	if err != nil {
		return map[string]any{"sent": false, "receipt_id": nil}, nil
	}
	rid := randomHandle()
	w.mu.Lock()
	w.receipts[rid] = r
	w.mu.Unlock()
	return map[string]any{"sent": true, "receipt_id": rid}, nil
}

// Reference PacketReceipt states.
const (
	receiptFailed    = 0x00
	receiptSent      = 0x01
	receiptDelivered = 0x02
)

var receiptNames = map[int]string{receiptFailed: "FAILED", receiptSent: "SENT", receiptDelivered: "DELIVERED", 0xFF: "CULLED"}

func (b *bridge) wirePacketReceiptStatus(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	rid := p.str("receipt_id")
	w.mu.Lock()
	r, ok := w.receipts[rid]
	w.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("unknown receipt_id: %q", rid)
	}
	select {
	case <-r.Done():
	case <-time.After(msParam(p, "timeout_ms", 0)):
	}
	st := receiptSent
	select {
	case <-r.Done():
		st = receiptFailed
		if r.Delivered() {
			st = receiptDelivered
		}
	default:
	}
	return map[string]any{"status": st, "status_name": receiptNames[st], "delivered": st == receiptDelivered, "proved": st == receiptDelivered}, nil
}

// Reference Destination.PROVE_* values.
var proveValues = map[string]int{"none": 0x21, "app": 0x22, "all": 0x23}

// wireSetProofStrategy changes a destination's proof strategy. A
// transport.DestinationConfig is fixed at registration, so the destination
// is registered again (same identity and name, so the same hash) and a
// listener listens again; open inbound links follow SetProveAll.
func (b *bridge) wireSetProofStrategy(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	dh, err := hashParam(p, "destination_hash")
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(p.str("strategy"))
	proof, ok := map[string]transport.ProofStrategy{"none": transport.ProveNone, "app": transport.ProveApp, "all": transport.ProveAll}[name]
	if !ok {
		return nil, fmt.Errorf("strategy must be all, app or none (got %q)", name)
	}
	w.mu.Lock()
	wd, ok := w.dests[dh]
	w.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no registered destination with hash %s", dh)
	}
	old := wd.d
	w.node.Transport().Deregister(old)
	if err := w.register(wd, proof); err != nil {
		return nil, err
	}
	w.mu.Lock()
	wd.proveAll = proof == transport.ProveAll
	inbound := append([]*link.Link(nil), wd.inbound...)
	w.mu.Unlock()
	if wd.listening {
		w.links.Unlisten(old)
		if err := w.links.Listen(wd.d, w.listenConfig(wd)); err != nil {
			return nil, err
		}
	}
	for _, l := range inbound {
		l.SetProveAll(proof == transport.ProveAll)
	}
	return map[string]any{"strategy": name, "proof_strategy": proveValues[name]}, nil
}
