package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
)

// behNode is one transport driven by the suite's behavioral_* commands:
// a real transport.Transport whose only interfaces are mock interfaces
// the suite injects frames into and drains frames from.
type behNode struct {
	tr     *transport.Transport
	cancel context.CancelFunc

	mu         sync.Mutex
	ifs        map[string]*mockIface
	deliveries map[string][][]byte // destination hash hex -> plaintexts
	handlers   map[string]*annHandler
}

// annHandler records the announces transport dispatched to one handler.
type annHandler struct {
	remove     func()
	registered bool
	fourParams bool
	calls      []map[string]any
}

// mockIface is a zero-wire interface: Send queues frames for drain_tx.
type mockIface struct {
	name string
	mtu  int

	mu sync.Mutex
	tx [][]byte
}

func (m *mockIface) Name() string                { return m.name }
func (m *mockIface) Start(context.Context) error { return nil }
func (m *mockIface) Close() error                { return nil }
func (m *mockIface) MTU() int                    { return m.mtu }
func (m *mockIface) Bitrate() int                { return 10_000_000 }
func (m *mockIface) State() iface.State          { return iface.StateUp }
func (m *mockIface) Parent() iface.Interface     { return nil }
func (m *mockIface) Stats() iface.Stats          { return iface.Stats{Name: m.name, Kind: "mock", State: "up"} }

func (m *mockIface) Send(frame []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tx = append(m.tx, append([]byte(nil), frame...))
	return nil
}

func (m *mockIface) drain() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.tx))
	for _, f := range m.tx {
		out = append(out, hx(f))
	}
	m.tx = nil
	return out
}

func (b *bridge) addBehavioralCommands() {
	for k, v := range map[string]handler{
		"behavioral_start":                       b.behStart,
		"behavioral_stop":                        b.behStop,
		"behavioral_attach_mock_interface":       b.behAttach,
		"behavioral_inject":                      b.behInject,
		"behavioral_drain_tx":                    b.behDrain,
		"behavioral_read_path_table":             b.behReadPath,
		"behavioral_register_destination":        b.behRegister,
		"behavioral_read_destination_deliveries": b.behDeliveries,
		"behavioral_register_announce_handler":   b.behRegisterAnnounceHandler,
		"behavioral_read_announce_handler_calls": b.behReadAnnounceHandlerCalls,
		"behavioral_detach_interface":            b.behDetach,
	} {
		b.commands[k] = v
	}
}

func seedIdentity(p params, k string) (*identity.Identity, error) {
	if !p.has(k) {
		return identity.Generate()
	}
	seed, err := p.hex(k)
	if err != nil {
		return nil, err
	}
	if len(seed) != 64 {
		return nil, fmt.Errorf("%s must be 64 bytes (32 enc + 32 sig)", k)
	}
	return identity.FromPrivateKey(seed)
}

func (b *bridge) behStart(p params) (map[string]any, error) {
	if p.bool("connected_to_shared_instance") {
		return nil, errors.New("connected_to_shared_instance is not implemented by the reticle bridge")
	}
	id, err := seedIdentity(p, "identity_seed")
	if err != nil {
		return nil, err
	}
	on := true
	if p.has("enable_transport") {
		on = p.bool("enable_transport")
	}
	tr, err := transport.New(transport.Options{Identity: id, Transport: on})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := tr.Start(ctx); err != nil {
		cancel()
		return nil, err
	}
	n := &behNode{tr: tr, cancel: cancel, ifs: map[string]*mockIface{}, deliveries: map[string][][]byte{}, handlers: map[string]*annHandler{}}
	h := randomHandle()
	b.wmu.Lock()
	b.beh[h] = n
	b.wmu.Unlock()
	ih := id.Hash()
	return map[string]any{"handle": h, "identity_hash": hx(ih[:])}, nil
}

