package router

import (
	"context"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// State is an outbound message's delivery state.
type State string

// Outbound states: queued -> sending -> sent -> delivered | failed.
const (
	StateQueued    State = "queued"
	StateSending   State = "sending"
	StateSent      State = "sent"
	StateDelivered State = "delivered"
	StateFailed    State = "failed"
)

// Outbound is a persisted outbound message as the Queue hands it to the
// router. Packed is the signed message (the direct form), fixed when the
// message was accepted, so every retry sends the same message id.
type Outbound struct {
	ID          wire.FullHash
	Destination wire.Hash
	Packed      []byte
	Method      lxmf.Method
	Attempts    int       // send attempts so far
	CreatedAt   time.Time // when the message was accepted; bounds the total time
}

// Update is a change of an outbound message's state. NextAttempt is when the
// queue should hand the message out again while it is still pending (after a
// crash, a message left "sending" or "sent" is retried from then).
type Update struct {
	State State
	// Method, when set, is the delivery method the message changes to (a failed direct message sent
	// through the propagation node instead).
	Method      lxmf.Method
	Attempts    int
	NextAttempt time.Time
	Err         string
}

// Queue is the persisted outbound queue the router works from.
type Queue interface {
	// Due returns pending (queued, sending or sent) messages whose next
	// attempt is at or before now, earliest first, at most limit.
	Due(ctx context.Context, now time.Time, limit int) ([]Outbound, error)
	// NextDue returns the earliest next attempt of a pending message; ok is
	// false when nothing is pending.
	NextDue(ctx context.Context) (at time.Time, ok bool, err error)
	// Update records a state change of a message.
	Update(ctx context.Context, id wire.FullHash, u Update) error
}

// Inbound is a received message handed to the Sink.
type Inbound struct {
	Message *lxmf.Message
	Method  lxmf.Method
	// Verified is true when the signature was checked against the sender's
	// known identity; false when the sender's identity is not known yet
	// (LXMessage.SOURCE_UNKNOWN). Messages with a bad signature never reach
	// the Sink.
	Verified   bool
	Hops       uint8
	ReceivedAt time.Time
}

// Peer is an LXMF destination learned from an lxmf.delivery announce.
type Peer struct {
	Hash        wire.Hash
	Identity    *identity.Identity // public key only
	DisplayName string
	StampCost   int
	Hops        uint8
	Seen        time.Time
}

// Sink receives what the router learns from the network.
type Sink interface {
	// Deliver persists an inbound message. It returns nil when the message
	// is stored, or was stored before (a duplicate is not an error); only
	// then does the router prove the packet to the sender. It runs on the
	// receiving interface's goroutine and should be quick.
	Deliver(ctx context.Context, in Inbound) error
	// PeerAnnounced records a peer. It runs on the router's goroutine.
	PeerAnnounced(ctx context.Context, p Peer) error
}
