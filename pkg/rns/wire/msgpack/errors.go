package msgpack

import "errors"

// Codec errors; test with errors.Is.
var (
	// ErrFormat means the input is not msgpack the reference would accept.
	ErrFormat = errors.New("invalid msgpack")
	// ErrLimit means the input exceeds a decode limit.
	ErrLimit = errors.New("msgpack limit exceeded")
)
