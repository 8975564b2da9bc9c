package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/link"
)

func resourceInfo(r *link.Resource) map[string]any {
	h := r.Hash()
	return map[string]any{
		"original_hash": hx(h[:]), "total_segments": r.Segments(),
		"compressed": false, "has_metadata": false, "split": r.Segments() > 1,
	}
}

func (b *bridge) wireResourceSend(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	l, err := w.outLink(p)
	if err != nil {
		return nil, err
	}
	if p.str("metadata") != "" {
		return nil, errors.New("resource metadata is not implemented by the reticle bridge")
	}
	data, err := p.optHex("data")
	if err != nil {
		return nil, err
	}
	r, err := l.SendResource(data, link.ResourceOptions{})
	if err != nil {
		return nil, err
	}
	rid := randomHandle()
	w.mu.Lock()
	w.resources[rid] = r
	w.mu.Unlock()
	res := resourceInfo(r)
	res["resource_id"], res["size"] = rid, len(data)
	if _, ok := p["wait"]; ok && !p.bool("wait") {
		res["started"] = true
		return res, nil
	}
	select {
	case <-r.Done():
		st := r.Status()
		res["success"], res["status"], res["timed_out"] = st == link.ResourceComplete, int(st), false
	case <-time.After(msParam(p, "timeout_ms", 30000)):
		r.Cancel()
		res["success"], res["status"], res["timed_out"] = false, int(r.Status()), true
	}
	return res, nil
}

func (b *bridge) wireResourceCancel(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	rid := p.str("resource_id")
	w.mu.Lock()
	r, ok := w.resources[rid]
	w.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("unknown resource_id: %q", rid)
	}
	r.Cancel()
	return map[string]any{"cancelled": true, "status": int(r.Status())}, nil
}

var resourceStatusNames = map[int]string{
	0: "NONE", 1: "QUEUED", 2: "ADVERTISED", 3: "TRANSFERRING", 4: "AWAITING_PROOF",
	5: "ASSEMBLING", 6: "COMPLETE", 7: "FAILED", 8: "CORRUPT", 9: "REJECTED",
}

// resStatus returns an inbound resource's status (TRANSFERRING until its
// first part arrives). It locks the link: call it without w.mu held.
func resStatus(r *link.Resource) int {
	if r == nil {
		return int(link.ResourceTransferring)
	}
	return int(r.Status())
}

func (b *bridge) wireResourceReceiverStatus(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	wd, err := w.listener(p)
	if err != nil {
		return nil, err
	}
	// The link callbacks take w.mu under the link's lock, so the status is
	// read after w.mu is released.
	snapshot := func() (*inRecord, int, int, bool) {
		w.mu.Lock()
		if len(wd.inRes) == 0 {
			w.mu.Unlock()
			return nil, 0, 0, false
		}
		rec := wd.inRes[len(wd.inRes)-1]
		n, r, concluded := len(wd.inRes), rec.res, rec.concluded
		w.mu.Unlock()
		return rec, n, resStatus(r), concluded
	}
	var rec *inRecord
	var n, st int
	pollUntil(msParam(p, "timeout_ms", 0), func() bool {
		var concluded bool
		rec, n, st, concluded = snapshot()
		if rec == nil {
			return false
		}
		if st == int(link.ResourceComplete) {
			return concluded
		}
		return st >= int(link.ResourceFailed)
	})
	rec, n, st, _ = snapshot()
	if rec == nil {
		return map[string]any{"found": false, "resource_count": 0}, nil
	}
	w.mu.Lock()
	data := rec.data
	w.mu.Unlock()
	res := map[string]any{
		"found": true, "resource_count": n, "status": st, "status_name": resourceStatusNames[st],
		"corrupt": st == int(link.ResourceCorrupt), "compressed": rec.compressd,
		"has_metadata": false, "metadata": nil, "data": nil,
		// Not observable through pkg/rns/link: the HMU counters.
		"hmu_requests_sent": 0, "hashmap_updates_received": 0,
	}
	if data != nil {
		res["data"] = hx(data)
	}
	return res, nil
}
