package main

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

func (b *bridge) addPacketCommands() {
	for k, v := range map[string]handler{
		"packet_build":             cmdPacketBuild,
		"packet_unpack":            cmdPacketUnpack,
		"packet_hash":              cmdPacketHash,
		"packet_constants":         cmdPacketConstants,
		"packet_context_constants": cmdContextConstants,
		"hdlc_escape":              cmdHDLCEscape,
		"hdlc_frame":               cmdHDLCFrame,
		"hdlc_deframe":             cmdHDLCDeframe,
	} {
		b.commands[k] = v
	}
}

// encrypted reports whether Packet.pack would encrypt this packet's data
// with the destination's key (HEADER_1 rules of RNS/Packet.py pack).
func encrypted(p *wire.Packet) bool {
	switch {
	case p.PacketType == wire.Announce, p.PacketType == wire.LinkRequest:
		return false
	case p.PacketType == wire.Proof && (p.Context == wire.ContextResourcePRF || p.DestinationType == wire.Link):
		return false
	case p.Context == wire.ContextResource, p.Context == wire.ContextKeepalive, p.Context == wire.ContextCacheRequest:
		return false
	}
	return true
}

func cmdPacketBuild(p params) (map[string]any, error) {
	data, err := p.optHex("data")
	if err != nil {
		return nil, err
	}
	pkt := &wire.Packet{
		PacketType:    wire.PacketType(p.int("packet_type", 0)),
		Context:       wire.Context(p.int("context", 0)),
		ContextFlag:   p.int("context_flag", 0) == 1,
		TransportType: wire.TransportType(p.int("transport_type", 0)),
		Hops:          uint8(p.int("hops", 0)),
	}
	switch ht := fmt.Sprint(p["header_type"]); ht {
	case "<nil>", "1", "HEADER_1":
		pkt.HeaderType = wire.Header1
	case "2", "HEADER_2":
		pkt.HeaderType = wire.Header2
		if pkt.PacketType != wire.Announce {
			return nil, errors.New("HEADER_2 packets are only buildable for ANNOUNCE packet_type")
		}
		tid, err := p.hex("transport_id")
		if err != nil {
			return nil, err
		}
		if pkt.TransportID, err = wire.HashFromBytes(tid); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unsupported header_type: %s", ht)
	}

	// The destination "conformance.packet", as the reference bridge builds it.
	var idh *wire.Hash
	var dest *identity.Identity
	var group *identity.Token
	switch dt := p.str("dest_type"); dt {
	case "", "plain":
		pkt.DestinationType = wire.Plain
	case "single", "group":
		if dest, err = identity.Generate(); err != nil {
			return nil, err
		}
		h := dest.Hash()
		idh = &h
		pkt.DestinationType = wire.Single
		if dt == "group" {
			pkt.DestinationType = wire.Group
			key, err := identity.GenerateGroupKey()
			if err != nil {
				return nil, err
			}
			if group, err = identity.NewToken(key); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("unsupported dest_type: %q", dt)
	}
	nh, err := identity.NameHash("conformance", "packet")
	if err != nil {
		return nil, err
	}
	pkt.DestinationHash = wire.DestinationHash(nh, idh)
	if pkt.Context == wire.ContextLRProof {
		pkt.DestinationType = wire.Link
	}

	pkt.Data = data
	if pkt.HeaderType == wire.Header1 && encrypted(pkt) {
		switch {
		case group != nil:
			pkt.Data, err = group.Encrypt(data)
		case dest != nil:
			pkt.Data, err = dest.Encrypt(data, nil)
		}
		if err != nil {
			return nil, err
		}
	}
	raw, err := pkt.Marshal()
	if err != nil {
		return nil, err
	}
	return unpacked(raw)
}

// unpacked decodes raw with wire.Unmarshal and reports the fields as the
// reference bridge does.
func unpacked(raw []byte) (map[string]any, error) {
	pkt, err := wire.Unmarshal(raw)
	if err != nil {
		return nil, err
	}
	var tid any
	if pkt.HeaderType == wire.Header2 {
		tid = pkt.TransportID.String()
	}
	ctxFlag := 0
	if pkt.ContextFlag {
		ctxFlag = 1
	}
	h := pkt.Hash()
	return map[string]any{
		"raw":              hx(raw),
		"flags":            int(raw[0]),
		"hops":             int(pkt.Hops),
		"header_type":      int(pkt.HeaderType),
		"context_flag":     ctxFlag,
		"transport_type":   int(pkt.TransportType),
		"destination_type": int(pkt.DestinationType),
		"packet_type":      int(pkt.PacketType),
		"destination_hash": pkt.DestinationHash.String(),
		"transport_id":     tid,
		"context":          int(pkt.Context),
		"data":             hx(pkt.Data),
		"hash":             h.String(),
	}, nil
}

func cmdPacketUnpack(p params) (map[string]any, error) {
	raw, err := p.hex("raw")
	if err != nil {
		return nil, err
	}
	res, err := unpacked(raw)
	if err != nil {
		return map[string]any{"unpacked": false}, nil
	}
	delete(res, "raw")
	res["unpacked"] = true
	return res, nil
}

func cmdPacketHash(p params) (map[string]any, error) {
	raw, err := p.hex("raw")
	if err != nil {
		return nil, err
	}
	// The reference's Packet.unpack ignores the IFAC bit; wire.Unmarshal
	// refuses it because access codes are removed before decoding. The hash
	// masks that bit either way (wire.HashRaw).
	probe := bytes.Clone(raw)
	if len(probe) > 0 {
		probe[0] &^= wire.FlagIFAC
	}
	if _, err := wire.Unmarshal(probe); err != nil {
		return nil, fmt.Errorf("malformed packet: %w", err)
	}
	h, err := wire.HashRaw(raw)
	if err != nil {
		return nil, err
	}
	return map[string]any{"hash": h.String()}, nil
}

func cmdPacketConstants(params) (map[string]any, error) {
	return map[string]any{
		"mtu":                  wire.MTU,
		"header_minsize":       wire.HeaderMinSize,
		"header_maxsize":       wire.HeaderMaxSize,
		"mdu":                  wire.MDU,
		"ifac_min_size":        wire.IFACMinSize,
		"packet_mdu":           wire.MDU,
		"packet_plain_mdu":     wire.PlainMDU,
		"packet_encrypted_mdu": wire.EncryptedMDU,
		"link_mdu":             wire.LinkMDU,
		"hashlength":           wire.FullHashLen * 8,
		"siglength":            wire.SignatureLen * 8,
		"truncated_hashlength": wire.TruncatedHashLen * 8,
		"keysize":              wire.PublicKeyLen * 8,
		"name_hash_length":     wire.NameHashLen * 8,
		"token_overhead":       wire.TokenOverhead,
		"aes128_blocksize":     wire.AESBlockSize,
	}, nil
}

func cmdContextConstants(params) (map[string]any, error) {
	c := map[string]wire.Context{
		"NONE": wire.ContextNone, "RESOURCE": wire.ContextResource, "RESOURCE_ADV": wire.ContextResourceAdv,
		"RESOURCE_REQ": wire.ContextResourceReq, "RESOURCE_HMU": wire.ContextResourceHMU,
		"RESOURCE_PRF": wire.ContextResourcePRF, "RESOURCE_ICL": wire.ContextResourceICL,
		"RESOURCE_RCL": wire.ContextResourceRCL, "CACHE_REQUEST": wire.ContextCacheRequest,
		"REQUEST": wire.ContextRequest, "RESPONSE": wire.ContextResponse, "PATH_RESPONSE": wire.ContextPathResponse,
		"COMMAND": wire.ContextCommand, "COMMAND_STATUS": wire.ContextCommandStatus, "CHANNEL": wire.ContextChannel,
		"KEEPALIVE": wire.ContextKeepalive, "LINKIDENTIFY": wire.ContextLinkIdentify, "LINKCLOSE": wire.ContextLinkClose,
		"LINKPROOF": wire.ContextLinkProof, "LRRTT": wire.ContextLRRTT, "LRPROOF": wire.ContextLRProof,
	}
	out := make(map[string]any, len(c))
	for k, v := range c {
		out[k] = int(v)
	}
	return out, nil
}

func cmdHDLCFrame(p params) (map[string]any, error) {
	d, err := p.hex("data")
	if err != nil {
		return nil, err
	}
	return map[string]any{"framed": hx(iface.AppendFrame(nil, d))}, nil
}

func cmdHDLCEscape(p params) (map[string]any, error) {
	d, err := p.hex("data")
	if err != nil {
		return nil, err
	}
	f := iface.AppendFrame(nil, d)
	return map[string]any{"escaped": hx(f[1 : len(f)-1])}, nil
}

func cmdHDLCDeframe(p params) (map[string]any, error) {
	framed, err := p.hex("framed")
	if err != nil {
		return nil, err
	}
	var frames [][]byte
	d := iface.NewDeframer(iface.TCPHardwareMTU, 0, func(f []byte) { frames = append(frames, f) })
	if _, err := d.Write(framed); err != nil {
		return nil, err
	}
	if len(frames) == 0 {
		return nil, errors.New("no complete HDLC frame in input")
	}
	return map[string]any{"data": hx(frames[0])}, nil
}
