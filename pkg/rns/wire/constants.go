package wire

// Sizes and limits, as defined by RNS/Reticulum.py, RNS/Identity.py,
// RNS/Packet.py and RNS/Transport.py of the reference.
const (
	// MTU is the network-wide maximum packet size in bytes (Reticulum.MTU).
	MTU = 500
	// FullHashLen is the length of a full SHA-256 hash (Identity.HASHLENGTH/8).
	FullHashLen = 32
	// TruncatedHashLen is the length of destination, identity and transport
	// hashes (Reticulum.TRUNCATED_HASHLENGTH/8).
	TruncatedHashLen = 16
	// NameHashLen is the length of a destination name hash (Identity.NAME_HASH_LENGTH/8).
	NameHashLen = 10
	// RandomHashLen is the length of the random blob in an announce:
	// 5 random bytes followed by a 5-byte big-endian Unix timestamp.
	RandomHashLen = 10
	// PublicKeyLen is the length of an identity public key:
	// X25519 public key (32) followed by Ed25519 public key (32).
	PublicKeyLen = 64
	// PrivateKeyLen is the length of an identity private key:
	// X25519 private key (32) followed by Ed25519 seed (32).
	PrivateKeyLen = 64
	// HalfKeyLen is the length of one half of a key pair (X25519 or Ed25519 part).
	HalfKeyLen = 32
	// SignatureLen is the length of an Ed25519 signature (Identity.SIGLENGTH/8).
	SignatureLen = 64
	// RatchetLen is the length of a ratchet key, public or private (Identity.RATCHETSIZE/8).
	RatchetLen = 32
	// RatchetIDLen is the length of a ratchet id (first bytes of SHA-256 of the ratchet public key).
	RatchetIDLen = 10

	// HeaderMinSize is the size of a HEADER_1 header: flags, hops, destination, context.
	HeaderMinSize = 2 + TruncatedHashLen + 1
	// HeaderMaxSize is the size of a HEADER_2 header: flags, hops, transport id, destination, context.
	HeaderMaxSize = 2 + 2*TruncatedHashLen + 1
	// IFACMinSize is the smallest interface access code in bytes.
	IFACMinSize = 1
	// IFACMaxSize is the largest interface access code in bytes (a whole Ed25519 signature).
	IFACMaxSize = SignatureLen
	// MDU is the maximum data unit of a packet (Reticulum.MDU).
	MDU = MTU - HeaderMaxSize - IFACMinSize

	// TokenOverhead is the fixed overhead of a token: IV (16) and HMAC-SHA256 (32)
	// (Token.TOKEN_OVERHEAD).
	TokenOverhead = 48
	// AESBlockSize is the AES block size in bytes.
	AESBlockSize = 16
	// EncryptedMDU is the largest plaintext that fits one encrypted packet to a
	// SINGLE destination (Packet.ENCRYPTED_MDU): 383 bytes.
	EncryptedMDU = (MDU-TokenOverhead-HalfKeyLen)/AESBlockSize*AESBlockSize - 1
	// LinkMDU is the largest plaintext of one packet over a link at the
	// default MTU (Link.MDU): 431 bytes.
	LinkMDU = (MTU-IFACMinSize-HeaderMinSize-TokenOverhead)/AESBlockSize*AESBlockSize - 1
	// PlainMDU is the largest payload of an unencrypted packet (Packet.PLAIN_MDU).
	PlainMDU = MDU

	// MaxHops is the hop limit (Transport.PATHFINDER_M): a packet whose hop
	// count is MaxHops or more is malformed.
	MaxHops = 128

	// ProofImplicitLen is the size of an implicit proof body: a signature of
	// the proved packet's hash (PacketReceipt.IMPL_LENGTH).
	ProofImplicitLen = SignatureLen
	// ProofExplicitLen is the size of an explicit proof body: the proved
	// packet's full hash followed by its signature (PacketReceipt.EXPL_LENGTH).
	ProofExplicitLen = FullHashLen + SignatureLen

	// AnnounceMinSize is the smallest announce payload without a ratchet:
	// public key, name hash, random hash, signature.
	AnnounceMinSize = PublicKeyLen + NameHashLen + RandomHashLen + SignatureLen
	// AnnounceRatchetMinSize is the smallest announce payload carrying a ratchet.
	AnnounceRatchetMinSize = AnnounceMinSize + RatchetLen
)

