package lxmf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Supported functionality codes in delivery announces (LXMF.py SF_*).
const (
	SFCompression = 0x00
)

// Propagation node metadata keys (LXMF.py PN_META_*).
const (
	PNMetaVersion      = 0x00
	PNMetaName         = 0x01
	PNMetaSyncStratum  = 0x02
	PNMetaSyncThrottle = 0x03
	PNMetaAuthBand     = 0x04
	PNMetaUtilPressure = 0x05
	PNMetaImplName     = 0xFE
	PNMetaCustom       = 0xFF
)

// appDataLimits bounds announce app data decoding: announces are small.
func appDataLimits() msgpack.Limits {
	return msgpack.Limits{MaxSize: 64 << 10, MaxDepth: 8, MaxItems: 1024}
}

// DeliveryAppData is the app data of an lxmf.delivery announce.
type DeliveryAppData struct {
	DisplayName    string
	HasDisplayName bool
	// StampCost is the stamp cost the destination requires; 0 means none
	// (the reference announces only 1..254).
	StampCost int
	// Compression is whether the destination accepts compressed resources
	// (SF_COMPRESSION); announces without the list imply it.
	Compression bool
	// Legacy is set for pre-0.5.0 app data: the display name as plain UTF-8.
	Legacy bool
}

// Pack returns the app data as LXMRouter.get_announce_app_data packs it:
// [display_name bytes|nil, stamp_cost int|nil, [SF_COMPRESSION]]. Compression
// and Legacy are not used: the reference always announces compression.
func (d DeliveryAppData) Pack() []byte {
	name := msgpack.Nil()
	if d.HasDisplayName {
		name = msgpack.Bin([]byte(d.DisplayName))
	}
	cost := msgpack.Nil()
	if d.StampCost > 0 && d.StampCost < 255 {
		cost = msgpack.Int(int64(d.StampCost))
	}
	return msgpack.Array(name, cost, msgpack.Array(msgpack.Int(SFCompression))).Encode()
}

// ParseDeliveryAppData reads delivery announce app data as the reference's
// display_name_from_app_data, stamp_cost_from_app_data and
// compression_support_from_app_data do. Msgpack app data (first byte a
// fixarray or array16) has its name's NUL bytes removed and surrounding
// white space trimmed; a name that is not UTF-8 bytes is absent, as is a
// stamp cost that is not an integer. Anything else is the legacy format: the
// whole app data is the display name, absent if not UTF-8. Only malformed
// msgpack is an error. Empty app data has no name and implies compression.
func ParseDeliveryAppData(b []byte) (DeliveryAppData, error) {
	out := DeliveryAppData{Compression: true}
	if len(b) == 0 {
		return out, nil
	}
	if (b[0] < 0x90 || b[0] > 0x9f) && b[0] != 0xdc {
		out.Legacy = true
		if utf8.Valid(b) {
			out.DisplayName, out.HasDisplayName = string(b), true
		}
		return out, nil
	}
	v, _, err := msgpack.DecodeValuePrefix(b, appDataLimits())
	if err != nil {
		return DeliveryAppData{}, fmt.Errorf("delivery app data: %w", err)
	}
	if name, ok := v.Index(0).AsBin(); ok && utf8.Valid(name) {
		out.DisplayName = strings.TrimFunc(strings.ReplaceAll(string(name), "\x00", ""), pyIsSpace)
		out.HasDisplayName = true
	}
	if c, ok := v.Index(1).AsInt(); ok && c > 0 && c <= math.MaxInt32 {
		out.StampCost = int(c)
	}
	if sf := v.Index(2); v.Len() >= 3 && sf.Kind() == msgpack.KindArray {
		out.Compression = false
		for _, e := range sf.Elems() {
			if sameKey(e, msgpack.Int(0)) {
				out.Compression = true
			}
		}
	}
	return out, nil
}

// pyIsSpace matches Python's str.isspace closely enough for trimming names:
// Unicode white space plus the ASCII separators 0x1c to 0x1f.
func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// PropagationNodeAppData is the app data of an lxmf.propagation announce
// (LXMRouter.get_propagation_node_app_data).
type PropagationNodeAppData struct {
	Timebase         int64   // the node's clock, Unix seconds
	Enabled          bool    // node_state: propagation is on
	TransferLimit    float64 // per-transfer limit, kilobytes
	SyncLimit        float64 // per-sync limit, kilobytes
	StampCost        int     // propagation stamp cost
	StampFlexibility int     // how far below StampCost the node still accepts
	PeeringCost      int     // peering key cost
	Metadata         Fields  // PN_META_* keys
}

