package lxmf

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"math/bits"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Stamp parameters (LXMF/LXStamper.py, LXMF/LXMessage.py).
const (
	// WorkblockRounds expands message stamp workblocks (3000 HKDF rounds,
	// 768000 bytes).
	WorkblockRounds = 3000
	// WorkblockRoundsPropagation expands propagation stamp workblocks.
	WorkblockRoundsPropagation = 1000
	// WorkblockRoundsPeering expands peering key workblocks.
	WorkblockRoundsPeering = 25
	// StampSize is the length of a proof-of-work stamp.
	StampSize = 32
	// TicketLength is the length of a ticket and of a ticket stamp.
	TicketLength = 16
	// CostTicket is the stamp value the reference assigns to a ticket stamp.
	CostTicket = 0x100
	// MaxGenerateCost is the highest cost GenerateStamp attempts: the
	// expected work doubles with each step (cost 32 is about 4 billion
	// hashes). Validation accepts any cost.
	MaxGenerateCost = 32
	// MaxWorkblockRounds bounds StampWorkblock's rounds argument.
	MaxWorkblockRounds = 1 << 16

	workblockRoundSize = 256
)

// StampWorkblock expands material into the proof-of-work workblock
// (LXStamper.stamp_workblock): rounds blocks of 256 bytes, block n being
// HKDF-SHA256(ikm=material, salt=SHA-256(material || msgpack(n)), no info).
func StampWorkblock(material []byte, rounds int) ([]byte, error) {
	if rounds < 0 || rounds > MaxWorkblockRounds {
		return nil, fmt.Errorf("workblock rounds %d: %w", rounds, ErrStampCost)
	}
	wb := make([]byte, 0, rounds*workblockRoundSize)
	saltIn := make([]byte, 0, len(material)+9)
	var hk hkdfer
	for n := range rounds {
		saltIn = msgpack.Int(int64(n)).AppendTo(append(saltIn[:0], material...))
		salt := sha256.Sum256(saltIn)
		wb = hk.expand256(wb, material, salt[:])
	}
	return wb, nil
}

// hkdfer computes HKDF-SHA256 with a 32-byte salt, no info and 256 bytes of
// output (RNS/Cryptography/HKDF.py for these arguments) without allocating:
// HMAC is built from two reused SHA-256 states, and the expand key's padded
// states are hashed once per call instead of once per block.
type hkdfer struct {
	in, out       hash.Hash
	inPad, outPad []byte // marshalled states after the expand key's pads
	sum           [sha256.Size]byte
	ipad, opad    [sha256.BlockSize]byte
	ctr           [1]byte
}

func (k *hkdfer) keyPads(key []byte) {
	k.ipad, k.opad = [sha256.BlockSize]byte{}, [sha256.BlockSize]byte{}
	copy(k.ipad[:], key)
	copy(k.opad[:], key)
	for i := range k.ipad {
		k.ipad[i] ^= 0x36
		k.opad[i] ^= 0x5c
	}
	k.in.Reset()
	k.in.Write(k.ipad[:])
	k.out.Reset()
	k.out.Write(k.opad[:])
}

// finish completes an HMAC whose message has been written to k.in.
func (k *hkdfer) finish() {
	k.in.Sum(k.sum[:0])
	k.out.Write(k.sum[:])
	k.out.Sum(k.sum[:0])
}

func (k *hkdfer) expand256(dst, ikm, salt []byte) []byte {
	if k.in == nil {
		k.in, k.out = sha256.New(), sha256.New()
	}
	// extract: PRK = HMAC(salt, ikm)
	k.keyPads(salt)
	k.in.Write(ikm)
	k.finish()
	prk := k.sum
	k.keyPads(prk[:])
	k.inPad, _ = k.in.(encoding.BinaryAppender).AppendBinary(k.inPad[:0])
	k.outPad, _ = k.out.(encoding.BinaryAppender).AppendBinary(k.outPad[:0])
	// expand: T(i) = HMAC(PRK, T(i-1) || i)
	var prev []byte
	for i := byte(1); i <= workblockRoundSize/sha256.Size; i++ {
		_ = k.in.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.inPad)
		_ = k.out.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.outPad)
		k.in.Write(prev)
		k.ctr[0] = i
		k.in.Write(k.ctr[:])
		k.finish()
		dst = append(dst, k.sum[:]...)
		prev = dst[len(dst)-sha256.Size:]
	}
	return dst
}

// StampValue returns a stamp's value (LXStamper.stamp_value): the number of
// leading zero bits of SHA-256(workblock || stamp).
func StampValue(workblock, stamp []byte) int {
	h := stampHash(workblock, stamp)
	return leadingZeros(h[:])
}

// StampValid reports whether a stamp meets cost (LXStamper.stamp_valid):
// SHA-256(workblock || stamp), read as a big-endian number, is at most
// 2^(256-cost). A cost of 0 or less accepts anything; above 256 nothing.
func StampValid(stamp []byte, cost int, workblock []byte) bool {
	h := stampHash(workblock, stamp)
	return hashMeetsCost(h[:], cost)
}

func stampHash(workblock, stamp []byte) [32]byte {
	d := sha256.New()
	d.Write(workblock)
	d.Write(stamp)
	var out [32]byte
	d.Sum(out[:0])
	return out
}