// HeaderType is the header format, bit 6 of the flags byte.
type HeaderType uint8

// Header types (Packet.HEADER_1, Packet.HEADER_2).
const (
	// Header1 carries one address: the destination hash.
	Header1 HeaderType = 0
	// Header2 carries a transport id before the destination hash; used for
	// packets in transport.
	Header2 HeaderType = 1
)

// PacketType is the packet type, bits 0-1 of the flags byte.
type PacketType uint8

// Packet types (Packet.DATA ... Packet.PROOF).
const (
	// Data is an ordinary data packet.
	Data PacketType = 0
	// Announce announces a destination.
	Announce PacketType = 1
	// LinkRequest opens a link.
	LinkRequest PacketType = 2
	// Proof proves delivery of a packet or a link.
	Proof PacketType = 3
)

// DestinationType is the destination type, bits 2-3 of the flags byte.
type DestinationType uint8

// Destination types (Destination.SINGLE ... Destination.LINK).
const (
	// Single is a destination owned by one identity; traffic is encrypted to it.
	Single DestinationType = 0
	// Group is a destination sharing a symmetric key.
	Group DestinationType = 1
	// Plain is an unencrypted destination without an identity.
	Plain DestinationType = 2
	// Link is an established link; the address is the link id.
	Link DestinationType = 3
)

// TransportType is the transport type, bit 4 of the flags byte.
type TransportType uint8

// Transport types (Transport.BROADCAST, Transport.TRANSPORT).
const (
	// Broadcast is a packet sent without a next hop.
	Broadcast TransportType = 0
	// Transport is a packet addressed to a transport instance (HEADER_2).
	Transport TransportType = 1
)

// Context is the context byte that follows the addresses in the header.
type Context uint8

// Context values (Packet.NONE ... Packet.LRPROOF).
const (
	ContextNone          Context = 0x00 // generic data packet
	ContextResource      Context = 0x01 // part of a resource
	ContextResourceAdv   Context = 0x02 // resource advertisement
	ContextResourceReq   Context = 0x03 // resource part request
	ContextResourceHMU   Context = 0x04 // resource hashmap update
	ContextResourcePRF   Context = 0x05 // resource proof
	ContextResourceICL   Context = 0x06 // resource initiator cancel
	ContextResourceRCL   Context = 0x07 // resource receiver cancel
	ContextCacheRequest  Context = 0x08 // cache request
	ContextRequest       Context = 0x09 // request
	ContextResponse      Context = 0x0A // response to a request
	ContextPathResponse  Context = 0x0B // announce answering a path request
	ContextCommand       Context = 0x0C // command
	ContextCommandStatus Context = 0x0D // status of an executed command
	ContextChannel       Context = 0x0E // link channel data
	ContextKeepalive     Context = 0xFA // keepalive
	ContextLinkIdentify  Context = 0xFB // link peer identification proof
	ContextLinkClose     Context = 0xFC // link close message
	ContextLinkProof     Context = 0xFD // link packet proof
	ContextLRRTT         Context = 0xFE // link request round-trip time measurement
	ContextLRProof       Context = 0xFF // link request proof
)

// Flag bits of the first header byte, as RNS/Packet.py get_packed_flags packs them.
const (
	// FlagIFAC marks a packet carrying an interface access code (bit 7).
	FlagIFAC byte = 0x80
	// FlagHeader2 marks header type 2 (bit 6).
	FlagHeader2 byte = 0x40
	// FlagContext is the context flag (bit 5); on announces it means "carries a ratchet".
	FlagContext byte = 0x20
	// FlagTransport marks transport type TRANSPORT (bit 4).
	FlagTransport byte = 0x10
	// MaskDestinationType selects the destination type bits (2-3).
	MaskDestinationType byte = 0x0C
	// MaskPacketType selects the packet type bits (0-1).
	MaskPacketType byte = 0x03
	// MaskHashable selects the flag bits that enter the packet hash: only the
	// destination and packet types (Packet.get_hashable_part).
	MaskHashable byte = 0x0F
)
