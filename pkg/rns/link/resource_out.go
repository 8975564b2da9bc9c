package link

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// outSegment is the sending state of one segment.
type outSegment struct {
	hash          wire.FullHash
	random        [randomLen]byte
	expectedProof wire.FullHash
	proofPacket   wire.FullHash
	parts         [][]byte
	hashmap       []byte
	sent          []bool
	sentParts     int
	size          int64
	segLen        int
	receiverMin   int
	advSent       time.Time
	lastActivity  time.Time
	lastPartSent  time.Time
	retries       int
	rtt           time.Duration
	timeout       time.Duration
	reqSeen       map[wire.FullHash]struct{}
}

// SendResource sends data as a resource (segmented above MaxSegmentSize).
// It is sent uncompressed, which the reference always accepts.
func (l *Link) SendResource(data []byte, o ResourceOptions) (*Resource, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, err := l.startOutgoingLocked(data, nil, false, l.m.clock.Now(), func(r *Resource) {
		r.concluded, r.progressCB, r.advTimeout = o.Concluded, o.Progress, o.Timeout
	})
	if err != nil {
		return nil, fmt.Errorf("send resource: %w", err)
	}
	return r, nil
}

// startOutgoingLocked prepares the first segment and advertises it. Called
// with l.mu held.
func (l *Link) startOutgoingLocked(data, reqID []byte, response bool, now time.Time, setup ...func(*Resource)) (*Resource, error) {
	if l.status != StatusActive && l.status != StatusStale {
		return nil, ErrNotActive
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("empty resource: %w", ErrEmpty)
	}
	r := &Resource{
		l: l, outgoing: true, total: int64(len(data)), segs: (len(data)-1)/MaxSegmentSize + 1,
		reqID: reqID, response: response, done: make(chan struct{}), data: data,
	}
	for _, f := range setup {
		f(r)
	}
	if err := r.prepareSegmentLocked(1); err != nil {
		return nil, err
	}
	r.origHash = r.out.hash
	l.outgoing = append(l.outgoing, r)
	if err := r.advertiseLocked(now); err != nil {
		l.outgoing = remove(l.outgoing, r)
		return nil, err
	}
	return r, nil
}

// prepareSegmentLocked encrypts segment i and builds its parts and hashmap
// (Resource.__init__): the resource hash is SHA-256 of the segment's data
// and a 4-byte random hash, which also salts the 4-byte map hashes; a map
// hash repeated within the collision guard forces a new random hash.
func (r *Resource) prepareSegmentLocked(i int) error {
	l := r.l
	start := (i - 1) * MaxSegmentSize
	seg := r.data[start:min(start+MaxSegmentSize, len(r.data))]
	payload := seg
	if r.compressed != nil {
		payload = r.compressed
	}
	plain := make([]byte, randomLen+len(payload))
	if _, err := rand.Read(plain[:randomLen]); err != nil {
		return fmt.Errorf("resource random: %w", err)
	}
	copy(plain[randomLen:], payload)
	ct, err := l.token.Encrypt(plain)
	if err != nil {
		return fmt.Errorf("resource encrypt: %w", err)
	}
	sdu := l.sdu()
	n := (len(ct) + sdu - 1) / sdu
	o := &outSegment{
		size: int64(len(ct)), segLen: len(seg), parts: make([][]byte, n), sent: make([]bool, n),
		retries: maxAdvRetries, timeout: time.Duration(trafficTimeoutFactor) * l.rtt,
		reqSeen: map[wire.FullHash]struct{}{},
	}
	for k := range n {
		o.parts[k] = ct[k*sdu : min((k+1)*sdu, len(ct))]
	}
	for attempt := 0; ; attempt++ {
		if attempt > 64 {
			return fmt.Errorf("resource hashmap: no collision-free random hash")
		}
		if _, err := rand.Read(o.random[:]); err != nil {
			return fmt.Errorf("resource random: %w", err)
		}
		o.hashmap = make([]byte, 0, n*mapHashLen)
		last := map[[mapHashLen]byte]int{}
		ok := true
		for k, p := range o.parts {
			mh := mapHash(p, o.random)
			if j, seen := last[mh]; seen && k-j <= collisionGuard {
				ok = false
				break
			}
			last[mh] = k
			o.hashmap = append(o.hashmap, mh[:]...)
		}
		if ok {
			break
		}
	}
	o.hash, o.expectedProof = hashAndProof(seg, o.random)
	pp := l.packet(wire.Proof, wire.ContextResourcePRF, append(append([]byte(nil), o.hash[:]...), o.expectedProof[:]...))
	o.proofPacket = pp.Hash()
	if r.advTimeout > 0 {
		o.timeout = r.advTimeout
	}
	r.out, r.segIndex = o, i
	return nil
}

