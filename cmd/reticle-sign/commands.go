package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/reticle-mesh/reticle/pkg/integrity"
)

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	return nil
}

func required(fs *flag.FlagSet, stderr io.Writer, names ...string) error {
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			fmt.Fprintf(stderr, "reticle-sign %s: --%s is required\n", fs.Name(), n)
			return usageError{"missing --" + n}
		}
	}
	return nil
}

// cmdManifest hashes FILE... (relative to --root) and writes the canonical manifest to --out.
func cmdManifest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("manifest", flag.ContinueOnError)
	root := fs.String("root", "", "directory the FILE paths are relative to")
	exe := fs.String("exe", "", "the reticle binary, listed as the \"reticle\" entry wherever it lives")
	out := fs.String("out", "", "manifest file to write")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := required(fs, stderr, "root", "out"); err != nil {
		return err
	}
	if fs.NArg() == 0 && *exe == "" {
		fmt.Fprintln(stderr, "reticle-sign manifest: name at least one FILE or --exe")
		return usageError{"no files"}
	}
	m, err := integrity.BuildManifest(*root, fs.Args())
	if err != nil && fs.NArg() > 0 {
		return err
	}
	if fs.NArg() == 0 {
		m = &integrity.Manifest{Version: integrity.ManifestVersion}
	}
	if *exe != "" {
		if err := m.Add(integrity.ExecutableEntry, *exe); err != nil {
			return err
		}
	}
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := writeFile(*out, b, 0o644, true); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d files)\n", *out, len(m.Files))
	return nil
}

// cmdSign signs --in with --key and writes the Sigstore bundle to --out.
func cmdSign(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	keyPath := fs.String("key", "", "ECDSA P-256 private key (PEM: PKCS #8, SEC 1 or cosign-encrypted)")
	in := fs.String("in", "", "file to sign (manifest.json)")
	out := fs.String("out", "", "bundle to write (default IN.sigstore.json)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := required(fs, stderr, "key", "in"); err != nil {
		return err
	}
	if *out == "" {
		*out = *in + integrity.BundleSuffix
	}
	data, err := os.ReadFile(*in)
	if err != nil {
		return fmt.Errorf("read input: %w", err)
	}
	if _, err := integrity.ParseManifest(data); err != nil && filepath.Base(*in) == integrity.ManifestName {
		return fmt.Errorf("refusing to sign %s: %w", *in, err)
	}
	keyPEM, err := os.ReadFile(*keyPath)
	if err != nil {
		return fmt.Errorf("read key: %w", err)
	}
	priv, err := loadPrivateKey(keyPEM, []byte(getenv("COSIGN_PASSWORD")))
	if err != nil {
		return err
	}
	b, err := integrity.SignBundle(ctx, data, priv)
	if err != nil {
		return err
	}
	if err := writeFile(*out, b, 0o644, true); err != nil {
		return err
	}
	hint, _ := integrity.KeyHint(&priv.PublicKey)
	fmt.Fprintf(stdout, "wrote %s (key %s)\n", *out, hint)
	return nil
}

// cmdVerify runs the same check as `reticle verify`, against a given key and executable.
func cmdVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	pub := fs.String("pub", "", "trusted public key (cosign.pub)")
	in := fs.String("in", "", "manifest.json")
	bundle := fs.String("bundle", "", "bundle (default IN.sigstore.json)")
	root := fs.String("root", "", "directory manifest paths are relative to (default: the manifest's)")
	exe := fs.String("exe", "", "file to check for the \"reticle\" entry (default ROOT/reticle)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := required(fs, stderr, "pub", "in"); err != nil {
		return err
	}
	pubPEM, err := os.ReadFile(*pub)
	if err != nil {
		return fmt.Errorf("read public key: %w", err)
	}
	r := *root
	if r == "" {
		r = filepath.Dir(*in)
	}
	if *exe == "" {
		*exe = filepath.Join(r, integrity.ExecutableEntry)
	}
	rep, err := integrity.Verify(integrity.Options{
		Mode: integrity.ModeEnforce, ManifestPath: *in, BundlePath: *bundle, PublicKeyPEM: pubPEM, Root: r, ExePath: *exe,
	})
	for _, f := range rep.Files {
		fmt.Fprintf(stdout, "%-10s %s\n", f.Status, f.Path)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, rep.Message)
	return nil
}

// cmdKeygen writes a new ECDSA P-256 key pair. The private key is cosign-encrypted with
// $COSIGN_PASSWORD unless --plain is given.
func cmdKeygen(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	privPath := fs.String("out-priv", "", "private key file to create (mode 0600; never overwritten)")
	pubPath := fs.String("out-pub", "", "public key file to create (cosign.pub format)")
	plain := fs.Bool("plain", false, "write an unencrypted PKCS #8 key instead of a cosign-encrypted one")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := required(fs, stderr, "out-priv", "out-pub"); err != nil {
		return err
	}
	privPEM, pubPEM, err := generateKey(*plain, []byte(getenv("COSIGN_PASSWORD")))
	if err != nil {
		return err
	}
	if err := writeFile(*privPath, privPEM, 0o600, false); err != nil {
		return err
	}
	if err := writeFile(*pubPath, pubPEM, 0o644, false); err != nil {
		_ = os.Remove(*privPath)
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", *privPath, *pubPath)
	return nil
}

// writeFile writes b to p; without overwrite it refuses to replace an existing file.
func writeFile(p string, b []byte, perm os.FileMode, overwrite bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !overwrite {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(p, flags, perm)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists; refusing to overwrite", p)
		}
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
