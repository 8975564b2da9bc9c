package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// wireNode is one live Reticle node driven by the suite's wire_* commands
// (a rns.Node with one TCP interface on 127.0.0.1 and a link.Manager).
type wireNode struct {
	handle string
	node   *rns.Node
	links  *link.Manager
	cancel context.CancelFunc
	dir    string
	port   int

	mu        sync.Mutex
	dests     map[wire.Hash]*wireDest
	outLinks  map[wire.Hash]*link.Link
	resources map[string]*link.Resource
	receipts  map[string]*link.PacketReceipt
	reqLog    map[string][]map[string]any
}

// wireDest is a local destination created by wire_announce or wire_listen.
type wireDest struct {
	d         *transport.Destination
	id        *identity.Identity
	app       string
	aspects   []string
	listening bool
	proveAll  bool
	strategy  string
	handlers  map[string]link.Handler

	// guarded by wireNode.mu
	linkData      [][]byte
	opportunistic [][]byte
	resources     [][]byte
	inbound       []*link.Link
	inRes         []*inRecord
}

// inRecord observes one accepted inbound resource on a listener.
type inRecord struct {
	hash      wire.FullHash
	compressd bool
	res       *link.Resource
	concluded bool
	data      []byte
}

// record returns the record of an inbound resource. Called with w.mu held.
func (wd *wireDest) record(h wire.FullHash) *inRecord {
	for i := len(wd.inRes) - 1; i >= 0; i-- {
		if wd.inRes[i].hash == h {
			return wd.inRes[i]
		}
	}
	return nil
}

// appAcceptMax is the ACCEPT_APP boundary of the reference bridge: accept
// a resource iff its advertised data size is at most this.
const appAcceptMax = 4096

func (b *bridge) addWireCommands() {
	for k, v := range map[string]func(p params) (map[string]any, error){
		"wire_start_tcp_server":         b.wireStartServer,
		"wire_start_tcp_client":         b.wireStartClient,
		"wire_stop":                     b.wireStop,
		"wire_announce":                 b.wireAnnounce,
		"wire_listen":                   b.wireListen,
		"wire_poll_path":                b.wirePollPath,
		"wire_request_path":             b.wireRequestPath,
		"wire_read_path_entry":          b.wireReadPathEntry,
		"wire_identity_recall":          b.wireIdentityRecall,
		"wire_transport_enabled":        b.wireTransportEnabled,
		"wire_tx_bytes":                 b.wireTxBytes,
		"wire_link_open":                b.wireLinkOpen,
		"wire_link_send":                b.wireLinkSend,
		"wire_link_poll":                b.wireLinkPoll,
		"wire_link_status":              b.wireLinkStatus,
		"wire_link_await_status":        b.wireLinkAwaitStatus,
		"wire_link_teardown":            b.wireLinkTeardown,
		"wire_link_mtu":                 b.wireLinkMTU,
		"wire_link_identify":            b.wireLinkIdentify,
		"wire_listener_link_status":     b.wireListenerLinkStatus,
		"wire_resource_send":            b.wireResourceSend,
		"wire_resource_poll":            b.wireResourcePoll,
		"wire_resource_cancel":          b.wireResourceCancel,
		"wire_resource_receiver_status": b.wireResourceReceiverStatus,
		"wire_send_link_data":           b.wireSendLinkData,
		"wire_set_proof_strategy":       b.wireSetProofStrategy,
		"wire_packet_receipt_status":    b.wirePacketReceiptStatus,
		"wire_register_request_handler": b.wireRegisterRequestHandler,
		"wire_link_request":             b.wireLinkRequest,
		"wire_link_request_large":       b.wireLinkRequestLarge,
		"wire_get_request_log":          b.wireGetRequestLog,
		"wire_send_opportunistic":       b.wireSendOpportunistic,
		"wire_opportunistic_poll":       b.wireOpportunisticPoll,
		"wire_set_race_inducer":         func(params) (map[string]any, error) { return map[string]any{"set": false}, nil },
	} {
		b.commands[k] = v
	}
}

func randomHandle() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// ifacQuery returns the access code query parameters of an interface URI.
func ifacQuery(p params, name string) string {
	q := url.Values{}
	q.Set("name", name)
	if s := p.str("network_name"); s != "" {
		q.Set("network_name", s)
	}
	if s := p.str("passphrase"); s != "" {
		q.Set("passphrase", s)
	}
	if p.has("ifac_size") {
		q.Set("ifac_size", strconv.Itoa(p.int("ifac_size", 0)))
	}
	return q.Encode()
}

