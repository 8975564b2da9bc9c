package app

import (
	"sync"
	"sync/atomic"
)

// Event kinds. The JSON of an Event is stable: kind, and the other keys only when set.
//   - message.received: a new inbound message (message_id, peer, state, message: its list row; a
//     reaction arrives as a message with "reaction" set)
//   - message.queued: the owner sent a message (message_id, peer, state "queued", message)
//   - message.state: an outbound message changed state (message_id, state; peer when known)
//   - message.progress: an outbound message sent as a resource moved (message_id, bytes_done,
//     bytes_total of its packed form; at most one event per percent)
//   - message.deleted: a message was deleted (message_id, peer)
//   - conversation.read: a conversation was marked read (peer)
//   - conversation.deleted: a conversation and its messages were deleted (peer)
//   - peer: a peer announced itself (peer, peer_info)
//   - interface: a mesh interface or one of its sub-interfaces changed state (interface, sub when a
//     sub-interface, state: up, down or connecting)
const (
	EventMessageReceived     = "message.received"
	EventMessageQueued       = "message.queued"
	EventMessageState        = "message.state"
	EventMessageDeleted      = "message.deleted"
	EventMessageProgress     = "message.progress"
	EventConversationRead    = "conversation.read"
	EventConversationDeleted = "conversation.deleted"
	EventPeer                = "peer"
	EventInterface           = "interface"
)

// Event is something a UI may want to show at once.
type Event struct {
	Kind      string    `json:"kind"`
	MessageID string    `json:"message_id,omitempty"`
	Peer      string    `json:"peer,omitempty"`
	State     string    `json:"state,omitempty"`
	Message   *Message  `json:"message,omitempty"`
	PeerInfo  *PeerInfo `json:"peer_info,omitempty"`
	Interface string    `json:"interface,omitempty"`
	Sub       string    `json:"sub,omitempty"`
	// Node and Path name the page or file of a nomadnet.progress event.
	Node string `json:"node,omitempty"`
	Path string `json:"path,omitempty"`
	// BytesDone and BytesTotal are a message.progress event's bytes sent so far and in all (received,
	// for nomadnet.progress).
	BytesDone  int64 `json:"bytes_done,omitempty"`
	BytesTotal int64 `json:"bytes_total,omitempty"`
}

// Broker fans events out to subscribers. Publishing never blocks: a
// subscriber that does not keep up loses its oldest events.
type Broker struct {
	mu      sync.Mutex
	subs    map[*subscription]struct{}
	dropped atomic.Uint64
}

type subscription struct {
	ch chan Event
}

// NewBroker returns an empty broker.
func NewBroker() *Broker { return &Broker{subs: make(map[*subscription]struct{})} }

// Subscribe returns a channel of at most size buffered events (16 when
// size <= 0) and a function that unsubscribes and closes the channel.
func (b *Broker) Subscribe(size int) (<-chan Event, func()) {
	if size <= 0 {
		size = 16
	}
	s := &subscription{ch: make(chan Event, size)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			close(s.ch)
			b.mu.Unlock()
		})
	}
}

// Publish sends ev to every subscriber, dropping a slow subscriber's oldest
// event to make room.
func (b *Broker) Publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		b.offer(s.ch, ev)
	}
}

func (b *Broker) offer(ch chan Event, ev Event) {
	for range 2 {
		select {
		case ch <- ev:
			return
		default:
		}
		select {
		case <-ch:
			b.dropped.Add(1)
		default:
		}
	}
	b.dropped.Add(1) // cannot happen with one publisher at a time; never block
}

// Dropped returns how many events slow subscribers lost.
func (b *Broker) Dropped() uint64 { return b.dropped.Load() }

// Subscribers returns the number of subscribers.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