// Name returns the PNMetaName metadata as a string, if present and UTF-8
// bytes (pn_name_from_app_data).
func (p PropagationNodeAppData) Name() (string, bool) {
	v, ok := p.Metadata.Get(PNMetaName)
	if b, isBin := v.AsBin(); ok && isBin && utf8.Valid(b) {
		return string(b), true
	}
	return "", false
}

// Pack returns the app data as the reference packs it:
// [False, timebase, enabled, transfer_limit, sync_limit,
// [stamp_cost, flexibility, peering_cost], metadata]. Limits that are whole
// numbers pack as integers, as the reference's defaults do.
func (p PropagationNodeAppData) Pack() []byte {
	num := func(f float64) msgpack.Value {
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return msgpack.Int(int64(f))
		}
		return msgpack.Float(f)
	}
	meta := p.Metadata
	if meta == nil {
		meta = Fields{}
	}
	return msgpack.Array(msgpack.Bool(false), msgpack.Int(p.Timebase), msgpack.Bool(p.Enabled), num(p.TransferLimit), num(p.SyncLimit),
		msgpack.Array(msgpack.Int(int64(p.StampCost)), msgpack.Int(int64(p.StampFlexibility)), msgpack.Int(int64(p.PeeringCost))),
		meta.Value()).Encode()
}

// ParsePropagationNodeAppData validates and reads propagation node app data
// as pn_announce_data_is_valid does: at least seven elements, int()-able
// timebase, limits and costs, a boolean-equal node state and a metadata
// map. Numbers given as floats are truncated, as Python's int() does.
func ParsePropagationNodeAppData(b []byte) (PropagationNodeAppData, error) {
	bad := func(what string) (PropagationNodeAppData, error) {
		return PropagationNodeAppData{}, fmt.Errorf("propagation node app data: %s: %w", what, ErrFormat)
	}
	v, _, err := msgpack.DecodeValuePrefix(b, appDataLimits())
	if err != nil {
		return PropagationNodeAppData{}, fmt.Errorf("propagation node app data: %w", err)
	}
	if v.Kind() != msgpack.KindArray || v.Len() < 7 {
		return bad("fewer than 7 elements")
	}
	var p PropagationNodeAppData
	tb, ok := pyInt(v.Index(1))
	if !ok {
		return bad("timebase")
	}
	p.Timebase = int64(tb)
	switch state := v.Index(2); {
	case sameKey(state, msgpack.Int(1)):
		p.Enabled = true
	case sameKey(state, msgpack.Int(0)):
	default:
		return bad("node state")
	}
	if p.TransferLimit, ok = pyNumber(v.Index(3)); !ok {
		return bad("transfer limit")
	}
	if p.SyncLimit, ok = pyNumber(v.Index(4)); !ok {
		return bad("sync limit")
	}
	costs := v.Index(5)
	if costs.Kind() != msgpack.KindArray {
		return bad("stamp costs")
	}
	var c [3]int
	for i := range c {
		f, ok := pyInt(costs.Index(i))
		if !ok || costs.Len() <= i || math.Abs(f) > math.MaxInt32 {
			return bad("stamp cost " + strconv.Itoa(i))
		}
		c[i] = int(f)
	}
	p.StampCost, p.StampFlexibility, p.PeeringCost = c[0], c[1], c[2]
	if v.Index(6).Kind() != msgpack.KindMap {
		return bad("metadata")
	}
	p.Metadata, _ = FieldsFromValue(v.Index(6))
	return p, nil
}

// pyNumber returns what Python's int() accepts among the numeric kinds,
// keeping a float's fraction (limits are used as numbers).
func pyNumber(v msgpack.Value) (float64, bool) {
	switch v.Kind() {
	case msgpack.KindBool:
		b, _ := v.AsBool()
		if b {
			return 1, true
		}
		return 0, true
	case msgpack.KindInt, msgpack.KindUint, msgpack.KindFloat:
		f, _ := v.AsNumber()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	case msgpack.KindStr, msgpack.KindBin:
		b, _ := v.AsBytes()
		s := strings.TrimFunc(string(b), pyIsSpace)
		i, err := strconv.ParseInt(s, 10, 64)
		return float64(i), err == nil
	}
	return 0, false
}

// pyInt is pyNumber truncated toward zero, as int() does.
func pyInt(v msgpack.Value) (float64, bool) {
	f, ok := pyNumber(v)
	return math.Trunc(f), ok
}

// sameKey reports whether a and b are the same Python dictionary key (and so
// equal as umsgpack decodes them: 0, 0.0 and False are one value).
func sameKey(a, b msgpack.Value) bool {
	ka, okA := a.DictKey()
	kb, okB := b.DictKey()
	return okA && okB && ka == kb
}
