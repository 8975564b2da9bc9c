// Command reticle-plugin makes publisher keys and signed plugin packages for Reticle.
//
//	reticle-plugin keygen -out publisher.key        # prints the public key (base64) and its key id
//	reticle-plugin sign -key publisher.key -manifest manifest.json -wasm plugin.wasm -out plugin.zip
//
// sign sets publisher_key_id in the manifest to the key's id, checks the manifest strictly, and writes
// the zip of manifest.json, plugin.wasm and plugin.sig that Reticle's Plugins screen installs. The key
// file holds the base64 ed25519 seed; keep it off the appliance.
//
// Publishers who sign with cosign keys (ECDSA P-256) sign the same bytes into a Sigstore bundle:
//
//	reticle-plugin sign -cosign-key cosign.key -manifest manifest.json -wasm plugin.wasm -out plugin.zip
//
// or, with the cosign CLI holding the key:
//
//	reticle-plugin digest -cosign-pub cosign.pub -manifest manifest.json -wasm plugin.wasm \
//	    -out-manifest signed-manifest.json -out signed.bin
//	cosign sign-blob --yes --key cosign.key --bundle plugin.sigstore.json \
//	    --use-signing-config=false --tlog-upload=false signed.bin   # cosign v3; offline, no log
//	reticle-plugin pack -manifest signed-manifest.json -wasm plugin.wasm -bundle plugin.sigstore.json -out plugin.zip
//
// The owner trusts cosign.pub (its PEM) on the Plugins screen. cosign.key must be an unencrypted PEM
// EC private key for -cosign-key (cosign's own encrypted format is for the cosign CLI).
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/reticle-mesh/reticle/pkg/integrity"
	"github.com/reticle-mesh/reticle/pkg/plugins"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "reticle-plugin:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: reticle-plugin keygen|sign|digest|pack [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	switch args[0] {
	case "keygen":
		out := fs.String("out", "publisher.key", "private key file to write")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, []byte(base64.StdEncoding.EncodeToString(priv.Seed())+"\n"), 0o600); err != nil { //nolint:gosec // a path the user gave
			return err
		}
		fmt.Printf("public key: %s\nkey id: %s\n", base64.StdEncoding.EncodeToString(pub), plugins.KeyID(pub))
		return nil
	case "sign":
		keyFile := fs.String("key", "publisher.key", "private key file")
		cosignKey := fs.String("cosign-key", "", "sign with this cosign (ECDSA P-256, unencrypted PEM) private key instead, into plugin.sigstore.json")
		manifest := fs.String("manifest", "manifest.json", "manifest.json")
		wasm := fs.String("wasm", "plugin.wasm", "the module")
		out := fs.String("out", "plugin.zip", "package to write")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *cosignKey != "" {
			return signCosign(*cosignKey, *manifest, *wasm, *out)
		}
		return sign(*keyFile, *manifest, *wasm, *out)
	case "digest":
		pubFile := fs.String("cosign-pub", "cosign.pub", "the cosign public key the package will be signed with")
		manifest := fs.String("manifest", "manifest.json", "manifest.json")
		wasm := fs.String("wasm", "plugin.wasm", "the module")
		outManifest := fs.String("out-manifest", "signed-manifest.json", "the manifest with publisher_key_id set, to pack")
		out := fs.String("out", "signed.bin", "the bytes to sign with cosign sign-blob")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return digest(*pubFile, *manifest, *wasm, *outManifest, *out)
	case "pack":
		manifest := fs.String("manifest", "signed-manifest.json", "the manifest digest wrote")
		wasm := fs.String("wasm", "plugin.wasm", "the module")
		bundle := fs.String("bundle", "plugin.sigstore.json", "the bundle cosign sign-blob wrote")
		out := fs.String("out", "plugin.zip", "package to write")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return pack(*manifest, *wasm, *bundle, *out)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func sign(keyFile, manifestFile, wasmFile, out string) error {
	seedB64, err := os.ReadFile(keyFile) //nolint:gosec // a path the user gave
	if err != nil {
		return err
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(seedB64)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return errors.New("key file must hold a base64 ed25519 seed (reticle-plugin keygen)")
	}
	priv := ed25519.NewKeyFromSeed(seed)
	mb, err := withKeyID(manifestFile, plugins.KeyID(priv.Public().(ed25519.PublicKey)))
	if err != nil {
		return err
	}
	w, err := os.ReadFile(wasmFile) //nolint:gosec // a path the user gave
	if err != nil {
		return err
	}
	pkg, err := plugins.BuildPackage(mb, w, plugins.Sign(priv, mb, w))
	if err != nil {
		return err
	}
	return os.WriteFile(out, pkg, 0o600) //nolint:gosec // a path the user gave
}

