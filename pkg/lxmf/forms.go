package lxmf

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// EncryptFor returns the propagated and paper form of a packed message
// (LXMessage.pack for PROPAGATED and PAPER): the destination hash followed
// by Packed without it, encrypted to the destination identity (with
// ratchetPub, the destination's latest announced ratchet, if not nil); and
// the transient id, the SHA-256 of that form, by which propagation nodes
// know the message. Encryption is randomised.
func (m *Message) EncryptFor(destination *identity.Identity, ratchetPub []byte) ([]byte, wire.FullHash, error) {
	if len(m.Packed) <= HeaderLength {
		return nil, wire.FullHash{}, ErrNotPacked
	}
	if destination == nil || DeliveryHash(destination) != m.Destination {
		return nil, wire.FullHash{}, fmt.Errorf("encrypt message: %w", ErrDestinationMismatch)
	}
	ct, err := destination.Encrypt(m.Packed[DestinationLength:], ratchetPub)
	if err != nil {
		return nil, wire.FullHash{}, fmt.Errorf("encrypt message: %w", err)
	}
	data := make([]byte, 0, DestinationLength+len(ct))
	data = append(append(data, m.Destination[:]...), ct...)
	return data, wire.SHA256(data), nil
}

// DecryptPropagated turns a propagated or paper form (without propagation
// stamp) back into the packed message for Unpack, as
// LXMRouter.lxmf_propagation does for a local destination: the destination
// identity (with its private key) decrypts, trying ratchets first. It
// returns the ratchet index used, -1 for the identity key.
func DecryptPropagated(lxmfData []byte, destination *identity.Identity, ratchets []*identity.Ratchet, enforceRatchets bool) ([]byte, int, error) {
	if len(lxmfData) < Overhead {
		return nil, -1, fmt.Errorf("propagated message of %d bytes: %w", len(lxmfData), ErrFormat)
	}
	if destination == nil || DeliveryHash(destination) != wire.Hash(lxmfData[:DestinationLength]) {
		return nil, -1, fmt.Errorf("decrypt message: %w", ErrDestinationMismatch)
	}
	pt, idx, err := destination.DecryptRatchets(lxmfData[DestinationLength:], ratchets, enforceRatchets)
	if err != nil {
		return nil, -1, fmt.Errorf("decrypt message: %w", err)
	}
	out := make([]byte, 0, DestinationLength+len(pt))
	return append(append(out, lxmfData[:DestinationLength]...), pt...), idx, nil
}

// PackPropagationContainer packs propagated messages as a client uploads
// them to a propagation node (LXMessage.pack for PROPAGATED, one entry) and
// as nodes transfer them: [timestamp float, [entry bytes, ...]], each entry
// the propagated form followed by its propagation stamp.
func PackPropagationContainer(timestamp float64, entries ...[]byte) []byte {
	list := make([]msgpack.Value, len(entries))
	for i, e := range entries {
		list[i] = msgpack.Bin(e)
	}
	return msgpack.Array(msgpack.Float(timestamp), msgpack.Array(list...)).Encode()
}

// UnpackPropagationContainer parses [timestamp, [entry, ...]] as
// LXMRouter.propagation_packet and propagation_resource_concluded accept
// it; entries alias a copy of b.
func UnpackPropagationContainer(b []byte, lim msgpack.Limits) (float64, [][]byte, error) {
	v, _, err := msgpack.DecodeValuePrefix(append([]byte(nil), b...), lim)
	if err != nil {
		return 0, nil, fmt.Errorf("propagation container: %w", err)
	}
	ts, ok := v.Index(0).AsNumber()
	list := v.Index(1)
	if v.Kind() != msgpack.KindArray || v.Len() != 2 || !ok || list.Kind() != msgpack.KindArray {
		return 0, nil, fmt.Errorf("propagation container shape: %w", ErrFormat)
	}
	out := make([][]byte, list.Len())
	for i, e := range list.Elems() {
		if out[i], ok = e.AsBin(); !ok {
			return 0, nil, fmt.Errorf("propagation entry %d is %s: %w", i, e.Kind(), ErrFormat)
		}
	}
	return ts, out, nil
}

