// Command scanallow checks the scan allow-list (.github/scan-allowlist.yaml) and applies it to the
// reports of scanners that have no ignore file of their own.
//
//	scanallow check ALLOWLIST                      every entry has an id, a reason and a live expiry
//	scanallow npm [-level high] ALLOWLIST <REPORT  fail on npm audit --json advisories not allowed
//	scanallow govulncheck ALLOWLIST <REPORT        fail on called vulnerabilities not allowed
//
// Exit status: 0 clean (or every finding allowed), 1 findings or bad entries, 2 usage or unreadable
// input, 3 the report says the scanner could not run (for example the registry's audit endpoint is
// unreachable), so that callers can tell "skipped" from "failed". trivy reads the same allow-list
// itself with --ignorefile.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, time.Now()))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer, now time.Time) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: scanallow check|npm|govulncheck [flags] ALLOWLIST")
		return 2
	}
	fs := flag.NewFlagSet("scanallow "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	level := fs.String("level", "high", "npm: lowest severity that fails (low, moderate, high, critical)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
		fmt.Fprintf(stderr, "usage: scanallow %s [flags] ALLOWLIST\n", args[0])
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "scanallow: %v\n", err)
		return 2
	}
	list, err := parseAllowList(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "scanallow: %s: %v\n", fs.Arg(0), err)
		return 2
	}
	bad := list.problems(now)
	for _, p := range bad {
		fmt.Fprintf(stderr, "scanallow: %s: %s\n", fs.Arg(0), p)
	}

	var findings []finding
	var section []entry
	switch args[0] {
	case "check":
		if len(bad) > 0 {
			return 1
		}
		fmt.Fprintf(stdout, "scanallow: %s: every entry has an id, a reason and an expiry within a year\n", fs.Arg(0))
		return 0
	case "npm":
		findings, err = npmFindings(stdin, *level)
		section = list.NPM
	case "govulncheck":
		findings, err = govulnFindings(stdin)
		section = list.Govulncheck
	default:
		fmt.Fprintf(stderr, "scanallow: unknown command %q\n", args[0])
		return 2
	}
	if errors.Is(err, errUnavailable) {
		fmt.Fprintf(stderr, "scanallow: %s: %v\n", args[0], err)
		return 3
	}
	if err != nil {
		fmt.Fprintf(stderr, "scanallow: %s: %v\n", args[0], err)
		return 2
	}
	left := notAllowed(findings, section, now)
	for _, f := range left {
		fmt.Fprintf(stdout, "%s: %s %s\n", args[0], f.ID, f.What)
	}
	fmt.Fprintf(stdout, "scanallow %s: %d findings, %d allow-listed, %d failing\n", args[0], len(findings), len(findings)-len(left), len(left))
	if len(left) > 0 || len(bad) > 0 {
		return 1
	}
	return 0
}
