package iface

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Sentinel errors returned by interfaces.
var (
	// ErrNotConnected is returned by Send when the interface has no live link.
	ErrNotConnected = errors.New("interface not connected")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("interface closed")
	// ErrQueueFull is returned by Send when the outbound queue is full; the frame is dropped.
	ErrQueueFull = errors.New("interface send queue full")
	// ErrFrameTooLarge is returned by Send for frames above the interface MTU.
	ErrFrameTooLarge = errors.New("frame exceeds interface mtu")
	// ErrBadURI is wrapped by Parse for every malformed interface URI.
	ErrBadURI = errors.New("bad interface uri")
)

// State is the link state of an interface.
type State int32

// Interface states.
const (
	StateDown State = iota
	StateConnecting
	StateUp
)

// String returns "down", "connecting" or "up".
func (s State) String() string {
	switch s {
	case StateUp:
		return "up"
	case StateConnecting:
		return "connecting"
	default:
		return "down"
	}
}

// Interface is one attachment point of a node to a medium. Implementations are
// safe for concurrent use.
type Interface interface {
	// Name is a stable, human-readable name, unique within a node.
	Name() string
	// Start begins I/O; it returns once the interface is running (not
	// necessarily connected). Cancelling ctx has the same effect as Close.
	Start(ctx context.Context) error
	// Close stops all goroutines of the interface and waits for them.
	Close() error
	// Send queues one frame (an unframed packet) for transmission.
	Send(frame []byte) error
	// MTU is the largest frame Send accepts and the receive side delivers.
	MTU() int
	// Bitrate is the nominal link speed in bits per second, used for
	// announce bandwidth caps.
	Bitrate() int
	// State reports the current link state.
	State() State
	// Stats returns a snapshot of the counters.
	Stats() Stats
	// Parent is the server an accepted sub-interface belongs to, or nil.
	Parent() Interface
}

// Handler receives frames and lifecycle events from interfaces. Transport
// implements it. Calls may come from many goroutines at once.
type Handler interface {
	// Attach announces an interface that transport should use for sending,
	// such as a started client or a sub-interface spawned for an accepted
	// connection.
	Attach(i Interface)
	// Detach announces that an attached interface is gone for good.
	Detach(i Interface)
	// Inbound delivers one received frame; the handler owns frame.
	Inbound(i Interface, frame []byte)
}

// Stats is a point-in-time snapshot of an interface's counters, for the app
// layer and the UI.
type Stats struct {
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	State      string    `json:"state"`
	BytesIn    uint64    `json:"bytes_in"`
	BytesOut   uint64    `json:"bytes_out"`
	PacketsIn  uint64    `json:"packets_in"`
	PacketsOut uint64    `json:"packets_out"`
	Malformed  uint64    `json:"malformed"`
	TxDrops    uint64    `json:"tx_drops"`
	Reconnects uint64    `json:"reconnects"`
	Clients    int       `json:"clients"`
	Since      time.Time `json:"since"`
	// LastError is why the interface last failed to connect or lost its connection ("" once it is up).
	LastError string `json:"last_error,omitempty"`
}

// counters is the shared atomic counter block of all interfaces here.
type counters struct {
	bytesIn, bytesOut     atomic.Uint64
	packetsIn, packetsOut atomic.Uint64
	malformed, txDrops    atomic.Uint64
	reconnects            atomic.Uint64
	state                 atomic.Int32
	since                 atomic.Int64
	lastErr               atomic.Pointer[string]
}

// setError records why the interface is not up (nil: it is up again).
func (c *counters) setError(err error) {
	if err == nil {
		c.lastErr.Store(nil)
		return
	}
	msg := err.Error()
	c.lastErr.Store(&msg)
}

func (c *counters) setState(s State, now time.Time) {
	if State(c.state.Swap(int32(s))) != s {
		c.since.Store(now.UnixNano())
	}
}

func (c *counters) snapshot(name, kind string) Stats {
	st := Stats{
		Name:       name,
		Kind:       kind,
		State:      State(c.state.Load()).String(),
		BytesIn:    c.bytesIn.Load(),
		BytesOut:   c.bytesOut.Load(),
		PacketsIn:  c.packetsIn.Load(),
		PacketsOut: c.packetsOut.Load(),
		Malformed:  c.malformed.Load(),
		TxDrops:    c.txDrops.Load(),
		Reconnects: c.reconnects.Load(),
	}
	if ns := c.since.Load(); ns != 0 {
		st.Since = time.Unix(0, ns).UTC()
	}
	if e := c.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	return st
}
