package interop

import (
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
)

// skips counts tests skipped because an external reference is missing, by reason, so that TestMain can
// say so in one visible line: without it `go test` prints only "ok" and a missing reference goes unseen.
var skips = struct {
	mu sync.Mutex
	n  map[string]int
}{n: map[string]int{}}

// skipMissing records why t is skipped, then skips it.
func skipMissing(t *testing.T, reason, msg string) {
	t.Helper()
	skips.mu.Lock()
	skips.n[reason]++
	skips.mu.Unlock()
	t.Skip(msg)
}

// skipSummary is the one summary line, or "" when nothing was skipped for a missing reference.
func skipSummary() string {
	skips.mu.Lock()
	defer skips.mu.Unlock()
	if len(skips.n) == 0 {
		return ""
	}
	reasons := make([]string, 0, len(skips.n))
	total := 0
	for r, n := range skips.n {
		reasons = append(reasons, fmt.Sprintf("%d: %s", n, r))
		total += n
	}
	sort.Strings(reasons)
	return fmt.Sprintf("INTEROP SUMMARY: %d tests skipped (%v); set PATH to the reference virtualenv (see test/interop/requirements.txt) to run them",
		total, reasons)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.dir != "" {
		_ = os.RemoveAll(buildOnce.dir) // the binaries the appliance tests built
	}
	if line := skipSummary(); line != "" {
		printVisible(line)
	}
	os.Exit(code)
}

// printVisible prints line where a person running `go test ./...` sees it. In package-list mode go test
// hides a passing package's output, so without -v the line goes to the controlling terminal when there
// is one; otherwise (CI logs, -v) to stdout.
func printVisible(line string) {
	if !testing.Verbose() {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			_, err = fmt.Fprintln(tty, line)
			_ = tty.Close()
			if err == nil {
				return
			}
		}
	}
	fmt.Println(line)
}

func TestSkipSummaryNamesCountAndReason(t *testing.T) {
	skips.mu.Lock()
	saved := skips.n
	skips.n = map[string]int{"python reference (RNS) not importable": 2, "LXMF reference not importable": 1}
	skips.mu.Unlock()
	got := skipSummary()
	skips.mu.Lock()
	skips.n = saved
	skips.mu.Unlock()
	want := "INTEROP SUMMARY: 3 tests skipped ([1: LXMF reference not importable 2: python reference (RNS) not importable]); set PATH to the reference virtualenv (see test/interop/requirements.txt) to run them"
	if got != want {
		t.Fatalf("summary\n got %q\nwant %q", got, want)
	}
}
