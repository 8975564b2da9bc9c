package propnode

import (
	"context"
	"errors"
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// ErrRequest means a malformed /get or /offer request or response.
var ErrRequest = errors.New("malformed propagation request")

// maxIDs bounds the transient ids one request or response may carry.
const maxIDs = 1 << 14

// GetRequest is a parsed /get request: [wants, haves(, transfer limit KB)].
// With both lists nil it asks for the list of waiting messages.
type GetRequest struct {
	List            bool
	Wants, Haves    []wire.FullHash
	TransferLimitKB float64 // 0: none given
}

// ParseGetRequest parses /get request data as message_get_request reads it.
func ParseGetRequest(v msgpack.Value) (GetRequest, error) {
	if v.Kind() != msgpack.KindArray || v.Len() < 2 {
		return GetRequest{}, fmt.Errorf("get request shape: %w", ErrRequest)
	}
	var g GetRequest
	if v.Index(0).IsNil() && v.Index(1).IsNil() {
		g.List = true
		return g, nil
	}
	var err error
	if g.Wants, err = parseIDs(v.Index(0)); err != nil {
		return GetRequest{}, fmt.Errorf("get request wants: %w", err)
	}
	if g.Haves, err = parseIDs(v.Index(1)); err != nil {
		return GetRequest{}, fmt.Errorf("get request haves: %w", err)
	}
	if v.Len() >= 3 {
		if f, ok := v.Index(2).AsNumber(); ok && f > 0 {
			g.TransferLimitKB = f
		}
	}
	return g, nil
}

// Value packs the request as a client sends it.
func (g GetRequest) Value() msgpack.Value {
	if g.List {
		return msgpack.Array(msgpack.Nil(), msgpack.Nil())
	}
	ids := func(hs []wire.FullHash) msgpack.Value {
		if hs == nil {
			return msgpack.Nil()
		}
		return idsValue(hs)
	}
	if g.TransferLimitKB > 0 {
		return msgpack.Array(ids(g.Wants), ids(g.Haves), msgpack.Float(g.TransferLimitKB))
	}
	return msgpack.Array(ids(g.Wants), ids(g.Haves))
}

func idsValue(hs []wire.FullHash) msgpack.Value {
	l := make([]msgpack.Value, len(hs))
	for i := range hs {
		l[i] = msgpack.Bin(hs[i][:])
	}
	return msgpack.Array(l...)
}

// parseIDs reads nil or a list of 32-byte transient ids; entries of other
// lengths are skipped, as the reference simply never finds them.
func parseIDs(v msgpack.Value) ([]wire.FullHash, error) {
	if v.IsNil() {
		return nil, nil
	}
	if v.Kind() != msgpack.KindArray {
		return nil, fmt.Errorf("id list is %s: %w", v.Kind(), ErrRequest)
	}
	if v.Len() > maxIDs {
		return nil, fmt.Errorf("%d ids: %w", v.Len(), ErrRequest)
	}
	out := make([]wire.FullHash, 0, v.Len())
	for _, e := range v.Elems() {
		if b, ok := e.AsBytes(); ok && len(b) == wire.FullHashLen {
			out = append(out, wire.FullHash(b))
		}
	}
	return out, nil
}

// ParseResponseCode returns the error code of a response that is a bare
// integer (ERROR_NO_IDENTITY and so on).
func ParseResponseCode(v msgpack.Value) (int, bool) {
	f, ok := v.AsNumber()
	if !ok || v.Kind() == msgpack.KindFloat {
		return 0, false
	}
	return int(f), true
}

// ParseMessageList parses a /get list response: transient ids.
func ParseMessageList(v msgpack.Value) ([]wire.FullHash, error) {
	if v.Kind() != msgpack.KindArray {
		return nil, fmt.Errorf("message list is %s: %w", v.Kind(), ErrRequest)
	}
	return parseIDs(v)
}

// ParseMessages parses a /get download response: propagated forms.
func ParseMessages(v msgpack.Value) ([][]byte, error) {
	if v.Kind() != msgpack.KindArray {
		return nil, fmt.Errorf("messages are %s: %w", v.Kind(), ErrRequest)
	}
	if v.Len() > maxIDs {
		return nil, fmt.Errorf("%d messages: %w", v.Len(), ErrRequest)
	}
	out := make([][]byte, 0, v.Len())
	for _, e := range v.Elems() {
		b, ok := e.AsBytes()
		if !ok || len(b) < lxmf.Overhead {
			return nil, fmt.Errorf("message entry: %w", ErrRequest)
		}
		out = append(out, b)
	}
	return out, nil
}

// OfferRequest is a parsed /offer request: [peering key, [transient ids]].
type OfferRequest struct {
	PeeringKey []byte
	IDs        []wire.FullHash
}

// ParseOfferRequest parses /offer request data as offer_request reads it.
func ParseOfferRequest(v msgpack.Value) (OfferRequest, error) {
	if v.Kind() != msgpack.KindArray || v.Len() < 2 {
		return OfferRequest{}, fmt.Errorf("offer shape: %w", ErrRequest)
	}
	key, ok := v.Index(0).AsBytes()
	if !ok {
		return OfferRequest{}, fmt.Errorf("offer peering key: %w", ErrRequest)
	}
	ids, err := parseIDs(v.Index(1))
	if err != nil {
		return OfferRequest{}, fmt.Errorf("offer ids: %w", err)
	}
	return OfferRequest{PeeringKey: key, IDs: ids}, nil
}

// handleGet serves /get (message_get_request): the list of messages held
// for the identified client's delivery destination, the messages it
// wants within its transfer limit, and deletion of the ones it has.
func (s *Server) handleGet(req *link.Request) (msgpack.Value, bool) {
	if req.Remote == nil {
		return msgpack.Int(ErrorNoIdentity), true
	}
	g, err := ParseGetRequest(req.Data)
	if err != nil {
		s.log.Debug("malformed propagation get request", "error", err)
		return msgpack.Int(ErrorInvalidData), true
	}
	dest := lxmf.DeliveryHash(req.Remote)
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if g.List {
		ls, err := s.st.List(ctx, dest, s.opts.MaxServe)
		if err != nil {
			s.log.Warn("listing propagated messages failed", "error", err)
			return msgpack.Nil(), false
		}
		ids := make([]wire.FullHash, len(ls))
		for i, l := range ls {
			ids[i] = l.TransientID
		}
		return idsValue(ids), true
	}
	if len(g.Haves) > 0 {
		if _, err := s.st.Delete(ctx, dest, g.Haves); err != nil {
			s.log.Warn("deleting delivered propagated messages failed", "error", err)
		}
	}
	if len(g.Wants) == 0 {
		return msgpack.Array(), true
	}
	data, err := s.st.Get(ctx, dest, g.Wants)
	if err != nil {
		s.log.Warn("reading propagated messages failed", "error", err)
		return msgpack.Nil(), false
	}
	const perMessage, initial = 16, 24 // the reference's size accounting
	limit := g.TransferLimitKB * 1000
	total := float64(initial)
	out := make([]msgpack.Value, 0, len(data))
	for _, d := range data {
		if len(d) <= lxmf.StampSize {
			continue
		}
		next := total + float64(len(d)+perMessage)
		if limit > 0 && next > limit {
			continue
		}
		total = next
		out = append(out, msgpack.Bin(d[:len(d)-lxmf.StampSize]))
	}
	s.count(func(st *ServerStats) { st.Served += len(out) })
	return msgpack.Array(out...), true
}

// handleOffer answers a peer's /offer (offer_request): with a valid peering
// key it says which offered messages it wants (true: all, false: none),
// and the link may then upload several messages at once.
func (s *Server) handleOffer(req *link.Request) (msgpack.Value, bool) {
	if req.Remote == nil {
		return msgpack.Int(ErrorNoIdentity), true
	}
	o, err := ParseOfferRequest(req.Data)
	if err != nil {
		return msgpack.Int(ErrorInvalidData), true
	}
	own, remote := s.opts.Identity.Hash(), req.Remote.Hash()
	peeringID := append(append([]byte{}, own[:]...), remote[:]...)
	if !lxmf.ValidatePeeringKey(peeringID, o.PeeringKey, s.opts.PeeringCost) {
		return msgpack.Int(ErrorInvalidKey), true
	}
	s.mu.Lock()
	s.validated[req.Link.ID()] = true
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var wanted []wire.FullHash
	for _, id := range o.IDs {
		has, err := s.st.Has(ctx, id)
		if err != nil {
			return msgpack.Nil(), false
		}
		if !has {
			wanted = append(wanted, id)
		}
	}
	switch len(wanted) {
	case 0:
		return msgpack.Bool(false), true
	case len(o.IDs):
		return msgpack.Bool(true), true
	}
	return idsValue(wanted), true
}