// PropagationRepresentation is how a propagation container of n bytes
// travels to a node over a link (LXMessage.pack for PROPAGATED).
func PropagationRepresentation(n int) Representation {
	if n <= LinkPacketMaxContent {
		return RepresentationPacket
	}
	return RepresentationResource
}

// PropagationEntry is a validated propagation node entry.
type PropagationEntry struct {
	TransientID wire.FullHash // SHA-256 of LXMFData
	LXMFData    []byte        // destination hash || encrypted message
	Stamp       []byte        // the 32-byte propagation stamp
	StampValue  int
}

// ValidatePropagationStamp splits an entry into message and propagation
// stamp and checks the stamp against cost over the 1000-round workblock of
// the transient id (LXStamper.validate_pn_stamp). Entries not longer than
// Overhead plus a stamp are refused.
func ValidatePropagationStamp(entry []byte, cost int) (PropagationEntry, error) {
	if len(entry) <= Overhead+StampSize {
		return PropagationEntry{}, fmt.Errorf("propagation entry of %d bytes: %w", len(entry), ErrFormat)
	}
	data, stamp := entry[:len(entry)-StampSize], entry[len(entry)-StampSize:]
	tid := wire.SHA256(data)
	wb, err := StampWorkblock(tid[:], WorkblockRoundsPropagation)
	if err != nil {
		return PropagationEntry{}, err
	}
	if !StampValid(stamp, cost, wb) {
		return PropagationEntry{}, ErrStampInvalid
	}
	return PropagationEntry{TransientID: tid, LXMFData: data, Stamp: stamp, StampValue: StampValue(wb, stamp)}, nil
}

// GeneratePropagationStamp finds a propagation stamp of cost for a
// transient id (LXMessage.get_propagation_stamp); append it to the
// propagated form for the container.
func GeneratePropagationStamp(ctx context.Context, transientID wire.FullHash, cost int, rnd io.Reader) ([]byte, int, error) {
	wb, err := StampWorkblock(transientID[:], WorkblockRoundsPropagation)
	if err != nil {
		return nil, 0, err
	}
	return GenerateStamp(ctx, wb, cost, rnd)
}

// PaperURI encodes a paper form (EncryptFor's output) as an lxm:// URI
// (LXMessage.as_uri): URL-safe base64 without padding. Forms larger than
// PaperMDU are refused, as the reference does.
func PaperURI(paper []byte) (string, error) {
	if len(paper) > PaperMDU {
		return "", fmt.Errorf("paper message of %d bytes, limit %d: %w", len(paper), PaperMDU, ErrTooLarge)
	}
	return URISchema + "://" + base64.RawURLEncoding.EncodeToString(paper), nil
}

// ParsePaperURI decodes an lxm:// URI to the paper form for
// DecryptPropagated (LXMRouter.ingest_lxm_uri: case-insensitive scheme,
// slashes dropped, padding optional).
func ParsePaperURI(uri string) ([]byte, error) {
	prefix := URISchema + "://"
	if len(uri) < len(prefix) || !strings.EqualFold(uri[:len(prefix)], prefix) {
		return nil, fmt.Errorf("not an %s uri: %w", URISchema, ErrFormat)
	}
	if len(uri) > 2*PaperMDU+len(prefix) {
		return nil, fmt.Errorf("paper uri of %d bytes: %w", len(uri), ErrTooLarge)
	}
	s := strings.NewReplacer("/", "", "=", "", "\n", "", "\r", "", " ", "").Replace(uri[len(prefix):])
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("paper uri: %w: %w", err, ErrFormat)
	}
	return b, nil
}
