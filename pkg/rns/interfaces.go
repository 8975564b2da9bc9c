package rns

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
)

// DefaultStatePoll is how often the node looks at the link state of its
// interfaces to report changes (see OnInterfaceEvent).
const DefaultStatePoll = 500 * time.Millisecond

// InterfaceEvent is a change of an interface's link state.
type InterfaceEvent struct {
	// Name is the configured (top-level) interface.
	Name string
	// Sub names the sub-interface that came or went (a client accepted by
	// a tcp-server, an auto peer), or is empty for the interface itself.
	Sub string
	// State is the new state.
	State iface.State
}

// events fans interface events out to subscribers.
type events struct {
	mu   sync.Mutex
	next int
	subs map[int]func(InterfaceEvent)
}

func (e *events) emit(ev InterfaceEvent) {
	e.mu.Lock()
	fs := make([]func(InterfaceEvent), 0, len(e.subs))
	for _, f := range e.subs {
		fs = append(fs, f)
	}
	e.mu.Unlock()
	for _, f := range fs {
		f(ev)
	}
}

// OnInterfaceEvent calls f on every link state change of an interface:
// a configured interface going up, down or connecting, and a sub-interface
// (accepted client, auto peer) attaching or going away. f runs on the
// node's goroutines and must neither block nor call back into the node.
// The returned function removes f.
func (n *Node) OnInterfaceEvent(f func(InterfaceEvent)) (remove func()) {
	n.ev.mu.Lock()
	defer n.ev.mu.Unlock()
	id := n.ev.next
	n.ev.next++
	n.ev.subs[id] = f
	return func() {
		n.ev.mu.Lock()
		defer n.ev.mu.Unlock()
		delete(n.ev.subs, id)
	}
}

// nodeHandler passes interface frames and lifecycle calls to transport and
// reports sub-interfaces coming and going as interface events.
type nodeHandler struct {
	in *transport.Parallel
	ev *events
}

func (h nodeHandler) Attach(i iface.Interface) {
	h.in.Attach(i)
	if p := i.Parent(); p != nil {
		h.ev.emit(InterfaceEvent{Name: p.Name(), Sub: i.Name(), State: iface.StateUp})
	}
}

func (h nodeHandler) Detach(i iface.Interface) {
	h.in.Detach(i)
	if p := i.Parent(); p != nil {
		h.ev.emit(InterfaceEvent{Name: p.Name(), Sub: i.Name(), State: iface.StateDown})
	}
}

func (h nodeHandler) Inbound(i iface.Interface, frame []byte) { h.in.Inbound(i, frame) }

// startWatch runs the state watcher until stopWatch: every StatePoll it
// compares each configured interface's state with the last one seen and
// emits the changes. Called with n.mu held.
func (n *Node) startWatch(ctx context.Context) {
	every := n.opts.StatePoll
	if every <= 0 {
		every = DefaultStatePoll
	}
	ctx, cancel := context.WithCancel(ctx)
	n.stopWatch = cancel
	n.watchWG.Add(1)
	go func() {
		defer n.watchWG.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		last := map[string]iface.State{}
		for {
			seen := map[string]bool{}
			for _, i := range n.Interfaces() {
				s := i.State()
				seen[i.Name()] = true
				if old, ok := last[i.Name()]; !ok || old != s {
					last[i.Name()] = s
					if ok || s == iface.StateUp {
						n.ev.emit(InterfaceEvent{Name: i.Name(), State: s})
					}
				}
			}
			for name := range last {
				if !seen[name] {
					delete(last, name)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// UpdateInterface replaces the named interface with one built from uri
// (which may carry a new name): the old one is stopped and detached first,
// so that a listener can keep its port. If the new one cannot start, the
// old one is restored and the error returned.
func (n *Node) UpdateInterface(name, uri string) (iface.Interface, error) {
	s, err := iface.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("update interface: %w", err)
	}
	var old iface.Spec
	found := false
	n.mu.Lock()
	for k, x := range n.ifs {
		if x.Name() == name {
			old, found = n.specs[k], true
		} else if x.Name() == s.Name {
			n.mu.Unlock()
			return nil, fmt.Errorf("update interface: %w: %q", ErrDuplicateInterface, s.Name)
		}
	}
	n.mu.Unlock()
	if !found {
		return nil, fmt.Errorf("update interface %q: %w", name, ErrNoInterface)
	}
	if err := n.RemoveInterface(name); err != nil {
		n.log.Warn("closing replaced interface", "interface", name, "error", err)
	}
	i, err := n.AddInterface(uri)
	if err != nil {
		if _, rerr := n.AddInterface(old.String()); rerr != nil {
			n.log.Warn("restoring replaced interface failed", "interface", name, "error", rerr)
		}
		return nil, fmt.Errorf("update interface: %w", err)
	}
	return i, nil
}

// Spec returns the parsed URI of the named interface.
func (n *Node) Spec(name string) (iface.Spec, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, x := range n.ifs {
		if x.Name() == name {
			return n.specs[k], true
		}
	}
	return iface.Spec{}, false
}

// Interface returns the named configured interface.
func (n *Node) Interface(name string) (iface.Interface, bool) {
	for _, i := range n.Interfaces() {
		if i.Name() == name {
			return i, true
		}
	}
	return nil, false
}
