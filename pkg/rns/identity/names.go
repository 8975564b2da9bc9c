package identity

import (
	"fmt"
	"strings"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// ExpandName joins an app name and aspects with dots, as
// Destination.expand_name does without an identity ("lxmf.delivery"). Dots
// inside the app name or an aspect are rejected.
func ExpandName(app string, aspects ...string) (string, error) {
	if strings.Contains(app, ".") {
		return "", fmt.Errorf("app name %q: %w", app, ErrName)
	}
	var b strings.Builder
	b.WriteString(app)
	for _, a := range aspects {
		if strings.Contains(a, ".") {
			return "", fmt.Errorf("aspect %q: %w", a, ErrName)
		}
		b.WriteByte('.')
		b.WriteString(a)
	}
	return b.String(), nil
}

// ExpandNameWithIdentity is ExpandName with the identity's hex hash appended
// as a last aspect, the human-readable full name of a destination.
func ExpandNameWithIdentity(id *Identity, app string, aspects ...string) (string, error) {
	name, err := ExpandName(app, aspects...)
	if err != nil {
		return "", err
	}
	if id == nil {
		return name, nil
	}
	return name + "." + id.hash.String(), nil
}

// NameHash returns the 10-byte name hash of app and aspects: the first 10
// bytes of SHA-256 of the expanded name in UTF-8.
func NameHash(app string, aspects ...string) (wire.NameHash, error) {
	name, err := ExpandName(app, aspects...)
	if err != nil {
		return wire.NameHash{}, err
	}
	return NameHashOf(name), nil
}

// NameHashOf returns the name hash of an already expanded name.
func NameHashOf(expanded string) wire.NameHash {
	full := wire.SHA256([]byte(expanded))
	var nh wire.NameHash
	copy(nh[:], full[:wire.NameHashLen])
	return nh
}

// DestinationHash returns the destination hash for an identity, app name and
// aspects (Destination.hash): the truncated SHA-256 of name_hash ||
// identity_hash. A nil identity gives the hash of a PLAIN destination. SINGLE
// and GROUP destinations both hash this way.
func DestinationHash(id *Identity, app string, aspects ...string) (wire.Hash, error) {
	nh, err := NameHash(app, aspects...)
	if err != nil {
		return wire.Hash{}, err
	}
	if id == nil {
		return wire.DestinationHash(nh, nil), nil
	}
	h := id.hash
	return wire.DestinationHash(nh, &h), nil
}