func (b *bridge) behFor(p params) (*behNode, error) {
	h := p.str("handle")
	b.wmu.Lock()
	defer b.wmu.Unlock()
	n, ok := b.beh[h]
	if !ok {
		return nil, fmt.Errorf("unknown handle: %q", h)
	}
	return n, nil
}

func (n *behNode) close() {
	_ = n.tr.Close()
	n.cancel()
}

func (b *bridge) behStop(p params) (map[string]any, error) {
	h := p.str("handle")
	b.wmu.Lock()
	n, ok := b.beh[h]
	delete(b.beh, h)
	b.wmu.Unlock()
	if !ok {
		return map[string]any{"stopped": false}, nil
	}
	n.close()
	return map[string]any{"stopped": true}, nil
}

func (b *bridge) behAttach(p params) (map[string]any, error) {
	n, err := b.behFor(p)
	if err != nil {
		return nil, err
	}
	if p.bool("local_client") || p.has("ifac_netname") || p.has("ifac_netkey") {
		return nil, errors.New("local_client and IFAC mock interfaces are not implemented by the reticle bridge")
	}
	if m := strings.ToUpper(p.str("mode")); m != "" && m != "FULL" {
		return nil, fmt.Errorf("interface mode %s is not implemented by pkg/rns/iface", m)
	}
	name := p.str("name")
	if name == "" {
		return nil, errors.New("missing param \"name\"")
	}
	m := &mockIface{name: name, mtu: p.int("mtu", 500)}
	id := randomHandle()[:12]
	n.mu.Lock()
	n.ifs[id] = m
	n.mu.Unlock()
	n.tr.Attach(m)
	ih := identity.FullHash([]byte(name))
	return map[string]any{"iface_id": id, "interface_hash": hx(ih[:]), "ifac_size": 0}, nil
}

func (n *behNode) iface(p params) (*mockIface, error) {
	id := p.str("iface_id")
	n.mu.Lock()
	defer n.mu.Unlock()
	m, ok := n.ifs[id]
	if !ok {
		return nil, fmt.Errorf("unknown iface_id: %q", id)
	}
	return m, nil
}

func (b *bridge) behInject(p params) (map[string]any, error) {
	n, err := b.behFor(p)
	if err != nil {
		return nil, err
	}
	m, err := n.iface(p)
	if err != nil {
		return nil, err
	}
	raw, err := p.hex("raw")
	if err != nil {
		return nil, err
	}
	n.tr.Inbound(m, raw)
	return map[string]any{}, nil
}

func (b *bridge) behDrain(p params) (map[string]any, error) {
	n, err := b.behFor(p)
	if err != nil {
		return nil, err
	}
	m, err := n.iface(p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"packets": m.drain()}, nil
}

func (b *bridge) behReadPath(p params) (map[string]any, error) {
	n, err := b.behFor(p)
	if err != nil {
		return nil, err
	}
	dest, err := hashParam(p, "dest")
	if err != nil {
		return nil, err
	}
	pi, ok := n.tr.Path(dest)
	if !ok {
		return map[string]any{"found": false}, nil
	}
	ih := identity.FullHash([]byte(pi.Interface))
	return map[string]any{
		"found": true, "hops": int(pi.Hops), "next_hop": hx(pi.NextHop[:]),
		"timestamp": float64(pi.Updated.UnixNano()) / 1e9, "expires": float64(pi.Expires.UnixNano()) / 1e9,
		// Not exposed by transport.PathInfo.
		"random_blobs": []string{}, "packet_hash": nil,
		"receiving_interface": pi.Interface, "receiving_interface_hash": hx(ih[:]),
	}, nil
}