// mapHash is Resource.get_map_hash.
func mapHash(part []byte, random [randomLen]byte) [mapHashLen]byte {
	h := sha256.New()
	h.Write(part)
	h.Write(random[:])
	var sum [32]byte
	h.Sum(sum[:0])
	var out [mapHashLen]byte
	copy(out[:], sum[:mapHashLen])
	return out
}

// advertisement builds the current segment's advertisement.
func (r *Resource) advertisement() *Advertisement {
	o := r.out
	a := &Advertisement{
		TransferSize: o.size, DataSize: r.total, Parts: len(o.parts), Hash: o.hash, RandomHash: o.random,
		OriginalHash: r.origHash, SegmentIndex: r.segIndex, TotalSegments: r.segs, RequestID: r.reqID,
		Flags: flagEncrypted, Hashmap: o.hashmap[:min(len(o.parts), hashmapMaxLen)*mapHashLen],
	}
	if r.segs > 1 {
		a.Flags |= flagSplit
	}
	if r.compressed != nil {
		a.Flags |= flagCompressed
	}
	if r.reqID != nil {
		if r.response {
			a.Flags |= flagResponse
		} else {
			a.Flags |= flagRequest
		}
	}
	return a
}

func (r *Resource) advertiseLocked(now time.Time) error {
	b := r.advertisement().Marshal()
	if _, err := r.l.sendLocked(wire.Data, wire.ContextResourceAdv, b, false, false); err != nil {
		return err
	}
	r.status = ResourceAdvertised
	r.out.advSent, r.out.lastActivity = now, now
	return nil
}

// partRequestLocked answers a RESOURCE_REQ (Resource.request). Called with
// l.mu held.
func (l *Link) partRequestLocked(pt []byte, pktHash wire.FullHash, now time.Time, fx *effects) {
	if len(pt) < 1 {
		return
	}
	exhausted := pt[0] == 0xFF
	pad := 1
	if exhausted {
		pad += mapHashLen
	}
	if len(pt) < pad+wire.FullHashLen {
		return
	}
	var r *Resource
	for _, x := range l.outgoing {
		if x.out != nil && bytes.Equal(x.out.hash[:], pt[pad:pad+wire.FullHashLen]) {
			r = x
			break
		}
	}
	if r == nil {
		return
	}
	o := r.out
	if _, dup := o.reqSeen[pktHash]; dup {
		return
	}
	o.reqSeen[pktHash] = struct{}{}
	if o.rtt == 0 {
		o.rtt = max(now.Sub(o.advSent), time.Microsecond)
	}
	r.status = ResourceTransferring
	o.retries = maxRetries
	want := map[[mapHashLen]byte]bool{}
	req := pt[pad+wire.FullHashLen:]
	for k := 0; k+mapHashLen <= len(req); k += mapHashLen {
		want[[mapHashLen]byte(req[k:k+mapHashLen])] = true
	}
	end := min(o.receiverMin+collisionGuard, len(o.parts))
	for k := o.receiverMin; k < end; k++ {
		if !want[[mapHashLen]byte(o.hashmap[k*mapHashLen:(k+1)*mapHashLen])] {
			continue
		}
		if _, err := l.sendLocked(wire.Data, wire.ContextResource, o.parts[k], true, false); err != nil {
			r.failLocked(fmt.Errorf("resource part: %w", err), fx)
			return
		}
		if !o.sent[k] {
			o.sent[k] = true
			o.sentParts++
		}
		o.lastActivity, o.lastPartSent = now, now
	}
	if exhausted {
		last := pt[1 : 1+mapHashLen]
		idx := o.receiverMin
		for k := o.receiverMin; k < end; k++ {
			idx++
			if bytes.Equal(o.hashmap[k*mapHashLen:(k+1)*mapHashLen], last) {
				break
			}
		}
		o.receiverMin = max(idx-1-windowMaxFast, 0)
		if idx%hashmapMaxLen != 0 {
			r.cancelLocked(fx)
			return
		}
		seg := idx / hashmapMaxLen
		from, to := seg*hashmapMaxLen, min((seg+1)*hashmapMaxLen, len(o.parts))
		if from >= to {
			r.cancelLocked(fx)
			return
		}
		upd := msgpack.Array(msgpack.Int(int64(seg)), msgpack.Bin(o.hashmap[from*mapHashLen:to*mapHashLen])).Encode()
		if _, err := l.sendLocked(wire.Data, wire.ContextResourceHMU, append(append([]byte(nil), o.hash[:]...), upd...), false, false); err != nil {
			r.failLocked(fmt.Errorf("resource hashmap update: %w", err), fx)
			return
		}
		o.lastActivity = now
	}
	if o.sentParts == len(o.parts) {
		r.status = ResourceAwaitingProof
		o.retries = 3
	}
	done := float64(int64(r.segIndex-1)*MaxSegmentSize) + float64(o.segLen)*float64(o.sentParts)/float64(len(o.parts))
	r.setProgress(done/float64(r.total), fx)
}

