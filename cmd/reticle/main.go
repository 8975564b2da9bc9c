// Command reticle is the Reticle appliance: a Reticulum node, an LXMF messenger and a hardened web UI in
// one static binary. main.go only dispatches subcommands; wire.go builds and runs the components.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: it gets its own arguments and returns the process exit code.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdio stdio) int
}

// stdio carries the process streams, so commands are testable.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	getenv   func(string) string
}

func commands() map[string]command {
	return map[string]command{
		"serve":       {"run the appliance (default)", runServe},
		"version":     {"print version, commit and build date", runVersion},
		"healthcheck": {"exit 0 when the server answers /healthz (for container healthchecks)", runHealthcheck},
		"admin": {"owner recovery: admin reset-password --data-dir DIR [--password-file F]",
			func(ctx context.Context, a []string, s stdio) int { return runAdmin(ctx, a, s.out, s.err, s.in) }},
		"backup": {"snapshot the data dir into one archive (works while a node runs): backup --out FILE [--data-dir DIR]",
			func(ctx context.Context, a []string, s stdio) int { return runBackup(ctx, a, s.out, s.err) }},
		"restore": {"restore a snapshot (stop the node first): restore FILE [--data-dir DIR] [--verify-only]",
			func(ctx context.Context, a []string, s stdio) int { return runRestore(ctx, a, s.out, s.err) }},
		"verify": {"verify the release signature and files; --ack-at-rest accepts data changes",
			func(ctx context.Context, a []string, s stdio) int { return runVerify(ctx, a, s.out, s.err) }},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, io stdio) int {
	name := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	cmds := commands()
	if name == "help" {
		usage(io.out, cmds)
		return 0
	}
	c, ok := cmds[name]
	if !ok {
		fmt.Fprintf(io.err, "reticle: unknown command %q\n", name)
		usage(io.err, cmds)
		return 2
	}
	return c.run(ctx, args, io)
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: reticle [command] [flags]\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'reticle COMMAND -h' for a command's flags.")
}