// startNode builds and starts a node with one interface.
func (b *bridge) startNode(uri string, transportOn bool) (*wireNode, error) {
	dir, err := os.MkdirTemp("", "reticle_wire_")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	n, err := rns.New(rns.Options{Interfaces: []string{uri}, DataDir: dir, Transport: transportOn})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	lm, err := n.NewLinks(link.Options{})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.Start(ctx); err != nil {
		cancel()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start node: %w", err)
	}
	if err := lm.Start(ctx); err != nil {
		cancel()
		_ = n.Close()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start links: %w", err)
	}
	w := &wireNode{
		handle: randomHandle(), node: n, links: lm, cancel: cancel, dir: dir,
		dests: map[wire.Hash]*wireDest{}, outLinks: map[wire.Hash]*link.Link{},
		resources: map[string]*link.Resource{}, receipts: map[string]*link.PacketReceipt{}, reqLog: map[string][]map[string]any{},
	}
	b.wmu.Lock()
	b.nodes[w.handle] = w
	b.wmu.Unlock()
	return w, nil
}

// transportFlag reads enable_transport: absent means def, null means off.
func transportFlag(p params, def bool) bool {
	v, ok := p["enable_transport"]
	if !ok {
		return def
	}
	if v == nil {
		return false
	}
	return p.bool("enable_transport")
}

func (b *bridge) wireStartServer(p params) (map[string]any, error) {
	if p.bool("share_instance") {
		return nil, errors.New("share_instance is not implemented by the reticle bridge")
	}
	port := p.int("bind_port", 0)
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	tr := transportFlag(p, true)
	uri := fmt.Sprintf("tcp-server://127.0.0.1:%d?%s", port, ifacQuery(p, "Wire TCP Server"))
	w, err := b.startNode(uri, tr)
	if err != nil {
		return nil, err
	}
	w.port = port
	tid := w.node.Transport().ID()
	return map[string]any{"handle": w.handle, "port": port, "identity_hash": hx(tid[:]), "transport_enabled": tr}, nil
}

