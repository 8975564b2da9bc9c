package iface

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// AutoHardwareMTU is the reference AutoInterface's HW_MTU.
const AutoHardwareMTU = 1196

// Reference AutoInterface timing (RNS/Interfaces/AutoInterface.py).
const (
	autoAnnounceInterval = 1600 * time.Millisecond // ANNOUNCE_INTERVAL
	autoPeerJobInterval  = 4 * time.Second         // PEER_JOB_INTERVAL
	autoPeeringTimeout   = 22 * time.Second        // PEERING_TIMEOUT
	autoReversePeering   = 5200 * time.Millisecond // ANNOUNCE_INTERVAL*3.25
	autoMIFDequeLen      = 48                      // MULTI_IF_DEQUE_LEN
	autoMIFDequeTTL      = 750 * time.Millisecond  // MULTI_IF_DEQUE_TTL
	autoMaxPeers         = 1024
	autoBitrate          = 10_000_000
)

// autoIgnored reports devices never adopted: the reference's
// ALL_IGNORE_IFS and the Linux loopback, which has no link-local address
// anyway.
func autoIgnored(name string) bool { return name == "lo0" || name == "lo" }

// AutoMulticastAddress returns the reference's discovery multicast group
// for a group id: ff12:0: followed by six 16-bit words of SHA-256(group_id)
// bytes 2..13 (temporary address type, link scope), as computed in
// AutoInterface.__init__.
func AutoMulticastAddress(groupID string) net.IP {
	g := sha256.Sum256([]byte(groupID))
	ip := make(net.IP, net.IPv6len)
	ip[0], ip[1] = 0xff, 0x12
	copy(ip[4:], g[2:14])
	return ip
}

// AutoDiscoveryToken is the discovery packet an AutoInterface sends for a
// link-local address: SHA-256 of the group id followed by the address in
// its textual form without zone (AutoInterface.peer_announce).
func AutoDiscoveryToken(groupID string, linkLocal net.IP) [32]byte {
	return sha256.Sum256(append([]byte(groupID), linkLocal.String()...))
}

// autoDevice is one adopted network device.
type autoDevice struct {
	ifi        net.Interface
	lla        net.IP
	mc, uc, dc *net.UDPConn // multicast discovery, unicast discovery, data
}

// Auto is an AutoInterface: it finds peers on every adopted device by IPv6
// link-local multicast discovery, spawns one sub-interface per peer and
// exchanges frames with them as unicast UDP datagrams, interoperating with
// the reference's AutoInterface.
type Auto struct {
	spec  Spec
	opts  Options
	ctr   counters
	group []byte
	mcast net.IP
	now   func() time.Time

	announceEvery, jobEvery, peerTimeout, reverseEvery time.Duration

	mu      sync.Mutex
	devices []*autoDevice
	out     *net.UDPConn
	peers   map[string]*autoPeer
	mif     []mifEntry
	cancel  context.CancelFunc
	started bool
	closed  bool
	wg      sync.WaitGroup
}

type mifEntry struct {
	hash [32]byte
	at   time.Time
}

var _ Interface = (*Auto)(nil)

// NewAuto returns an AutoInterface for spec (Kind KindAuto). It does not
// touch the network until Start.
func NewAuto(spec Spec, opts Options) (*Auto, error) {
	mtu := opts.MTU
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("auto %s: %w", spec.Name, err)
	}
	if mtu <= 0 {
		o.MTU = AutoHardwareMTU
	}
	if spec.Kind != KindAuto {
		return nil, fmt.Errorf("auto %s: %w: kind %q", spec.Name, ErrBadURI, spec.Kind)
	}
	return &Auto{
		spec: spec, opts: o, group: []byte(spec.GroupID), mcast: AutoMulticastAddress(spec.GroupID), now: time.Now,
		announceEvery: autoAnnounceInterval, jobEvery: autoPeerJobInterval,
		peerTimeout: autoPeeringTimeout, reverseEvery: autoReversePeering,
		peers: map[string]*autoPeer{},
	}, nil
}

// Name implements Interface.
func (a *Auto) Name() string { return a.spec.Name }

// MTU implements Interface.
func (a *Auto) MTU() int { return a.opts.MTU }

// Bitrate implements Interface.
func (a *Auto) Bitrate() int { return autoBitrate }

// Parent implements Interface; none.
func (a *Auto) Parent() Interface { return nil }

// State implements Interface: up while at least one device is adopted.
func (a *Auto) State() State { return State(a.ctr.state.Load()) }

