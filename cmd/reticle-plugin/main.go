// Command reticle-plugin makes publisher keys and signed plugin packages for Reticle.
//
//	reticle-plugin keygen -out publisher.key        # prints the public key (base64) and its key id
//	reticle-plugin sign -key publisher.key -manifest manifest.json -wasm plugin.wasm -out plugin.zip
//
// sign sets publisher_key_id in the manifest to the key's id, checks the manifest strictly, and writes
// the zip of manifest.json, plugin.wasm and plugin.sig that Reticle's Plugins screen installs. The key
// file holds the base64 ed25519 seed; keep it off the appliance.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

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
		return errors.New("usage: reticle-plugin keygen|sign [flags]")
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
		manifest := fs.String("manifest", "manifest.json", "manifest.json")
		wasm := fs.String("wasm", "plugin.wasm", "the module")
		out := fs.String("out", "plugin.zip", "package to write")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return sign(*keyFile, *manifest, *wasm, *out)
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
	raw, err := os.ReadFile(manifestFile) //nolint:gosec // a path the user gave
	if err != nil {
		return err
	}
	m, err := plugins.ParseManifest(raw)
	if err != nil {
		return err
	}
	m.PublisherKeyID = plugins.KeyID(priv.Public().(ed25519.PublicKey))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return err
	}
	mb := buf.Bytes()
	if _, err := plugins.ParseManifest(mb); err != nil {
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
