// Command reticle-sign is the release tool for Reticle's startup self-verification: it writes the
// manifest of a release, signs it into a Sigstore bundle that `cosign verify-blob` also accepts, verifies
// a signed release, and makes ephemeral keys for CI.
//
//	reticle-sign manifest --root DIR [--exe PATH] --out manifest.json FILE...
//	reticle-sign sign     --key cosign.key --in manifest.json --out manifest.json.sigstore.json
//	reticle-sign verify   --pub cosign.pub --in manifest.json [--bundle B] [--root DIR] [--exe PATH]
//	reticle-sign keygen   --out-priv cosign.key --out-pub cosign.pub [--plain]
//
// Keys are ECDSA P-256. `sign` reads a plain PEM key (PKCS #8 "PRIVATE KEY" or SEC 1 "EC PRIVATE KEY")
// or a cosign key ("ENCRYPTED SIGSTORE PRIVATE KEY" / "ENCRYPTED COSIGN PRIVATE KEY") whose password is
// in $COSIGN_PASSWORD (empty if unset), so the release workflow can use the same key as the cosign CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run dispatches a subcommand and returns the exit code: 0 ok, 1 failure, 2 usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "manifest":
		err = cmdManifest(args[1:], stdout, stderr)
	case "sign":
		err = cmdSign(ctx, args[1:], stdout, stderr, getenv)
	case "verify":
		err = cmdVerify(args[1:], stdout, stderr)
	case "keygen":
		err = cmdKeygen(args[1:], stdout, stderr, getenv)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "reticle-sign: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case isUsage(err):
		return 2
	default:
		fmt.Fprintf(stderr, "reticle-sign %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  reticle-sign manifest --root DIR [--exe PATH] --out manifest.json FILE...
  reticle-sign sign     --key cosign.key --in manifest.json --out manifest.json.sigstore.json
  reticle-sign verify   --pub cosign.pub --in manifest.json [--bundle B] [--root DIR] [--exe PATH]
  reticle-sign keygen   --out-priv cosign.key --out-pub cosign.pub [--plain]
Encrypted (cosign) keys take their password from $COSIGN_PASSWORD.
`)
}

// usageError marks flag and argument errors (exit code 2); flag has already printed them.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}
