package wire

import "errors"

// Sentinel errors. Decoders wrap them with context; test with errors.Is.
var (
	// ErrShortPacket means the frame is shorter than its header.
	ErrShortPacket = errors.New("packet too short")
	// ErrEmptyData means the packet has a header but no data.
	ErrEmptyData = errors.New("packet has no data")
	// ErrTooLarge means the packet exceeds the MTU it is marshalled for.
	ErrTooLarge = errors.New("packet exceeds mtu")
	// ErrHops means the hop count is MaxHops or more.
	ErrHops = errors.New("hop count out of range")
	// ErrIFACFlag means the IFAC flag is set on a packet handed to the packet
	// codec; the access code must be removed first.
	ErrIFACFlag = errors.New("ifac flag set")
	// ErrTransportID means a HEADER_2 packet without transport id, or a
	// HEADER_1 packet with one.
	ErrTransportID = errors.New("transport id does not match header type")
	// ErrField means a header field holds a value outside its bit width.
	ErrField = errors.New("header field out of range")
	// ErrLength means a fixed-size field has the wrong length.
	ErrLength = errors.New("wrong length")
	// ErrShortAnnounce means an announce payload is shorter than its fixed part.
	ErrShortAnnounce = errors.New("announce too short")
	// ErrNotAnnounce means a packet that is not an announce was given where
	// an announce is required.
	ErrNotAnnounce = errors.New("not an announce")
)
