package shared

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // the legacy multiprocessing handshake is HMAC-MD5; sha256 is offered first
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Sentinel errors.
var (
	// ErrAuth means the peer failed the multiprocessing HMAC challenge.
	ErrAuth = errors.New("shared instance rpc authentication failed")
	// ErrMessageTooLarge means a length prefix exceeds the allowed size.
	ErrMessageTooLarge = errors.New("rpc message too large")
)

// Protocol strings of Python's multiprocessing.connection
// (deliver_challenge, answer_challenge).
var (
	challengePrefix = []byte("#CHALLENGE#")
	welcome         = []byte("#WELCOME#")
	failure         = []byte("#FAILURE#")
)

const (
	challengeLen       = 40  // MESSAGE_LENGTH of Python 3.12+
	legacyChallengeLen = 20  // MESSAGE_LENGTH of Python up to 3.11
	handshakeMax       = 256 // recv_bytes(256) in the handshake
)

// writeMsg writes one length-prefixed message (Connection.send_bytes).
func writeMsg(w io.Writer, b []byte) error {
	if len(b) > 0x7fffffff {
		return ErrMessageTooLarge
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b))) //nolint:gosec // bounded above
	copy(buf[4:], b)
	_, err := w.Write(buf)
	return err
}

// readMsg reads one length-prefixed message of at most max bytes
// (Connection.recv_bytes(maxsize)).
func readMsg(r io.Reader, maxLen int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:])) //nolint:gosec // a signed length, as Python packs it
	if n < 0 || int(n) > maxLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrMessageTooLarge, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// digestFor returns the hash constructor for a multiprocessing digest name.
func digestFor(name string) func() hash.Hash {
	switch name {
	case "md5":
		return md5.New
	case "sha256":
		return sha256.New
	case "sha384":
		return sha512.New384
	case "sha512":
		return sha512.New
	default:
		return nil
	}
}

// splitDigest parses "{name}payload"; legacy messages (16 or 20 bytes, no
// prefix) give "". ok is false for an unknown or malformed prefix.
func splitDigest(msg []byte) (name string, payload []byte, ok bool) {
	if len(msg) == legacyChallengeLen || len(msg) == md5.Size {
		return "", msg, true
	}
	if len(msg) > 0 && msg[0] == '{' {
		if end := bytes.IndexByte(msg[:min(len(msg), 22)], '}'); end > 1 {
			name := string(msg[1:end])
			if digestFor(name) != nil {
				return name, msg[end+1:], true
			}
		}
	}
	return "", nil, false
}

func mac(key, msg []byte, name string) []byte {
	m := hmac.New(digestFor(name), key)
	m.Write(msg)
	return m.Sum(nil)
}

// deliverChallenge is the listener side of the handshake: it challenges the
// peer with a "{sha256}"-prefixed nonce, which Python 3.12+ answers with a
// prefixed HMAC-SHA256 and older Pythons with a raw HMAC-MD5 over the whole
// message; both are accepted.
func deliverChallenge(rw io.ReadWriter, key []byte) error {
	nonce := make([]byte, challengeLen)
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("challenge: %w", err)
	}
	msg := append([]byte("{sha256}"), nonce...)
	if err := writeMsg(rw, append(append([]byte(nil), challengePrefix...), msg...)); err != nil {
		return fmt.Errorf("challenge: %w", err)
	}
	resp, err := readMsg(rw, handshakeMax)
	if err != nil {
		return fmt.Errorf("challenge response: %w", err)
	}
	name, got, ok := splitDigest(resp)
	if name == "" {
		name = "md5"
	}
	if !ok || !hmac.Equal(got, mac(key, msg, name)) {
		_ = writeMsg(rw, failure)
		return ErrAuth
	}
	return writeMsg(rw, welcome)
}

// answerChallenge is the connecting side: it answers the peer's challenge
// in the form the challenge asks for.
func answerChallenge(rw io.ReadWriter, key []byte) error {
	msg, err := readMsg(rw, handshakeMax)
	if err != nil {
		return fmt.Errorf("read challenge: %w", err)
	}
	if !bytes.HasPrefix(msg, challengePrefix) {
		return fmt.Errorf("%w: no challenge", ErrAuth)
	}
	msg = msg[len(challengePrefix):]
	name, _, ok := splitDigest(msg)
	if !ok {
		return fmt.Errorf("%w: unsupported challenge", ErrAuth)
	}
	var resp []byte
	if name == "" {
		resp = mac(key, msg, "md5")
	} else {
		resp = append([]byte("{"+name+"}"), mac(key, msg, name)...)
	}
	if err := writeMsg(rw, resp); err != nil {
		return fmt.Errorf("answer challenge: %w", err)
	}
	got, err := readMsg(rw, handshakeMax)
	if err != nil {
		return fmt.Errorf("read welcome: %w", err)
	}
	if !bytes.Equal(got, welcome) {
		return ErrAuth
	}
	return nil
}