// MulticastAddress returns the discovery group of the interface.
func (a *Auto) MulticastAddress() net.IP { return a.mcast }

// Stats implements Interface; Clients counts peers.
func (a *Auto) Stats() Stats {
	st := a.ctr.snapshot(a.spec.Name, string(KindAuto))
	a.mu.Lock()
	st.Clients = len(a.peers)
	a.mu.Unlock()
	return st
}

// Clients returns the peer sub-interfaces.
func (a *Auto) Clients() []Interface {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Interface, 0, len(a.peers))
	for _, p := range a.peers {
		out = append(out, p)
	}
	return out
}

// Devices returns the names of the adopted devices.
func (a *Auto) Devices() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.devices))
	for _, d := range a.devices {
		out = append(out, d.ifi.Name)
	}
	return out
}

// Send implements Interface: to every peer.
func (a *Auto) Send(frame []byte) error {
	var errs []error
	for _, p := range a.Clients() {
		if err := p.Send(frame); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Start adopts the allowed devices that have an IPv6 link-local address,
// binds the discovery and data sockets and begins announcing. With no
// usable device it logs a warning and stays down, as the reference does.
func (a *Auto) Start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	if a.started {
		return errors.New("auto: already started")
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("auto %s: list devices: %w", a.spec.Name, err)
	}
	a.started = true
	ctx, a.cancel = context.WithCancel(ctx)
	out, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6unspecified})
	if err != nil {
		// No IPv6 here (a container without it, say): like a LAN without
		// usable devices, this is not fatal for the node.
		a.opts.Logger.Warn("auto interface has no IPv6; it provides no connectivity", "interface", a.spec.Name, "error", err)
		return nil
	}
	allowed, ignored := DeviceList(a.spec.Devices), DeviceList(a.spec.IgnoredDevices)
	for _, ifi := range ifs {
		if slices.Contains(ignored, ifi.Name) || autoIgnored(ifi.Name) {
			continue
		}
		if len(allowed) > 0 && !slices.Contains(allowed, ifi.Name) {
			continue
		}
		lla := linkLocal(ifi)
		if lla == nil {
			continue
		}
		d, err := a.openDevice(ifi, lla)
		if err != nil {
			a.opts.Logger.Warn("auto interface cannot use device", "interface", a.spec.Name, "device", ifi.Name, "error", err)
			continue
		}
		a.devices = append(a.devices, d)
	}
	a.out = out
	if len(a.devices) == 0 {
		a.opts.Logger.Warn("auto interface found no usable device; it provides no connectivity", "interface", a.spec.Name)
		return nil
	}
	a.ctr.setState(StateUp, a.now())
	for _, d := range a.devices {
		a.opts.Logger.Info("auto interface discovering", "interface", a.spec.Name, "device", d.ifi.Name,
			"link_local", d.lla.String(), "group", a.mcast.String())
		for _, c := range []*net.UDPConn{d.mc, d.uc} {
			a.goLoop(ctx, func(ctx context.Context) { a.discoveryLoop(ctx, d, c) })
		}
		a.goLoop(ctx, func(ctx context.Context) { a.dataLoop(ctx, d) })
	}
	a.goLoop(ctx, a.announceLoop)
	a.goLoop(ctx, a.jobLoop)
	return nil
}

func (a *Auto) goLoop(ctx context.Context, f func(context.Context)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f(ctx)
	}()
}

// linkLocal returns the first IPv6 link-local unicast address of ifi.
func linkLocal(ifi net.Interface) net.IP {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	for _, ad := range addrs {
		if n, ok := ad.(*net.IPNet); ok && n.IP.To4() == nil && n.IP.IsLinkLocalUnicast() {
			return n.IP
		}
	}
	return nil
}

func (a *Auto) openDevice(ifi net.Interface, lla net.IP) (*autoDevice, error) {
	d := &autoDevice{ifi: ifi, lla: lla}
	var err error
	if d.mc, err = net.ListenMulticastUDP("udp6", &ifi, &net.UDPAddr{IP: a.mcast, Port: a.spec.DiscoveryPort}); err != nil {
		return nil, fmt.Errorf("multicast discovery socket: %w", err)
	}
	if d.uc, err = net.ListenUDP("udp6", &net.UDPAddr{IP: lla, Port: a.spec.DiscoveryPort + 1, Zone: ifi.Name}); err != nil {
		_ = d.mc.Close()
		return nil, fmt.Errorf("unicast discovery socket: %w", err)
	}
	if d.dc, err = net.ListenUDP("udp6", &net.UDPAddr{IP: lla, Port: a.spec.DataPort, Zone: ifi.Name}); err != nil {
		_ = d.mc.Close()
		_ = d.uc.Close()
		return nil, fmt.Errorf("data socket: %w", err)
	}
	return d, nil
}

