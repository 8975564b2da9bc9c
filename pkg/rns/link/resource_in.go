package link

import (
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// inSegment is the receiving state of one segment (Resource.accept).
type inSegment struct {
	adv            *Advertisement
	sdu            int
	totalParts     int
	parts          [][]byte
	hashmap        [][mapHashLen]byte
	known          []bool
	height         int
	received       int
	outstanding    int
	consecutive    int
	window         int
	windowMax      int
	windowMin      int
	waitingHMU     bool
	lastActivity   time.Time
	retries        int
	reqSent        time.Time
	reqSentBytes   int
	reqAnswered    bool
	earlyRetried   bool
	rtt            time.Duration
	rxd, rxdAtReq  int64
	reqRespRate    float64
	reqDataRate    float64
	fastRounds     int
	verySlowRounds int
	timeoutFactor  int
}

// resource kinds on the receiving side.
const (
	kindPlain = iota
	kindRequest
	kindResponse
)

// reject refuses an advertised resource (Resource.reject).
func (l *Link) rejectLocked(a *Advertisement) {
	_, _ = l.sendLocked(wire.Data, wire.ContextResourceRCL, a.Hash[:], false, false)
}

// advertisementLocked handles RESOURCE_ADV: size caps first, then the
// request/response/application decision, then the first part request.
// Called with l.mu held.
func (l *Link) advertisementLocked(pt []byte, now time.Time, fx *effects) {
	a, err := ParseAdvertisement(pt)
	if err != nil {
		l.m.log.Debug("invalid resource advertisement", "link", l.id.String(), "error", err)
		return
	}
	for _, r := range l.incoming {
		if r.in != nil && r.in.adv.Hash == a.Hash {
			return // already receiving (a re-sent advertisement)
		}
	}
	limit := l.m.maxResource.Load()
	if a.SegmentIndex > 1 {
		r := l.inSegs[a.OriginalHash]
		if r == nil || r.in != nil || a.SegmentIndex != r.segIndex+1 || a.TotalSegments != r.segs || a.DataSize != r.total {
			l.rejectLocked(a)
			return
		}
		if err := r.startSegmentLocked(a, now, fx); err != nil {
			l.rejectLocked(a)
			r.failLocked(err, fx)
		}
		return
	}
	kind := kindPlain
	var rr *RequestReceipt
	switch {
	case a.IsRequest():
		ln := l.listenerFor()
		if ln == nil || len(ln.handlers) == 0 {
			l.rejectLocked(a)
			return
		}
		if max := ln.cfg.MaxRequestSize; max > 0 && a.DataSize > int64(max) {
			l.rejectLocked(a)
			return
		}
		kind = kindRequest
	case a.IsResponse():
		var id wire.Hash
		copy(id[:], a.RequestID)
		if rr = l.pending[id]; rr == nil {
			return
		}
		if a.DataSize > rr.maxSize {
			l.rejectLocked(a)
			delete(l.pending, id)
			rr.conclude(msgpack.Nil(), fmt.Errorf("response of %d bytes: %w", a.DataSize, ErrTooLarge), fx)
			return
		}
		kind = kindResponse
	}
	if a.DataSize > limit {
		l.m.log.Info("refused oversized inbound resource", "link", l.id.String(), "size", a.DataSize, "limit", limit)
		l.rejectLocked(a)
		if rr != nil {
			delete(l.pending, wire.Hash(a.RequestID))
			rr.conclude(msgpack.Nil(), fmt.Errorf("response of %d bytes: %w", a.DataSize, ErrTooLarge), fx)
		}
		return
	}
	if len(l.incoming) >= maxIncomingPerLink {
		l.m.log.Debug("refused inbound resource: too many at once", "link", l.id.String())
		l.rejectLocked(a)
		if rr != nil {
			delete(l.pending, wire.Hash(a.RequestID))
			rr.conclude(msgpack.Nil(), fmt.Errorf("response: %w", ErrRejected), fx)
		}
		return
	}
	if kind == kindPlain {
		cb := l.cb.ResourceAdvertised
		if cb == nil || !cb(l, a) {
			l.rejectLocked(a)
			return
		}
	}
	r := &Resource{
		l: l, total: a.DataSize, segs: a.TotalSegments, origHash: a.OriginalHash, reqID: a.RequestID,
		response: kind == kindResponse, done: make(chan struct{}), segIndex: 0,
	}
	switch kind {
	case kindPlain:
		cbDone, cbProg := l.cb.ResourceConcluded, l.cb.ResourceProgress
		if cbDone != nil {
			r.concluded = func(r *Resource) { cbDone(l, r) }
		}
		if cbProg != nil {
			r.progressCB = func(r *Resource) { cbProg(l, r) }
		}
	case kindResponse:
		rr.mu.Lock()
		rr.receiving = true
		rr.mu.Unlock()
		if cb := rr.progress; cb != nil {
			r.progressCB = func(r *Resource) { cb(r.Progress(), r.total) }
		}
	}
	if err := r.startSegmentLocked(a, now, fx); err != nil {
		l.rejectLocked(a)
		return
	}
	l.incoming = append(l.incoming, r)
	if r.segs > 1 {
		l.inSegs[r.origHash] = r
	}
}

// startSegmentLocked sets up receiving one segment and requests its first
// parts. Called with l.mu held.
func (r *Resource) startSegmentLocked(a *Advertisement, now time.Time, fx *effects) error {
	l := r.l
	sdu := l.sdu()
	n := int((a.TransferSize + int64(sdu) - 1) / int64(sdu))
	if n == 0 || len(a.Hashmap)/mapHashLen > n {
		return fmt.Errorf("resource of %d parts: %w", n, ErrAdvertisement)
	}
	win := windowInit
	if l.lastWin > 0 {
		win = l.lastWin
	}
	r.in = &inSegment{
		adv: a, sdu: sdu, totalParts: n, parts: make([][]byte, n), hashmap: make([][mapHashLen]byte, n),
		known: make([]bool, n), consecutive: -1, window: win, windowMax: windowMaxSlow, windowMin: windowMin,
		lastActivity: now, retries: maxRetries, rtt: l.rtt, timeoutFactor: partTimeoutFactor,
	}
	r.segIndex = a.SegmentIndex
	r.status = ResourceTransferring
	r.hashmapUpdateLocked(0, a.Hashmap, now, fx)
	return nil
}

// hashmapUpdateLocked stores map hashes of hashmap segment seg
// (Resource.hashmap_update). Called with l.mu held.
func (r *Resource) hashmapUpdateLocked(seg int, hm []byte, now time.Time, fx *effects) {
	in := r.in
	k := len(hm) / mapHashLen
	if k < 1 {
		r.cancelLocked(fx)
		return
	}
	for i := range k {
		idx := seg*hashmapMaxLen + i
		if idx < 0 || idx >= in.totalParts {
			break
		}
		if !in.known[idx] {
			in.known[idx] = true
			in.height++
		}
		copy(in.hashmap[idx][:], hm[i*mapHashLen:])
	}
	in.waitingHMU = false
	r.requestNextLocked(now, fx)
}

// hashmapUpdateLocked handles RESOURCE_HMU. Called with l.mu held.
func (l *Link) hashmapUpdateLocked(pt []byte, now time.Time, fx *effects) {
	if len(pt) <= wire.FullHashLen {
		return
	}
	for _, r := range l.incoming {
		in := r.in
		if in == nil || !bytes.Equal(in.adv.Hash[:], pt[:wire.FullHashLen]) || !in.waitingHMU {
			continue
		}
		v, err := msgpack.DecodeValue(pt[wire.FullHashLen:], msgpack.Limits{MaxItems: 3})
		if err != nil || v.Kind() != msgpack.KindArray || v.Len() != 2 {
			return
		}
		seg, ok1 := v.Index(0).AsInt()
		hm, ok2 := v.Index(1).AsBin()
		if !ok1 || !ok2 || seg < 0 || seg > int64(in.totalParts) {
			return
		}
		in.lastActivity, in.retries = now, maxRetries
		r.hashmapUpdateLocked(int(seg), hm, now, fx)
		return
	}
}

// requestNextLocked asks for the next window of parts, flagging an
// exhausted hashmap (Resource.request_next). Called with l.mu held.
func (r *Resource) requestNextLocked(now time.Time, fx *effects) {
	in := r.in
	if in == nil || in.waitingHMU {
		return
	}
	in.outstanding = 0
	exhausted := false
	var req []byte
	i := 0
	for pn := in.consecutive + 1; pn < in.totalParts && pn < in.consecutive+1+in.window; pn++ {
		if in.parts[pn] == nil {
			if in.known[pn] {
				req = append(req, in.hashmap[pn][:]...)
				in.outstanding++
				i++
			} else {
				exhausted = true
			}
		}
		if i >= in.window || exhausted {
			break
		}
	}
	msg := make([]byte, 0, 1+mapHashLen+wire.FullHashLen+len(req))
	if exhausted {
		msg = append(msg, 0xFF)
		msg = append(msg, in.hashmap[in.height-1][:]...)
		in.waitingHMU = true
	} else {
		msg = append(msg, 0x00)
	}
	msg = append(msg, in.adv.Hash[:]...)
	msg = append(msg, req...)
	p, err := r.l.sendLocked(wire.Data, wire.ContextResourceReq, msg, false, false)
	if err != nil {
		r.failLocked(fmt.Errorf("resource request: %w", err), fx)
		return
	}
	in.lastActivity, in.reqSent = now, now
	in.reqSentBytes = p.Size()
	in.rxdAtReq = in.rxd
	in.reqAnswered = false
}

// resourcePartLocked offers a received part to every incoming resource
// (Resource.receive_part). Called with l.mu held.
func (l *Link) resourcePartLocked(data []byte, now time.Time, fx *effects) {
	for _, r := range append([]*Resource(nil), l.incoming...) {
		if r.in != nil {
			r.receivePartLocked(data, now, fx)
		}
	}
}

func (r *Resource) receivePartLocked(data []byte, now time.Time, fx *effects) {
	in := r.in
	mh := mapHash(data, in.adv.RandomHash)
	matched := false
	end := min(in.consecutive+1+in.window, in.totalParts)
	for i := in.consecutive + 1; i < end; i++ {
		if in.known[i] && in.parts[i] == nil && in.hashmap[i] == mh {
			in.parts[i] = data
			in.rxd += int64(len(data))
			in.received++
			in.outstanding--
			matched = true
		}
	}
	if !matched {
		return
	}
	in.lastActivity, in.retries = now, maxRetries
	if !in.reqAnswered {
		in.reqAnswered = true
		rtt := now.Sub(in.reqSent)
		in.timeoutFactor = partTimeoutAfterRTT
		switch {
		case in.rtt == 0:
			in.rtt = r.l.rtt
		case rtt < in.rtt:
			in.rtt = max(in.rtt-in.rtt/20, rtt)
		case rtt > in.rtt:
			in.rtt = min(in.rtt+in.rtt/20, rtt)
		}
		if rtt > 0 {
			in.reqRespRate = float64(len(data)+wire.HeaderMinSize+in.reqSentBytes) / rtt.Seconds()
			if in.reqRespRate > rateFast && in.fastRounds < fastRateThreshold {
				in.fastRounds++
				if in.fastRounds == fastRateThreshold {
					in.windowMax = windowMaxFast
				}
			}
		}
	}
	for in.consecutive+1 < in.totalParts && in.parts[in.consecutive+1] != nil {
		in.consecutive++
	}
	r.setProgress(r.inProgress(), fx)
	if in.received == in.totalParts {
		r.assembleLocked(now, fx)
		return
	}
	if in.outstanding > 0 {
		return
	}
	if in.window < in.windowMax {
		in.window++
		if in.window-in.windowMin > windowFlexibility-1 {
			in.windowMin++
		}
	}
	if rtt := now.Sub(in.reqSent); rtt > 0 {
		in.reqDataRate = float64(in.rxd-in.rxdAtReq) / rtt.Seconds()
		if in.reqDataRate > rateFast && in.fastRounds < fastRateThreshold {
			in.fastRounds++
			if in.fastRounds == fastRateThreshold {
				in.windowMax = windowMaxFast
			}
		}
		if in.fastRounds == 0 && in.reqDataRate < rateVerySlow && in.verySlowRounds < verySlowRateThreshold {
			in.verySlowRounds++
			if in.verySlowRounds == verySlowRateThreshold {
				in.windowMax = windowMaxVerySlow
			}
		}
	}
	r.requestNextLocked(now, fx)
}

func (r *Resource) inProgress() float64 {
	in := r.in
	if r.total == 0 || in == nil {
		return 0
	}
	segSize := float64(min(int64(MaxSegmentSize), r.total-int64(r.segIndex-1)*MaxSegmentSize))
	done := float64(int64(r.segIndex-1)*MaxSegmentSize) + segSize*float64(in.received)/float64(in.totalParts)
	return done / float64(r.total)
}

// assembleLocked decrypts, decompresses and checks a complete segment,
// proves it (the last segment of a plain resource only after
// ListenConfig.ConfirmResource agreed) and, after the last segment,
// concludes the resource (Resource.assemble, Resource.prove). Called with
// l.mu held.
func (r *Resource) assembleLocked(now time.Time, fx *effects) {
	l, in := r.l, r.in
	r.status = ResourceAssembling
	l.lastWin = in.window
	stream := bytes.Join(in.parts, nil)
	pt, err := l.token.Decrypt(stream)
	if err != nil || len(pt) < randomLen {
		r.rejectFail(ErrCorrupt, fx)
		return
	}
	pt = pt[randomLen:]
	room := l.m.maxResource.Load() - int64(len(r.data))
	if in.adv.Compressed() {
		limit := min(room, maxDecompressed)
		out, err := io.ReadAll(io.LimitReader(bzip2.NewReader(bytes.NewReader(pt)), limit+1))
		if err != nil {
			r.rejectFail(ErrCorrupt, fx)
			return
		}
		if int64(len(out)) > limit {
			r.rejectFail(ErrTooLarge, fx)
			return
		}
		pt = out
	}
	if int64(len(pt)) > room {
		r.rejectFail(ErrTooLarge, fx)
		return
	}
	sum, proofHash := hashAndProof(pt, in.adv.RandomHash)
	if sum != in.adv.Hash {
		r.rejectFail(ErrCorrupt, fx)
		return
	}
	proof := append(append([]byte(nil), in.adv.Hash[:]...), proofHash[:]...)
	// The last segment of a plain resource is proven only once the
	// receiver's ConfirmResource hook has taken the whole resource.
	confirm := l.confirmRes
	if r.reqID != nil || r.segIndex < r.segs {
		confirm = nil
	}
	if confirm == nil {
		l.sendResourceProofLocked(proof)
	}
	data := pt
	if in.adv.HasMetadata() && in.adv.SegmentIndex == 1 {
		if len(pt) < 3 {
			r.rejectFail(ErrCorrupt, fx)
			return
		}
		ms := int(pt[0])<<16 | int(pt[1])<<8 | int(pt[2])
		if 3+ms > len(pt) {
			r.rejectFail(ErrCorrupt, fx)
			return
		}
		r.metadata = append([]byte(nil), pt[3:3+ms]...)
		r.hasMeta = true
		data = pt[3+ms:]
	}
	if r.data == nil {
		r.data = data
	} else {
		r.data = append(r.data, data...)
	}
	r.in = nil
	if r.segIndex < r.segs {
		r.status = ResourceTransferring
		return
	}
	r.status = ResourceComplete
	r.setProgress(1, fx)
	if confirm != nil {
		// Before finishLocked, so the hook runs before ResourceConcluded.
		fx.add(func() { l.proveResourceIf(confirm(l, r), proof) })
	}
	r.finishLocked(fx)
	switch {
	case r.reqID != nil && r.response && r.hasMeta:
		var id wire.Hash
		copy(id[:], r.reqID)
		l.concludeFileLocked(id, r.data, r.metadata, fx)
	case r.reqID != nil && r.response:
		if id, resp, err := l.parseResponse(r.data); err == nil {
			l.concludeRequestLocked(id, resp, len(r.data), fx)
		}
	case r.reqID != nil:
		l.handleRequestLocked(r.data, identity.TruncatedHash(r.data), fx)
	}
}

// sendResourceProofLocked sends a resource proof and caches it for cache
// requests. Called with l.mu held.
func (l *Link) sendResourceProofLocked(proof []byte) {
	if p, err := l.sendLocked(wire.Proof, wire.ContextResourcePRF, proof, true, false); err == nil {
		l.cacheProof(p.Hash(), proof)
	}
}

// proveResourceIf sends a completed resource's proof once its
// ConfirmResource hook said yes. It takes l.mu, so it runs as an effect
// after the receive path unlocked.
func (l *Link) proveResourceIf(ok bool, proof []byte) {
	if !ok {
		l.m.log.Debug("inbound resource not confirmed; not proving it", "link", l.id.String())
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status == StatusClosed {
		return
	}
	l.sendResourceProofLocked(proof)
}

// rejectFail tells the sender and fails the resource.
func (r *Resource) rejectFail(err error, fx *effects) {
	if r.in != nil {
		r.l.rejectLocked(r.in.adv)
	}
	r.failLocked(err, fx)
	if r.response && r.reqID != nil {
		if rr := r.l.pending[wire.Hash(r.reqID)]; rr != nil {
			delete(r.l.pending, wire.Hash(r.reqID))
			rr.conclude(msgpack.Nil(), err, fx)
		}
	}
}

// cacheProof remembers a sent resource proof for cache requests.
func (l *Link) cacheProof(h wire.FullHash, data []byte) {
	l.proofs[h] = data
	l.proofQ = append(l.proofQ, h)
	if len(l.proofQ) > maxCachedProofs {
		delete(l.proofs, l.proofQ[0])
		l.proofQ = l.proofQ[1:]
	}
}

// inJobLocked retries part requests of a stalled inbound segment with a
// smaller window, and gives up after maxRetries (Resource.__watchdog_job,
// receiver side). Called with l.mu held.
func (r *Resource) inJobLocked(now time.Time, fx *effects) {
	in := r.in
	if in == nil {
		// Between segments: the sender advertises the next one promptly.
		if r.status == ResourceTransferring && now.Sub(r.l.lastIn) > senderGrace*6 {
			r.failLocked(ErrTimeout, fx)
		}
		return
	}
	// The reference registers an outgoing resource only after sending its
	// advertisement, so a fast receiver's first request can be dropped:
	// repeat it once, early, before the regular timeout.
	if in.received == 0 && !in.earlyRetried && now.Sub(in.reqSent) >= max(8*max(in.rtt, r.l.rtt), firstRequestRetry) {
		in.earlyRetried = true
		r.l.m.log.Debug("no parts after the first request, repeating it", "link", r.l.id.String())
		r.requestNextLocked(now, fx)
		return
	}
	eifr := in.reqDataRate * 8
	if eifr == 0 {
		rtt := max(in.rtt, r.l.rtt, time.Millisecond)
		eifr = 300 * 8 / rtt.Seconds()
	}
	extra := time.Duration(maxRetries-in.retries) * perRetryDelay
	var wait float64
	if in.reqRespRate != 0 {
		hmu := 0.0
		if in.waitingHMU || in.outstanding == 0 {
			hmu = float64(in.sdu) * 8 * 3.5 / eifr
		}
		wait = float64(in.timeoutFactor)*float64(in.outstanding*in.sdu*8)/eifr + hmu
	} else {
		wait = float64(in.timeoutFactor) * (3 * float64(in.sdu)) / eifr
	}
	deadline := in.lastActivity.Add(time.Duration(wait*float64(time.Second)) + retryGrace + extra)
	if now.Before(deadline) {
		return
	}
	if in.retries <= 0 {
		r.cancelLocked(fx)
		return
	}
	if in.window > in.windowMin {
		in.window--
		if in.windowMax > in.windowMin {
			in.windowMax--
			if in.windowMax-in.window > windowFlexibility-1 {
				in.windowMax--
			}
		}
	}
	in.retries--
	in.waitingHMU = false
	r.requestNextLocked(now, fx)
}