// cancelLocked cancels with l.mu held.
func (r *Resource) cancelLocked(fx *effects) {
	if h := r.currentHash(); h != nil {
		ctx := wire.ContextResourceRCL
		if r.outgoing {
			ctx = wire.ContextResourceICL
		}
		_, _ = r.l.sendLocked(wire.Data, ctx, h, false, false)
	}
	r.failLocked(ErrCancelled, fx)
}

// resourceProofLocked validates a resource proof (Resource.validate_proof)
// and moves to the next segment or completes. Called with l.mu held.
func (l *Link) resourceProofLocked(data []byte, fx *effects) {
	if len(data) != 2*wire.FullHashLen {
		return
	}
	for _, r := range append([]*Resource(nil), l.outgoing...) {
		o := r.out
		if o == nil || !bytes.Equal(o.hash[:], data[:wire.FullHashLen]) {
			continue
		}
		if !bytes.Equal(o.expectedProof[:], data[wire.FullHashLen:]) {
			return
		}
		now := l.m.clock.Now()
		if r.segIndex < r.segs {
			r.sentBytes += int64(o.segLen)
			if err := r.prepareSegmentLocked(r.segIndex + 1); err != nil {
				r.failLocked(err, fx)
				return
			}
			if err := r.advertiseLocked(now); err != nil {
				r.failLocked(err, fx)
			}
			return
		}
		r.status = ResourceComplete
		r.setProgress(1, fx)
		r.finishLocked(fx)
		if r.reqID != nil && !r.response {
			var id wire.Hash
			copy(id[:], r.reqID)
			if rr := l.pending[id]; rr != nil {
				rr.mu.Lock()
				rr.receiving = false
				rr.deadline = now.Add(time.Duration(trafficTimeoutFactor)*l.rtt + responseMaxGrace*9/8)
				rr.mu.Unlock()
			}
		}
		return
	}
}

// outJobLocked runs a sending resource's timeouts (Resource.__watchdog_job,
// initiator side). Called with l.mu held.
func (r *Resource) outJobLocked(now time.Time, fx *effects) {
	o := r.out
	if o == nil {
		return
	}
	l := r.l
	switch r.status {
	case ResourceAdvertised:
		if now.After(o.advSent.Add(o.timeout + processingGrace)) {
			if o.retries <= 0 {
				r.failLocked(ErrTimeout, fx)
				return
			}
			o.retries--
			if err := r.advertiseLocked(now); err != nil {
				r.failLocked(err, fx)
			}
		}
	case ResourceTransferring:
		extra := time.Duration(0)
		for k := range maxRetries {
			extra += time.Duration(k+1) * perRetryDelay
		}
		wait := o.rtt*trafficTimeoutFactor*maxRetries + senderGrace + extra
		if now.After(o.lastActivity.Add(wait)) {
			r.cancelLocked(fx)
		}
	case ResourceAwaitingProof:
		if now.After(o.lastPartSent.Add(o.rtt*proofTimeoutFactor + senderGrace)) {
			if o.retries <= 0 {
				r.cancelLocked(fx)
				return
			}
			o.retries--
			l.m.log.Debug("resource proof overdue, sending cache request", "link", l.id.String())
			_, _ = l.sendLocked(wire.Data, wire.ContextCacheRequest, o.proofPacket[:], true, false)
			o.lastPartSent = now
		}
	}
}

// hashAndProof returns SHA-256(data || random), the resource hash, and
// SHA-256(data || hash), the proof the receiver must return, hashing data
// once and forking the state.
func hashAndProof(data []byte, random [randomLen]byte) (hash, proof wire.FullHash) {
	h := sha256.New()
	h.Write(data)
	st, _ := h.(encoding.BinaryMarshaler).MarshalBinary()
	h.Write(random[:])
	h.Sum(hash[:0])
	h2 := sha256.New()
	if err := h2.(encoding.BinaryUnmarshaler).UnmarshalBinary(st); err != nil {
		h2.Write(data)
	}
	h2.Write(hash[:])
	h2.Sum(proof[:0])
	return hash, proof
}