// Close stops discovery, closes every socket, detaches all peers and waits.
func (a *Auto) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	cancel, devices, out := a.cancel, a.devices, a.out
	peers := a.peers
	a.peers = map[string]*autoPeer{}
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	for _, d := range devices {
		_ = d.mc.Close()
		_ = d.uc.Close()
		_ = d.dc.Close()
	}
	if out != nil {
		_ = out.Close()
	}
	a.wg.Wait()
	for _, p := range peers {
		p.ctr.setState(StateDown, a.now())
		a.opts.Handler.Detach(p)
	}
	a.ctr.setState(StateDown, a.now())
	return nil
}

func (a *Auto) announceLoop(ctx context.Context) {
	t := time.NewTicker(a.announceEvery)
	defer t.Stop()
	for {
		a.announce()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// announce multicasts the discovery token on every device
// (AutoInterface.peer_announce).
func (a *Auto) announce() {
	a.mu.Lock()
	devices, out := a.devices, a.out
	a.mu.Unlock()
	for _, d := range devices {
		tok := AutoDiscoveryToken(a.spec.GroupID, d.lla)
		dst := &net.UDPAddr{IP: a.mcast, Port: a.spec.DiscoveryPort, Zone: d.ifi.Name}
		if _, err := out.WriteToUDP(tok[:], dst); err != nil {
			a.opts.Logger.Debug("auto discovery announce failed", "interface", a.spec.Name, "device", d.ifi.Name, "error", err)
		}
	}
}

func (a *Auto) jobLoop(ctx context.Context) {
	t := time.NewTicker(a.jobEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.peerJobs(a.now())
		}
	}
}

// peerJobs drops peers not heard from within the peering timeout and sends
// reverse peering tokens (AutoInterface.peer_jobs).
func (a *Auto) peerJobs(now time.Time) {
	var gone []*autoPeer
	var reverse []*autoPeer
	a.mu.Lock()
	for k, p := range a.peers {
		switch {
		case now.Sub(p.lastHeard) > a.peerTimeout:
			delete(a.peers, k)
			gone = append(gone, p)
		case now.Sub(p.lastOutbound) > a.reverseEvery:
			p.lastOutbound = now
			reverse = append(reverse, p)
		}
	}
	out := a.out
	a.mu.Unlock()
	for _, p := range gone {
		p.ctr.setState(StateDown, now)
		a.opts.Handler.Detach(p)
		a.opts.Logger.Info("auto peer timed out", "interface", p.name)
	}
	for _, p := range reverse {
		tok := AutoDiscoveryToken(a.spec.GroupID, p.dev.lla)
		dst := &net.UDPAddr{IP: p.addr, Port: a.spec.DiscoveryPort + 1, Zone: p.dev.ifi.Name}
		if out != nil {
			if _, err := out.WriteToUDP(tok[:], dst); err != nil {
				a.opts.Logger.Debug("auto reverse peering failed", "interface", p.name, "error", err)
			}
		}
	}
}

func (a *Auto) discoveryLoop(ctx context.Context, d *autoDevice, c *net.UDPConn) {
	buf := make([]byte, 1024)
	for {
		n, src, err := c.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		dev := d
		if src.Zone != "" && src.Zone != d.ifi.Name {
			if dev = a.device(src.Zone); dev == nil {
				continue // multicast for a device we did not adopt
			}
		}
		a.discovered(dev, src.IP, buf[:n])
	}
}

func (a *Auto) device(name string) *autoDevice {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range a.devices {
		if d.ifi.Name == name {
			return d
		}
	}
	return nil
}

// discovered handles one discovery packet from src on d
// (AutoInterface.discovery_handler and add_peer).
func (a *Auto) discovered(d *autoDevice, src net.IP, data []byte) {
	want := AutoDiscoveryToken(a.spec.GroupID, src)
	if len(data) < len(want) || !bytes.Equal(data[:len(want)], want[:]) {
		a.ctr.malformed.Add(1)
		return
	}
	now := a.now()
	a.mu.Lock()
	for _, own := range a.devices {
		if own.lla.Equal(src) {
			a.mu.Unlock()
			return // our own multicast echo
		}
	}
	key := src.String()
	if p, ok := a.peers[key]; ok {
		p.lastHeard = now
		a.mu.Unlock()
		return
	}
	if a.closed || len(a.peers) >= autoMaxPeers {
		a.mu.Unlock()
		return
	}
	p := &autoPeer{auto: a, dev: d, addr: src, name: a.spec.Name + "/" + d.ifi.Name + "/" + key,
		lastHeard: now, lastOutbound: now}
	p.dst = &net.UDPAddr{IP: src, Port: a.spec.DataPort, Zone: d.ifi.Name}
	p.ctr.setState(StateUp, now)
	a.peers[key] = p
	a.mu.Unlock()
	a.opts.Logger.Info("auto peer added", "interface", p.name)
	a.opts.Handler.Attach(p)
}

func (a *Auto) dataLoop(ctx context.Context, d *autoDevice) {
	buf := make([]byte, 65536)
	for {
		n, src, err := d.dc.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		a.received(src.IP, buf[:n])
	}
}

// received delivers a data datagram from a known peer, dropping copies of
// the same frame that arrive over several devices within the reference's
// MULTI_IF_DEQUE_TTL (AutoInterfacePeer.process_incoming).
func (a *Auto) received(src net.IP, data []byte) {
	if len(data) == 0 {
		return
	}
	now := a.now()
	h := sha256.Sum256(data)
	a.mu.Lock()
	p := a.peers[src.String()]
	if p == nil {
		a.mu.Unlock()
		return
	}
	for _, e := range a.mif {
		if e.hash == h && now.Sub(e.at) < autoMIFDequeTTL {
			a.mu.Unlock()
			return
		}
	}
	if len(a.mif) == autoMIFDequeLen {
		a.mif = a.mif[1:]
	}
	a.mif = append(a.mif, mifEntry{hash: h, at: now})
	p.lastHeard = now
	a.mu.Unlock()
	for _, c := range []*counters{&p.ctr, &a.ctr} {
		c.bytesIn.Add(uint64(len(data)))
	}
	if len(data) > a.opts.MTU {
		p.ctr.malformed.Add(1)
		a.ctr.malformed.Add(1)
		return
	}
	p.ctr.packetsIn.Add(1)
	a.ctr.packetsIn.Add(1)
	a.opts.Handler.Inbound(p, append([]byte(nil), data...))
}

// autoPeer is the sub-interface of one discovered peer
// (AutoInterfacePeer).
type autoPeer struct {
	auto *Auto
	dev  *autoDevice
	addr net.IP
	dst  *net.UDPAddr
	name string
	ctr  counters

	lastHeard, lastOutbound time.Time // guarded by auto.mu
}

var _ Interface = (*autoPeer)(nil)

func (p *autoPeer) Name() string                    { return p.name }
func (p *autoPeer) MTU() int                        { return p.auto.opts.MTU }
func (p *autoPeer) Bitrate() int                    { return autoBitrate }
func (p *autoPeer) Parent() Interface               { return p.auto }
func (p *autoPeer) State() State                    { return State(p.ctr.state.Load()) }
func (p *autoPeer) Stats() Stats                    { return p.ctr.snapshot(p.name, "auto-peer") }
func (p *autoPeer) Start(ctx context.Context) error { return nil }

// Close forgets the peer; it is found again by discovery.
func (p *autoPeer) Close() error {
	a := p.auto
	a.mu.Lock()
	key := p.addr.String()
	own := a.peers[key] == p
	if own {
		delete(a.peers, key)
	}
	a.mu.Unlock()
	if own {
		p.ctr.setState(StateDown, a.now())
		a.opts.Handler.Detach(p)
	}
	return nil
}

// Send transmits one frame to the peer's data port.
func (p *autoPeer) Send(frame []byte) error {
	if len(frame) > p.auto.opts.MTU {
		return ErrFrameTooLarge
	}
	p.auto.mu.Lock()
	out := p.auto.out
	p.auto.mu.Unlock()
	if out == nil || p.State() != StateUp {
		p.ctr.txDrops.Add(1)
		return ErrNotConnected
	}
	if _, err := out.WriteToUDP(frame, p.dst); err != nil {
		p.ctr.txDrops.Add(1)
		return fmt.Errorf("auto peer %s: send: %w", p.name, err)
	}
	for _, c := range []*counters{&p.ctr, &p.auto.ctr} {
		c.bytesOut.Add(uint64(len(frame)))
		c.packetsOut.Add(1)
	}
	return nil
}

// String describes the peer for logs.
func (p *autoPeer) String() string {
	return p.dev.ifi.Name + "/" + p.addr.String() + ":" + strconv.Itoa(p.auto.spec.DataPort)
}
