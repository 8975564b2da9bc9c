package lxmf

import (
	"errors"

	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Message errors; test with errors.Is.
var (
	// ErrMsgpack means the input is not msgpack the reference would accept.
	// It is msgpack.ErrFormat, so either matches with errors.Is.
	ErrMsgpack = msgpack.ErrFormat
	// ErrLimit means the input exceeds a msgpack decode limit. It is
	// msgpack.ErrLimit.
	ErrLimit = msgpack.ErrLimit
	// ErrFormat means bytes are not an LXMF message, container or app data
	// the reference would accept.
	ErrFormat = errors.New("invalid lxmf format")
	// ErrSourceUnknown means the message's signature cannot be checked
	// because the source identity is not known (LXMessage.SOURCE_UNKNOWN).
	ErrSourceUnknown = errors.New("lxmf source identity unknown")
	// ErrSignatureInvalid means the signature does not verify with the
	// source identity (LXMessage.SIGNATURE_INVALID).
	ErrSignatureInvalid = errors.New("lxmf signature invalid")
	// ErrSourceMismatch means an identity was given for a message whose
	// source hash is not that identity's lxmf.delivery destination.
	ErrSourceMismatch = errors.New("identity is not the message source")
	// ErrDestinationMismatch means an identity was given for a message whose
	// destination hash is not that identity's lxmf.delivery destination.
	ErrDestinationMismatch = errors.New("identity is not the message destination")
	// ErrNotPacked means a message was used before Pack or Unpack.
	ErrNotPacked = errors.New("lxmf message not packed")
	// ErrTooLarge means a message does not fit the requested delivery form.
	ErrTooLarge = errors.New("lxmf message too large for the delivery method")
	// ErrStampCost means a stamp cost outside what can be generated.
	ErrStampCost = errors.New("stamp cost out of range")
	// ErrStampInvalid means a stamp does not meet the required cost.
	ErrStampInvalid = errors.New("stamp invalid")
)
