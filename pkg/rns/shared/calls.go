package shared

import (
	"math"
	"sort"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Reference constants used in timeout answers (RNS/Reticulum.py).
const (
	refMTU            = 500
	perHopTimeout     = 6.0
	minimumBitrate    = 5
	modeFull          = 1 // Interface.MODE_FULL
	hashLen           = wire.TruncatedHashLen
	maxTableRows      = 65536
	typeLocalServer   = "LocalServerInterface"
	typeLocalClient   = "LocalClientInterface"
	typeTCPClient     = "TCPClientInterface"
	typeTCPServer     = "TCPServerInterface"
	typeUDP           = "UDPInterface"
	typeAuto          = "AutoInterface"
	typeAutoPeer      = "AutoInterfacePeer"
	prefixSharedInst  = "Shared Instance["
	prefixLocalClient = "LocalInterface["
)

func str(s string) msgpack.Value { return msgpack.Str(s) }

func kv(k string, v msgpack.Value) msgpack.KV { return msgpack.KV{Key: str(k), Value: v} }

// dispatch answers one decoded call, as the reference's rpc_loop; ok is
// false for calls it does not know (the reference sends no reply then).
func (s *Server) dispatch(call msgpack.Value) (msgpack.Value, bool) {
	if call.Kind() != msgpack.KindMap {
		return msgpack.Value{}, false
	}
	field := func(k string) msgpack.Value {
		v, _ := call.Get(str(k))
		return v
	}
	hashArg := func(k string) (wire.Hash, bool) {
		b, ok := field(k).AsBin()
		if !ok || len(b) != hashLen {
			return wire.Hash{}, false
		}
		return wire.Hash(b), true
	}
	if get, ok := field("get").AsStr(); ok {
		tr := s.opts.Transport
		switch get {
		case "interface_stats":
			return s.interfaceStats(), true
		case "path_table":
			maxHops := -1
			if n, ok := field("max_hops").AsInt(); ok {
				maxHops = int(n)
			}
			return s.pathTable(maxHops), true
		case "rate_table", "blackholed_identities":
			if get == "blackholed_identities" {
				return msgpack.Map(), true
			}
			return msgpack.Array(), true
		case "next_hop_if_name":
			h, ok := hashArg("destination_hash")
			if p, found := tr.Path(h); ok && found {
				return str(s.displayName(p.Interface)), true
			}
			return str("None"), true
		case "next_hop":
			h, ok := hashArg("destination_hash")
			if p, found := tr.Path(h); ok && found {
				return msgpack.Bin(p.NextHop[:]), true
			}
			return msgpack.Nil(), true
		case "first_hop_timeout":
			h, _ := hashArg("destination_hash")
			return msgpack.Float(s.firstHopTimeout(h)), true
		case "lowest_interface_bitrate":
			if b := s.lowestBitrate(); b > 0 {
				return msgpack.Int(int64(b)), true
			}
			return msgpack.Nil(), true
		case "medium_path_timeout":
			b := s.lowestBitrate()
			if b == 0 {
				return msgpack.Int(0), true
			}
			return msgpack.Float(2*(refMTU*8/float64(max(b, minimumBitrate))) + perHopTimeout), true
		case "link_count", "active_link_count":
			return msgpack.Int(0), true
		case "packet_rssi", "packet_snr", "packet_q", "profiling_results":
			return msgpack.Nil(), true
		case "is_blackholed":
			return msgpack.Bool(false), true
		}
		return msgpack.Value{}, false
	}
	for _, k := range []string{"drop", "manage", "blackhole_identity", "unblackhole_identity"} {
		if _, ok := call.Get(str(k)); ok {
			// Not supported here: report failure, as the reference does
			// for things it cannot do.
			return msgpack.Bool(false), true
		}
	}
	for _, k := range []string{"destination_data", "identity_data"} {
		if _, ok := call.Get(str(k)); ok {
			// Reticle keeps known destinations itself; acknowledge.
			return msgpack.Bool(true), true
		}
	}
	return msgpack.Value{}, false
}

func (s *Server) firstHopTimeout(h wire.Hash) float64 {
	p, ok := s.opts.Transport.Path(h)
	if !ok {
		return perHopTimeout
	}
	for _, i := range s.allInterfaces() {
		if i.Name() == p.Interface && i.Bitrate() > 0 {
			return refMTU*(8/float64(i.Bitrate())) + perHopTimeout
		}
	}
	return perHopTimeout
}

func (s *Server) lowestBitrate() int {
	lowest := 0
	for _, i := range s.opts.Interfaces() {
		if i.State() == iface.StateUp && i.Bitrate() > 0 && (lowest == 0 || i.Bitrate() < lowest) {
			lowest = i.Bitrate()
		}
	}
	return lowest
}

// allInterfaces lists the top-level interfaces followed by the
// sub-interfaces of servers, as the reference's Transport.interfaces holds
// spawned interfaces too.
func (s *Server) allInterfaces() []iface.Interface {
	top := s.opts.Interfaces()
	out := append([]iface.Interface(nil), top...)
	for _, i := range top {
		if c, ok := i.(interface{ Clients() []iface.Interface }); ok {
			sub := c.Clients()
			sort.Slice(sub, func(a, b int) bool { return sub[a].Name() < sub[b].Name() })
			out = append(out, sub...)
		}
	}
	return out
}

// refNames returns the reference-style display name (its str(interface))
// and class name of an interface, which rnstatus uses to group and hide
// entries.
func refNames(i iface.Interface) (display, typ string) {
	st := i.Stats()
	n := i.Name()
	switch st.Kind {
	case "tcp-client":
		return "TCPInterface[" + n + "]", typeTCPClient
	case "tcp-server":
		return "TCPServerInterface[" + n + "]", typeTCPServer
	case "tcp-server-client":
		return "TCPInterface[Client on " + n + "]", typeTCPClient
	case "udp":
		return "UDPInterface[" + n + "]", typeUDP
	case "auto":
		return "AutoInterface[" + n + "]", typeAuto
	case "auto-peer":
		return "AutoInterfacePeer[" + n + "]", typeAutoPeer
	case "shared-instance":
		if s, ok := i.(*iface.Shared); ok && s.Role() == iface.LocalServing {
			return prefixSharedInst + n + "]", typeLocalServer
		}
		return prefixLocalClient + n + "]", typeLocalClient
	case "shared-instance-client":
		return prefixLocalClient + n + "]", typeLocalClient
	default:
		return n, st.Kind
	}
}

func (s *Server) displayName(name string) string {
	for _, i := range s.allInterfaces() {
		if i.Name() == name {
			d, _ := refNames(i)
			return d
		}
	}
	return name
}

// interfaceStats builds the reference's get_interface_stats answer.
func (s *Server) interfaceStats() msgpack.Value {
	tr := s.opts.Transport
	counters := map[string]transport.InterfaceCounters{}
	for _, c := range tr.InterfaceCounters() {
		counters[c.Name] = c
	}
	var rxb, txb uint64
	ifs := s.allInterfaces()
	list := make([]msgpack.Value, 0, len(ifs))
	zero := msgpack.Int(0)
	for _, i := range ifs {
		st := i.Stats()
		c := counters[i.Name()]
		display, typ := refNames(i)
		if i.Parent() == nil {
			rxb += st.BytesIn
			txb += st.BytesOut
		}
		clients := msgpack.Nil()
		var extra []msgpack.KV
		if _, ok := i.(interface{ Clients() []iface.Interface }); ok {
			if st.Kind == string(iface.KindAuto) {
				extra = append(extra, kv("peers", msgpack.Int(int64(st.Clients))))
			} else {
				clients = msgpack.Int(int64(st.Clients))
			}
		}
		hash := wire.SHA256([]byte(display))
		e := []msgpack.KV{
			kv("clients", clients),
			kv("name", str(display)), kv("short_name", str(i.Name())),
			kv("hash", msgpack.Bin(hash[:])), kv("type", str(typ)),
			kv("mtu", msgpack.Int(int64(i.MTU()))), kv("bitrate", msgpack.Int(int64(i.Bitrate()))),
			kv("rxb", msgpack.Uint(st.BytesIn)), kv("txb", msgpack.Uint(st.BytesOut)),
			kv("rxs", zero), kv("txs", zero), kv("arxs", zero), kv("atxs", zero), kv("prxs", zero), kv("ptxs", zero),
			kv("arxb", zero), kv("atxb", zero),
			kv("arxc", msgpack.Uint(c.AnnouncesIn)), kv("atxc", msgpack.Uint(c.AnnouncesOut)),
			kv("prxb", zero), kv("ptxb", zero),
			kv("prxc", msgpack.Uint(c.PathRequestsIn)), kv("ptxc", zero),
			kv("txdrp", msgpack.Uint(st.TxDrops)), kv("txdrb", zero),
			kv("txstalled", msgpack.Bool(false)), kv("txbuffered", zero),
			kv("incoming_announce_frequency", msgpack.Float(0)), kv("outgoing_announce_frequency", msgpack.Float(0)),
			kv("incoming_pr_frequency", msgpack.Float(0)), kv("outgoing_pr_frequency", msgpack.Float(0)),
			kv("announce_rate_target", msgpack.Nil()), kv("announce_rate_penalty", msgpack.Nil()),
			kv("announce_rate_grace", msgpack.Nil()),
			kv("held_announces", msgpack.Uint(c.Held)), kv("announce_queue", msgpack.Int(int64(c.AnnounceQueue))),
			kv("burst_active", msgpack.Bool(c.BurstActive)), kv("burst_activated", zero), kv("burst_count", zero),
			kv("pr_burst_active", msgpack.Bool(false)), kv("pr_burst_activated", zero), kv("pr_burst_count", zero),
			kv("status", msgpack.Bool(i.State() == iface.StateUp)),
			kv("mode", msgpack.Int(modeFull)), kv("gravity", zero), kv("announces_to_internal", msgpack.Nil()),
			kv("protocol_violations", msgpack.Uint(c.Violations)), kv("ifac_violations", zero),
			kv("packet_filter_hits", msgpack.Uint(c.FilterHits)),
			kv("ifac_signature", msgpack.Nil()), kv("ifac_size", msgpack.Nil()), kv("ifac_netname", msgpack.Nil()),
			kv("autoconnect_source", msgpack.Nil()),
		}
		e = append(e, extra...)
		if p := i.Parent(); p != nil {
			pd, _ := refNames(p)
			ph := wire.SHA256([]byte(pd))
			e = append(e, kv("parent_interface_name", str(pd)), kv("parent_interface_hash", msgpack.Bin(ph[:])))
		}
		list = append(list, msgpack.Map(e...))
	}
	top := []msgpack.KV{
		kv("interfaces", msgpack.Array(list...)),
		kv("rxb", msgpack.Uint(rxb)), kv("txb", msgpack.Uint(txb)),
		kv("txq", msgpack.Nil()), kv("rss", msgpack.Nil()),
	}
	for _, k := range []string{"rxs", "txs", "arxb", "atxb", "arxs", "atxs", "arxf", "atxf", "prxb", "ptxb",
		"prxs", "ptxs", "prxf", "ptxf", "rxpps", "txpps", "rxqt", "rxqd", "rxqa", "rxqp", "rxqil", "rxqtd",
		"rxqdd", "rxqad", "rxqpd", "rxqild", "tqpressure", "dqpressure", "aqpressure", "pqpressure", "ilqpressure"} {
		top = append(top, kv(k, zero))
	}
	if tr.IsTransport() {
		id := tr.ID()
		top = append(top, kv("transport_id", msgpack.Bin(id[:])), kv("network_id", msgpack.Nil()),
			kv("transport_uptime", msgpack.Float(time.Since(s.start).Seconds())), kv("probe_responder", msgpack.Nil()))
	}
	return msgpack.Map(top...)
}

// pathTable builds the reference's get_path_table answer.
func (s *Server) pathTable(maxHops int) msgpack.Value {
	paths := s.opts.Transport.Paths()
	sort.Slice(paths, func(a, b int) bool { return paths[a].Destination.String() < paths[b].Destination.String() })
	out := make([]msgpack.Value, 0, min(len(paths), maxTableRows))
	for _, p := range paths {
		if maxHops >= 0 && int(p.Hops) > maxHops {
			continue
		}
		if len(out) == maxTableRows {
			break
		}
		out = append(out, msgpack.Map(
			kv("hash", msgpack.Bin(p.Destination[:])),
			kv("timestamp", msgpack.Float(unixFloat(p.Updated))),
			kv("via", msgpack.Bin(p.NextHop[:])),
			kv("hops", msgpack.Int(int64(p.Hops))),
			kv("expires", msgpack.Float(unixFloat(p.Expires))),
			kv("interface", str(s.displayName(p.Interface))),
		))
	}
	return msgpack.Array(out...)
}

func unixFloat(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return math.Round(float64(t.UnixNano())/1e3) / 1e6
}