func (b *bridge) wireStartClient(p params) (map[string]any, error) {
	host := p.str("target_host")
	if host == "" {
		host = "127.0.0.1"
	}
	port := p.int("target_port", 0)
	if port <= 0 || port > 65535 {
		return nil, errors.New("missing or bad target_port")
	}
	uri := fmt.Sprintf("tcp-client://%s?%s", net.JoinHostPort(host, strconv.Itoa(port)), ifacQuery(p, "Wire TCP Client"))
	w, err := b.startNode(uri, transportFlag(p, false))
	if err != nil {
		return nil, err
	}
	// The reference's TCPClientInterface connects in its constructor, so
	// the suite expects a connected client; ours connects in the background.
	pollUntil(5*time.Second, func() bool {
		for _, i := range w.node.Interfaces() {
			if i.State() != iface.StateUp {
				return false
			}
		}
		return true
	})
	tid := w.node.Transport().ID()
	return map[string]any{"handle": w.handle, "identity_hash": hx(tid[:])}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (b *bridge) nodeFor(p params) (*wireNode, error) {
	h := p.str("handle")
	b.wmu.Lock()
	defer b.wmu.Unlock()
	w, ok := b.nodes[h]
	if !ok {
		return nil, fmt.Errorf("unknown handle: %q", h)
	}
	return w, nil
}

func (w *wireNode) close() {
	_ = w.links.Close()
	_ = w.node.Close()
	w.cancel()
	_ = os.RemoveAll(w.dir)
}

func (b *bridge) wireStop(p params) (map[string]any, error) {
	h := p.str("handle")
	b.wmu.Lock()
	w, ok := b.nodes[h]
	delete(b.nodes, h)
	b.wmu.Unlock()
	if !ok {
		return map[string]any{"stopped": false}, nil
	}
	w.close()
	return map[string]any{"stopped": true}, nil
}

// closeAll stops every node and transport (at the end of input).
func (b *bridge) closeAll() {
	b.wmu.Lock()
	nodes, beh := b.nodes, b.beh
	b.nodes, b.beh = map[string]*wireNode{}, map[string]*behNode{}
	b.wmu.Unlock()
	for _, w := range nodes {
		w.close()
	}
	for _, n := range beh {
		n.close()
	}
}

func hashParam(p params, k string) (wire.Hash, error) {
	raw, err := p.hex(k)
	if err != nil {
		return wire.Hash{}, err
	}
	return wire.HashFromBytes(raw)
}

// newDest registers a fresh SINGLE IN destination with its own identity.
func (w *wireNode) newDest(p params, proof transport.ProofStrategy) (*wireDest, error) {
	id, err := identity.Generate()
	if err != nil {
		return nil, err
	}
	wd := &wireDest{id: id, app: p.str("app_name"), aspects: p.list("aspects"), handlers: map[string]link.Handler{}}
	if err := w.register(wd, proof); err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.dests[wd.d.Hash()] = wd
	w.mu.Unlock()
	return wd, nil
}

// register (re-)registers wd's destination with a proof strategy.
func (w *wireNode) register(wd *wireDest, proof transport.ProofStrategy) error {
	d, err := w.node.RegisterDestination(transport.DestinationConfig{
		Identity: wd.id, App: wd.app, Aspects: wd.aspects, Proof: proof,
		OnPacket: func(dl transport.Delivery) {
			w.mu.Lock()
			wd.opportunistic = append(wd.opportunistic, append([]byte(nil), dl.Data...))
			w.mu.Unlock()
		},
		// PROVE_APP: the reference bridge's callback proves iff the first
		// plaintext byte is 0x01.
		ProofRequested: func(dl transport.Delivery) bool { return len(dl.Data) > 0 && dl.Data[0] == 0x01 },
	})
	if err != nil {
		return err
	}
	wd.d = d
	return nil
}

func announceData(p params) []byte {
	if ad, err := p.optHex("app_data"); err == nil && len(ad) > 0 {
		return ad
	}
	if p.bool("app_data_empty") {
		return []byte{}
	}
	return nil
}

// announce announces a destination. As Destination.announce in the
// reference, an announce that no interface could carry yet is not an error.
func (w *wireNode) announce(wd *wireDest, appData []byte) error {
	if err := w.node.Announce(wd.d, appData); err != nil && !errors.Is(err, transport.ErrNotSent) {
		return err
	}
	return nil
}

func (b *bridge) wireAnnounce(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	if p.bool("enable_ratchets") {
		return nil, errors.New("enable_ratchets is not implemented by the reticle bridge")
	}
	wd, err := w.newDest(p, transport.ProveNone)
	if err != nil {
		return nil, err
	}
	if err := w.announce(wd, announceData(p)); err != nil {
		return nil, err
	}
	h, ih := wd.d.Hash(), wd.id.Hash()
	return map[string]any{"destination_hash": hx(h[:]), "identity_hash": hx(ih[:])}, nil
}

func (b *bridge) wireListen(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	if p.bool("enable_ratchets") {
		return nil, errors.New("enable_ratchets is not implemented by the reticle bridge")
	}
	strategy := "all"
	if s := p.str("resource_strategy"); s != "" {
		strategy = s
	}
	if strategy != "all" && strategy != "none" && strategy != "app" {
		return nil, fmt.Errorf("resource_strategy must be all, none or app (got %q)", strategy)
	}
	proof := transport.ProveNone
	switch ps := p.str("proof_strategy"); ps {
	case "", "none":
	case "all":
		proof = transport.ProveAll
	default:
		return nil, fmt.Errorf("unsupported proof_strategy %q", ps)
	}
	wd, err := w.newDest(p, proof)
	if err != nil {
		return nil, err
	}
	wd.strategy, wd.proveAll = strategy, proof == transport.ProveAll
	wd.listening = true
	if err := w.links.Listen(wd.d, w.listenConfig(wd)); err != nil {
		return nil, err
	}
	if err := w.announce(wd, nil); err != nil {
		return nil, err
	}
	h, ih := wd.d.Hash(), wd.id.Hash()
	return map[string]any{
		"destination_hash": hx(h[:]), "identity_hash": hx(ih[:]),
		"public_key": hx(wd.id.PublicKey()), "resource_strategy": strategy,
	}, nil
}

// listenConfig builds the inbound link configuration of a listening
// destination. Called with w.mu not held.
func (w *wireNode) listenConfig(wd *wireDest) link.ListenConfig {
	cb := link.Callbacks{
		Established: func(l *link.Link) {
			w.mu.Lock()
			wd.inbound = append(wd.inbound, l)
			w.mu.Unlock()
		},
		Packet: func(_ *link.Link, data []byte) {
			w.mu.Lock()
			wd.linkData = append(wd.linkData, append([]byte(nil), data...))
			w.mu.Unlock()
		},
		ResourceAdvertised: func(_ *link.Link, a *link.Advertisement) bool {
			ok := wd.strategy == "all" || (wd.strategy == "app" && a.DataSize <= appAcceptMax)
			if ok && a.SegmentIndex <= 1 {
				w.mu.Lock()
				wd.inRes = append(wd.inRes, &inRecord{hash: a.OriginalHash, compressd: a.Compressed()})
				w.mu.Unlock()
			}
			return ok
		},
		ResourceProgress: func(_ *link.Link, r *link.Resource) {
			w.mu.Lock()
			if rec := wd.record(r.Hash()); rec != nil {
				rec.res = r
			}
			w.mu.Unlock()
		},
		ResourceConcluded: func(_ *link.Link, r *link.Resource) {
			w.mu.Lock()
			defer w.mu.Unlock()
			rec := wd.record(r.Hash())
			if rec == nil {
				rec = &inRecord{hash: r.Hash()}
				wd.inRes = append(wd.inRes, rec)
			}
			rec.res, rec.concluded = r, true
			if r.Err() != nil {
				return
			}
			rec.data = r.Data()
			wd.resources = append(wd.resources, rec.data)
		},
	}
	w.mu.Lock()
	hs := make([]link.Handler, 0, len(wd.handlers))
	for _, h := range wd.handlers {
		hs = append(hs, h)
	}
	w.mu.Unlock()
	return link.ListenConfig{Callbacks: cb, Handlers: hs, ProveAll: wd.proveAll}
}

// pollUntil calls f every 50 ms until it reports true or timeout passes.
func pollUntil(timeout time.Duration, f func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func msParam(p params, k string, def int) time.Duration {
	ms := p.int(k, def)
	if ms < 0 {
		ms = 0
	}
	if ms > 600000 {
		ms = 600000
	}
	return time.Duration(ms) * time.Millisecond
}

func (b *bridge) wirePollPath(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	dest, err := hashParam(p, "destination_hash")
	if err != nil {
		return nil, err
	}
	tr := w.node.Transport()
	if pollUntil(msParam(p, "timeout_ms", 5000), func() bool { return tr.HasPath(dest) }) {
		pi, _ := tr.Path(dest)
		return map[string]any{"found": true, "hops": int(pi.Hops)}, nil
	}
	return map[string]any{"found": false, "hops": nil}, nil
}

func (b *bridge) wireRequestPath(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	dest, err := hashParam(p, "destination_hash")
	if err != nil {
		return nil, err
	}
	if err := w.node.RequestPath(dest); err != nil {
		return nil, err
	}
	return map[string]any{"sent": true}, nil
}

func (b *bridge) wireReadPathEntry(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	dest, err := hashParam(p, "destination_hash")
	if err != nil {
		return nil, err
	}
	pi, ok := w.node.Transport().Path(dest)
	if !ok {
		return map[string]any{"found": false}, nil
	}
	return map[string]any{
		"found": true, "timestamp": pi.Updated.UnixMilli(), "expires": pi.Expires.UnixMilli(),
		"hops": int(pi.Hops), "next_hop": hx(pi.NextHop[:]), "receiving_interface_name": pi.Interface,
	}, nil
}

func (b *bridge) wireIdentityRecall(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	if p.bool("from_identity_hash") {
		return nil, errors.New("recall by identity hash is not implemented by the reticle bridge")
	}
	dest, err := hashParam(p, "destination_hash")
	if err != nil {
		return nil, err
	}
	var id *identity.Identity
	var appData []byte
	pollUntil(msParam(p, "timeout_ms", 0), func() bool {
		var ok bool
		id, appData, ok = w.node.Transport().Recall(dest)
		return ok
	})
	if id == nil {
		return map[string]any{"found": false, "app_data": nil}, nil
	}
	ih := id.Hash()
	res := map[string]any{"found": true, "public_key": hx(id.PublicKey()), "hash": hx(ih[:]), "app_data": nil}
	if appData != nil {
		res["app_data"] = hx(appData)
	}
	return res, nil
}

func (b *bridge) wireTransportEnabled(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	on := w.node.Transport().IsTransport()
	return map[string]any{"transport_enabled": on, "is_shared_instance": false, "is_connected_to_shared_instance": false}, nil
}

func (b *bridge) wireTxBytes(p params) (map[string]any, error) {
	w, err := b.nodeFor(p)
	if err != nil {
		return nil, err
	}
	var tx uint64
	for _, s := range w.node.InterfaceStats() {
		tx += s.BytesOut
	}
	return map[string]any{"tx_bytes": tx}, nil
}