// withKeyID reads the manifest, sets publisher_key_id and returns the canonical bytes to sign.
func withKeyID(manifestFile, keyID string) ([]byte, error) {
	raw, err := os.ReadFile(manifestFile) //nolint:gosec // a path the user gave
	if err != nil {
		return nil, err
	}
	m, err := plugins.ParseManifest(raw)
	if err != nil {
		return nil, err
	}
	m.PublisherKeyID = keyID
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	if _, err := plugins.ParseManifest(buf.Bytes()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func signCosign(keyFile, manifestFile, wasmFile, out string) error {
	raw, err := os.ReadFile(keyFile) //nolint:gosec // a path the user gave
	if err != nil {
		return err
	}
	priv, err := integrity.ParsePrivateKeyPEM(raw)
	if err != nil {
		return fmt.Errorf("cosign key: %w", err)
	}
	pubPEM, err := integrity.MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		return err
	}
	id, _, err := plugins.CosignKeyID(pubPEM)
	if err != nil {
		return err
	}
	mb, err := withKeyID(manifestFile, id)
	if err != nil {
		return err
	}
	w, err := os.ReadFile(wasmFile) //nolint:gosec // a path the user gave
	if err != nil {
		return err
	}
	b, err := integrity.SignBundle(context.Background(), plugins.SignedBytes(mb, w), priv)
	if err != nil {
		return err
	}
	pkg, err := plugins.BuildBundlePackage(mb, w, b)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, pkg, 0o600); err != nil { //nolint:gosec // a path the user gave
		return err
	}
	fmt.Printf("signed with cosign key %s\npublic key (trust it on the Plugins screen):\n%s", id, pubPEM)
	return nil
}

func digest(pubFile, manifestFile, wasmFile, outManifest, out string) error {
	pub, err := os.ReadFile(pubFile) //nolint:gosec // a path the user gave
	if err != nil {
		return err
	}
	id, _, err := plugins.CosignKeyID(pub)
	if err != nil {
		return err
	}
	mb, err := withKeyID(manifestFile, id)
	if err != nil {
		return err
	}
	w, err := os.ReadFile(wasmFile) //nolint:gosec // a path the user gave
	if err != nil {
		return err
	}
	if err := os.WriteFile(outManifest, mb, 0o600); err != nil { //nolint:gosec // a path the user gave
		return err
	}
	return os.WriteFile(out, plugins.SignedBytes(mb, w), 0o600) //nolint:gosec // a path the user gave
}

func pack(manifestFile, wasmFile, bundleFile, out string) error {
	var parts [3][]byte
	for i, f := range []string{manifestFile, wasmFile, bundleFile} {
		b, err := os.ReadFile(f) //nolint:gosec // a path the user gave
		if err != nil {
			return err
		}
		parts[i] = b
	}
	if _, err := plugins.ParseManifest(parts[0]); err != nil {
		return err
	}
	pkg, err := plugins.BuildBundlePackage(parts[0], parts[1], parts[2])
	if err != nil {
		return err
	}
	return os.WriteFile(out, pkg, 0o600) //nolint:gosec // a path the user gave
}