func (b *bridge) behRegister(p params) (map[string]any, error) {
	n, err := b.behFor(p)
	if err != nil {
		return nil, err
	}
	if t := strings.ToLower(p.str("type")); t != "" && t != "single" {
		return nil, fmt.Errorf("destination type %s is not implemented by the reticle bridge", t)
	}
	id, err := seedIdentity(p, "identity_seed")
	if err != nil {
		return nil, err
	}
	proof := transport.ProveNone
	switch s := strings.ToLower(p.str("proof_strategy")); s {
	case "", "none":
	case "all":
		proof = transport.ProveAll
	case "app":
		proof = transport.ProveApp
	default:
		return nil, fmt.Errorf("unknown proof_strategy %q", s)
	}
	var key string
	d, err := n.tr.Register(transport.DestinationConfig{
		Identity: id, App: p.str("app_name"), Aspects: p.list("aspects"), Proof: proof,
		OnPacket: func(dl transport.Delivery) {
			n.mu.Lock()
			n.deliveries[key] = append(n.deliveries[key], append([]byte(nil), dl.Data...))
			n.mu.Unlock()
		},
	})
	if err != nil {
		return nil, err
	}
	h := d.Hash()
	n.mu.Lock()
	key = hx(h[:])
	n.mu.Unlock()
	return map[string]any{"destination_hash": hx(h[:])}, nil
}

func (b *bridge) behDeliveries(p params) (map[string]any, error) {
	n, err := b.behFor(p)
	if err != nil {
		return nil, err
	}
	dest, err := hashParam(p, "dest")
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	out := []string{}
	for _, d := range n.deliveries[hx(dest[:])] {
		out = append(out, hx(d))
	}
	return map[string]any{"count": len(out), "deliveries": out}, nil
}

func (b *bridge) behRegisterAnnounceHandler(p params) (map[string]any, error) {
	n, err := b.behFor(p)
	if err != nil {
		return nil, err
	}
	if p.bool("raise_on_call") {
		return nil, errors.New("raise_on_call has no Go equivalent (a handler cannot raise into transport)")
	}
	hid := randomHandle()
	h := &annHandler{fourParams: p.int("num_params", 3) == 4}
	n.mu.Lock()
	n.handlers[hid] = h
	n.mu.Unlock()
	if p.bool("omit_aspect_filter") {
		// The reference refuses a handler without an aspect_filter
		// attribute; a Go handler always has one, so nothing is registered.
		return map[string]any{"handler_id": hid, "registered": false}, nil
	}
	remove := n.tr.HandleAnnounces(p.str("aspect_filter"), p.bool("receive_path_responses"), func(a transport.Announce) {
		c := map[string]any{"destination_hash": hx(a.Destination[:]), "announced_identity_hash": nil, "app_data": nil}
		if a.Identity != nil {
			ih := a.Identity.Hash()
			c["announced_identity_hash"] = hx(ih[:])
		}
		if a.AppData != nil {
			c["app_data"] = hx(a.AppData)
		}
		n.mu.Lock()
		if h.fourParams {
			c["announce_packet_hash"] = hx(a.PacketHash[:])
		}
		h.calls = append(h.calls, c)
		n.mu.Unlock()
	})
	n.mu.Lock()
	h.remove, h.registered = remove, true
	n.mu.Unlock()
	return map[string]any{"handler_id": hid, "registered": true}, nil
}

func (b *bridge) behReadAnnounceHandlerCalls(p params) (map[string]any, error) {
	n, err := b.behFor(p)
	if err != nil {
		return nil, err
	}
	hid := p.str("handler_id")
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.handlers[hid]
	if !ok {
		return nil, fmt.Errorf("unknown announce handler_id: %q", hid)
	}
	calls := append([]map[string]any{}, h.calls...)
	return map[string]any{"calls": calls, "registered": h.registered}, nil
}

func (b *bridge) behDetach(p params) (map[string]any, error) {
	n, err := b.behFor(p)
	if err != nil {
		return nil, err
	}
	m, err := n.iface(p)
	if err != nil {
		return nil, err
	}
	n.tr.Detach(m)
	n.mu.Lock()
	delete(n.ifs, p.str("iface_id"))
	n.mu.Unlock()
	return map[string]any{"detached": true}, nil
}
