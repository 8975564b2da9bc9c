package transport

import (
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// SetLinkHandler installs (or, with nil, removes) the link layer after
// construction, for a link layer built on an existing transport. It
// replaces Options.Links.
func (t *Transport) SetLinkHandler(h LinkHandler) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.opts.Links = h
}

// SendLink sends a packet on an established link out of the link's
// attached interface, checked against that interface's MTU rather than the
// network default, since a link may have negotiated a larger MTU
// (Link.attached_interface in the reference).
func (t *Transport) SendLink(p *wire.Packet, via iface.Interface) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.ifs[via]
	if st == nil {
		return fmt.Errorf("send link packet: interface not attached: %w", ErrNotSent)
	}
	raw, err := p.MarshalMTU(st.i.MTU())
	if err != nil {
		return fmt.Errorf("send link packet: %w", err)
	}
	if !t.transmit(st, raw) {
		return fmt.Errorf("send link packet on %s: %w", st.i.Name(), ErrNotSent)
	}
	return nil
}

// PathMTU returns the hardware MTU of the interface on the path to dest,
// for link MTU signalling (Transport.next_hop_interface_hw_mtu).
func (t *Transport) PathMTU(dest wire.Hash) (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pe := t.paths[dest]
	if pe == nil {
		return 0, false
	}
	return pe.st.i.MTU(), true
}

// Interface is iface.Interface under the transport's name, so that the
// link layer implements LinkHandler and names attached interfaces without
// importing pkg/rns/iface (see DESIGN.md's import table).
type Interface = iface.Interface