func leadingZeros(h []byte) int {
	n := 0
	for _, c := range h {
		if c != 0 {
			return n + bits.LeadingZeros8(c)
		}
		n += 8
	}
	return n
}

func hashMeetsCost(h []byte, cost int) bool {
	if cost <= 0 {
		return true
	}
	if cost > 256 {
		return false
	}
	z := leadingZeros(h)
	if z >= cost {
		return true
	}
	// equal to 2^(256-cost): cost-1 zero bits, a one, then only zeros
	if z != cost-1 {
		return false
	}
	ones := 0
	for _, c := range h {
		ones += bits.OnesCount8(c)
	}
	return ones == 1
}

// GenerateStamp searches for a 32-byte stamp meeting cost over workblock, on
// the calling goroutine (run several with different random sources to use
// more cores). It checks ctx every few thousand attempts and returns its
// error when cancelled. rnd supplies the random start (nil means
// crypto/rand). It returns the stamp and its value.
func GenerateStamp(ctx context.Context, workblock []byte, cost int, rnd io.Reader) ([]byte, int, error) {
	if cost < 0 || cost > MaxGenerateCost {
		return nil, 0, fmt.Errorf("generate stamp cost %d: %w", cost, ErrStampCost)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	var cand [StampSize]byte
	if _, err := io.ReadFull(rnd, cand[:]); err != nil {
		return nil, 0, fmt.Errorf("generate stamp: random: %w", err)
	}
	d := sha256.New()
	d.Write(workblock)
	// The workblock is hashed once; each attempt restores that state and
	// hashes only the 32 candidate bytes.
	state, err := d.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil, 0, fmt.Errorf("generate stamp: %w", err)
	}
	um := d.(encoding.BinaryUnmarshaler)
	var sum [32]byte
	counter := binary.BigEndian.Uint64(cand[24:])
	for i := uint64(0); ; i++ {
		if i&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, fmt.Errorf("generate stamp: %w", err)
			}
		}
		binary.BigEndian.PutUint64(cand[24:], counter+i)
		if err := um.UnmarshalBinary(state); err != nil {
			return nil, 0, fmt.Errorf("generate stamp: %w", err)
		}
		d.Write(cand[:])
		d.Sum(sum[:0])
		if hashMeetsCost(sum[:], cost) {
			return append([]byte(nil), cand[:]...), leadingZeros(sum[:]), nil
		}
	}
}

// TicketStamp returns the stamp a ticket gives a message
// (LXMessage.get_stamp with an outbound ticket): the truncated SHA-256 of
// ticket || message id, 16 bytes.
func TicketStamp(ticket []byte, messageID wire.FullHash) []byte {
	b := make([]byte, 0, len(ticket)+len(messageID))
	h := wire.TruncatedSHA256(append(append(b, ticket...), messageID[:]...))
	return h[:]
}

// ValidateStamp checks the message's stamp as LXMessage.validate_stamp does:
// a stamp equal to the ticket stamp of any of tickets is worth CostTicket;
// otherwise it must meet cost over the workblock of the message id. It
// returns the stamp's value and whether it is valid. Computing the workblock
// takes milliseconds; a router should bound how often it is done.
func (m *Message) ValidateStamp(cost int, tickets [][]byte) (int, bool) {
	for _, t := range tickets {
		if m.Stamp != nil && subtle.ConstantTimeCompare(m.Stamp, TicketStamp(t, m.ID)) == 1 {
			return CostTicket, true
		}
	}
	if m.Stamp == nil {
		return 0, false
	}
	wb, err := StampWorkblock(m.ID[:], WorkblockRounds)
	if err != nil || !StampValid(m.Stamp, cost, wb) {
		return 0, false
	}
	return StampValue(wb, m.Stamp), true
}

// GenerateStamp sets the message's Stamp to a proof-of-work stamp of cost
// over its id (LXMessage.get_stamp); Source must be set. Call Pack after.
func (m *Message) GenerateStamp(ctx context.Context, cost int, rnd io.Reader) (int, error) {
	if cost < 0 || cost > MaxGenerateCost {
		return 0, fmt.Errorf("generate stamp cost %d: %w", cost, ErrStampCost)
	}
	id, err := m.ComputeID()
	if err != nil {
		return 0, err
	}
	wb, err := StampWorkblock(id[:], WorkblockRounds)
	if err != nil {
		return 0, err
	}
	s, v, err := GenerateStamp(ctx, wb, cost, rnd)
	if err != nil {
		return 0, err
	}
	m.Stamp = s
	return v, nil
}

// ApplyTicket sets the message's Stamp to the ticket stamp for an outbound
// ticket the recipient gave us; Source must be set. Call Pack after.
func (m *Message) ApplyTicket(ticket []byte) error {
	if len(ticket) != TicketLength {
		return fmt.Errorf("ticket of %d bytes: %w", len(ticket), ErrFormat)
	}
	id, err := m.ComputeID()
	if err != nil {
		return err
	}
	m.Stamp = TicketStamp(ticket, id)
	return nil
}

// ValidatePeeringKey checks a propagation node peering key
// (LXStamper.validate_peering_key): a stamp of cost over the 25-round
// workblock of the peering id.
func ValidatePeeringKey(peeringID, key []byte, cost int) bool {
	wb, err := StampWorkblock(peeringID, WorkblockRoundsPeering)
	return err == nil && StampValid(key, cost, wb)
}
