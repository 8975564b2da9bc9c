// Package reticle is the module root. It only embeds the release public key, cosign.pub, so that the
// binary can check its own signature (see pkg/integrity).
//
// Test and CI builds that sign with an ephemeral key replace the embedded key at link time:
//
//	go build -ldflags "-X github.com/reticle-mesh/reticle.cosignPubOverride=$(base64 -w0 ephemeral.pub)" ./cmd/reticle
//
// The override is the PEM public key, base64-encoded (standard encoding) so that it survives -ldflags
// quoting; a raw PEM is accepted too. Release builds must not set it.
package reticle

import (
	_ "embed" // for go:embed
	"encoding/base64"
	"strings"
)

//go:embed cosign.pub
var cosignPub []byte

// cosignPubOverride is set only by -ldflags -X (see the package comment); nothing in the program writes it.
var cosignPubOverride string

// CosignPublicKey returns the PEM public key that release manifests must be signed with: the embedded
// cosign.pub, or the link-time override. A malformed override yields nil, so verification fails loudly
// instead of silently falling back to the embedded key.
func CosignPublicKey() []byte {
	o := strings.TrimSpace(cosignPubOverride)
	switch {
	case o == "":
		return append([]byte(nil), cosignPub...)
	case strings.HasPrefix(o, "-----BEGIN"):
		return []byte(o + "\n")
	default:
		b, err := base64.StdEncoding.DecodeString(o)
		if err != nil {
			return nil
		}
		return b
	}
}

// CosignPublicKeyOverridden reports whether the key was replaced at link time, so that `reticle version`
// and the startup log can say the build does not trust the release key.
func CosignPublicKeyOverridden() bool {
	return strings.TrimSpace(cosignPubOverride) != ""
}
