// Command reticle-bench measures Reticle on this machine, all on loopback, and prints one line per
// number (with the scenario's parameters), so a run can be pasted into an issue note:
//
//	go run ./cmd/reticle-bench                       # every scenario
//	go run ./cmd/reticle-bench -scenarios http -n 500
//
// Scenarios:
//   - idle: start-to-ready of `reticle serve` (until /healthz answers) and its RSS after a few idle seconds.
//   - announce: single-core Ed25519 verify rate, and announce ingest through the node's parallel inbound
//     path on one interface (the target: 90 % of cores x the verify rate).
//   - resource: an 8 MiB resource over a link between two nodes on loopback TCP.
//   - http: two `reticle serve` nodes on loopback TCP; a burst of -n messages posted to A's HTTP API for
//     B (HTTP latency per request, end-to-end delivered rate, messages that needed a retry), then -n
//     one-at-a-time sends, each waited for until delivered (send-to-delivered p50/p99).
//
// With the Python reference importable (python3 -c 'import RNS, LXMF'), -reference also runs its
// announce ingest (test/interop/bench_reference.py) and a Python-to-Python LXMF burst
// (test/interop/lxmfpeer.py), and prints Reticle's ratio to each. Run it from the repository root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type bench struct {
	reticle   string // the reticle binary
	scripts   string // test/interop, for the reference scripts
	n         int
	conc      int // clients posting at once in the http burst
	reference bool
	results   map[string]float64
}

func main() {
	scen := flag.String("scenarios", "idle,announce,resource,http", "comma-separated scenarios to run")
	n := flag.Int("n", 500, "messages per burst and one-at-a-time sends in the http scenario (1-5000)")
	bin := flag.String("reticle", "", "reticle binary (default: built from ./cmd/reticle into a temp dir)")
	conc := flag.Int("c", 4, "clients posting at once in the http burst (1-64)")
	ref := flag.Bool("reference", true, "also measure the Python reference when python3 can import RNS and LXMF")
	scripts := flag.String("scripts", "test/interop", "directory of the reference driver scripts")
	flag.Parse()
	if *n < 1 || *n > 5000 {
		fail("-n must be 1 to 5000")
	}
	if *conc < 1 || *conc > 64 {
		fail("-c must be 1 to 64")
	}
	b := &bench{reticle: *bin, scripts: *scripts, n: *n, conc: *conc, results: map[string]float64{}}
	if b.reticle == "" {
		dir, err := os.MkdirTemp("", "reticle-bench-")
		if err != nil {
			fail(err.Error())
		}
		defer func() { _ = os.RemoveAll(dir) }()
		b.reticle = filepath.Join(dir, "reticle")
		cmd := exec.Command("go", "build", "-o", b.reticle, "./cmd/reticle") //nolint:gosec // our temp path
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fail(fmt.Sprintf("build reticle (run from the repository root or pass -reticle): %v\n%s", err, out))
		}
	}
	if *ref {
		out, err := exec.Command("python3", "-c", "import RNS, LXMF; print(RNS.__version__, LXMF.__version__)").CombinedOutput()
		if err == nil {
			b.reference = true
			fmt.Printf("reference: RNS %s\n", strings.TrimSpace(string(out)))
		} else {
			fmt.Println("reference: not measured (python3 cannot import RNS and LXMF)")
		}
	}
	fmt.Printf("machine: %d cores, %s\n", numCPU(), time.Now().UTC().Format(time.RFC3339))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	runs := map[string]func(context.Context) error{
		"idle": b.idle, "announce": b.announce, "resource": b.resource, "http": b.http,
	}
	failed := false
	for _, s := range strings.Split(*scen, ",") {
		s = strings.TrimSpace(s)
		run, ok := runs[s]
		if !ok {
			fail(fmt.Sprintf("unknown scenario %q (idle, announce, resource, http)", s))
		}
		fmt.Printf("\n== %s\n", s)
		if err := run(ctx); err != nil {
			fmt.Printf("%s: FAILED: %v\n", s, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// report prints and records one number.
func (b *bench) report(key string, v float64, unit, note string) {
	b.results[key] = v
	if note != "" {
		note = "  (" + note + ")"
	}
	fmt.Printf("%-34s %12.2f %s%s\n", key, v, unit, note)
}

// ratio prints a / b when both were measured.
func (b *bench) ratio(name, reticle, reference string) {
	r, okR := b.results[reticle]
	p, okP := b.results[reference]
	if okR && okP && p > 0 {
		fmt.Printf("%-34s %12.1fx\n", "ratio "+name, r/p)
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "reticle-bench:", msg)
	os.Exit(2)
}
