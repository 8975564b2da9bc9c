package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// queue implements router.Queue on the store's outbound messages.
type queue struct{ a *App }

var _ router.Queue = queue{}

func (q queue) Due(ctx context.Context, now time.Time, limit int) ([]router.Outbound, error) {
	rows, err := q.a.st.DueMessages(ctx, now.UnixMilli(), limit)
	if err != nil {
		return nil, err
	}
	out := make([]router.Outbound, 0, len(rows))
	for _, r := range rows {
		o, err := outbound(r)
		if err != nil {
			// A row we cannot even parse is failed at once, not retried forever.
			q.a.log.Warn("failing unreadable queued message", "message_id", r.MessageID, "error", err)
			_ = q.a.st.UpdateOutbound(ctx, r.MessageID, store.MessageUpdate{State: store.StateFailed, Attempts: r.Attempts, Error: "stored message unreadable"})
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

func outbound(r store.Message) (router.Outbound, error) {
	var o router.Outbound
	id, err := hex.DecodeString(r.MessageID)
	if err != nil || len(id) != wire.FullHashLen {
		return o, fmt.Errorf("message id %q", r.MessageID)
	}
	dest, err := wire.ParseHash(r.Peer)
	if err != nil {
		return o, fmt.Errorf("peer: %w", err)
	}
	return router.Outbound{
		ID: wire.FullHash(id), Destination: dest, Packed: r.Packed, Method: methodFromName(r.Method),
		Attempts: r.Attempts, CreatedAt: r.CreatedAt,
	}, nil
}

func (q queue) NextDue(ctx context.Context) (time.Time, bool, error) {
	ms, ok, err := q.a.st.NextAttemptAt(ctx)
	if err != nil || !ok {
		return time.Time{}, ok, err
	}
	return time.UnixMilli(ms), true, nil
}

func (q queue) Update(ctx context.Context, id wire.FullHash, u router.Update) error {
	next := int64(0)
	if !u.NextAttempt.IsZero() {
		next = u.NextAttempt.UnixMilli()
	}
	mid := id.String()
	mu := store.MessageUpdate{State: stateName(u.State), Attempts: u.Attempts, NextAttemptAt: next, Error: u.Err}
	if u.Method != 0 {
		mu.Method = methodName(u.Method)
	}
	err := q.a.st.UpdateOutbound(ctx, mid, mu)
	if err != nil {
		return err
	}
	q.a.events.Publish(Event{Kind: EventMessageState, MessageID: mid, State: stateName(u.State)})
	return nil
}

// sink implements router.Sink: received messages and peers go to the store.
type sink struct{ a *App }

var _ router.Sink = sink{}

func (s sink) Deliver(ctx context.Context, in router.Inbound) error {
	// A blocked sender's message is dropped here, before storage; the error keeps it unproven.
	if in.Message != nil && s.a.blocked.blockedAddress(in.Message.Source.String()) {
		return ErrBlocked
	}
	contact := in.Message != nil && s.a.contacts.has(in.Message.Source.String())
	if in.Message != nil && !contact && s.a.refuseStrangers.Load() {
		s.a.log.Debug("message from a stranger refused", "peer", in.Message.Source.String())
		return ErrStranger
	}
	if err := s.a.budget.admitInbound(ctx, in); err != nil {
		return err
	}
	m := in.Message
	// Stored once: title, content and the fields without their attachment bytes, which go to
	// content-addressed files. The packed form is not kept: the signature was checked on arrival and
	// an inbound message is never sent again.
	row := &store.Message{
		MessageID: m.ID.String(), Direction: store.DirectionIn, Peer: m.Source.String(),
		Title: m.Title, Content: m.Content, Timestamp: m.Timestamp,
		State: store.StateReceived, Method: methodName(in.Method), Verified: in.Verified,
		CreatedAt: in.ReceivedAt.UTC(),
	}
	d := decompose(m.Fields)
	held := !contact && s.a.holdStrangerFiles.Load() && d.hold(HeldStranger)
	if s.a.blobs == nil && len(m.Fields) > 0 {
		row.Fields = m.Fields.Value().Encode()
		if held {
			row.Fields = d.update.Fields
		}
	}
	if held {
		s.a.log.Info("attachments from a stranger not stored", "peer", row.Peer, "message_id", row.MessageID)
	}
	inserted, atts, err := s.a.storeMessage(ctx, row, d)
	if err != nil {
		return err
	}
	if !inserted {
		s.a.log.Debug("duplicate lxmf message ignored", "message_id", row.MessageID)
		return nil
	}
	// A reaction to it may have arrived first (they travel separately), so those are looked up.
	v, err := s.a.freshView(ctx, headOf(*row), atts, true)
	if err != nil {
		s.a.log.Warn("new message not published", "message_id", row.MessageID, "error", err)
		return nil
	}
	s.a.events.Publish(Event{Kind: EventMessageReceived, MessageID: v.ID, Peer: v.Peer, State: v.State, Message: &v})
	return nil
}

func (s sink) PeerAnnounced(ctx context.Context, p router.Peer) error {
	if p.Identity == nil || lxmf.DeliveryHash(p.Identity) != p.Hash {
		return fmt.Errorf("peer %s: identity does not match", p.Hash)
	}
	if s.a.blocked.blockedIdentity(p.Identity, p.Hash.String()) {
		return nil // a blocked identity's announces are ignored
	}
	row := &store.Peer{
		Hash: p.Hash.String(), PublicKey: p.Identity.PublicKey(), DisplayName: p.DisplayName,
		StampCost: p.StampCost, Hops: int(p.Hops), LastSeen: p.Seen,
	}
	if err := s.a.st.UpsertPeer(ctx, row); err != nil {
		return err
	}
	v := s.a.peerView(*row)
	s.a.events.Publish(Event{Kind: EventPeer, Peer: v.Address, PeerInfo: &v})
	return nil
}
