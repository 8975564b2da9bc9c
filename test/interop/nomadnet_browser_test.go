package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNomadNetBrowserAgainstReference drives the NomadNet screen in headless Chromium against the
// real `reticle serve` and a stock `nomadnet --daemon` node (ui/tests/nomadnet.mjs): it opens the
// node from the node list (its index is the market page of pkg/nomadnet/micron/testdata), fills the
// search field, follows the Search link to an executable page that echoes the submitted field_ and
// var_ values from its environment, goes Back, and downloads the price sheet through a file link.
func TestNomadNetBrowserAgainstReference(t *testing.T) {
	requireNomadNet(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	nodeBin, nerr := exec.LookPath("node")
	_, cerr := os.Stat(chromium)
	_, perr := os.Stat(filepath.Join(root, "ui/node_modules/playwright-core"))
	if nerr != nil || cerr != nil || perr != nil {
		skipMissing(t, "browser tools missing", "needs node, chromium ($CHROMIUM) and ui/node_modules (cd ui && npm ci)")
	}
	market, err := os.ReadFile(filepath.Join(root, "pkg/nomadnet/micron/testdata/market.mu"))
	if err != nil {
		t.Fatal(err)
	}
	mesh := freePort(t)
	r := startAppliance(t, "Interop Reticle", "--interface", fmt.Sprintf("tcp-server://127.0.0.1:%d", mesh))
	waitTCP(t, mesh)
	node := startNomadNetNode(t, mesh, map[string][]byte{
		"index.mu": market,
		"search.mu": []byte("#!/bin/sh\necho '#!c=0'\necho '>Results'\necho 'The page was asked for with:'\n" +
			"env | grep -E '^(field|var)_' | sort | sed 's/=/ = /'\necho '`[Back to the market`:/page/index.mu]'\n"),
	}, map[string][]byte{"prices.csv": []byte("item,price\nmackerel,4\n")})
	hex := node.String()

	// The node list shows the node once its announce arrives; the daemon takes a few seconds to start.
	var nodes struct {
		Items []struct {
			Address string `json:"address"`
		} `json:"items"`
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		r.json("GET", "/api/v1/nomadnet/nodes?q="+hex, nil, 200, &nodes)
		if len(nodes.Items) == 1 && strings.EqualFold(nodes.Items[0].Address, hex) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s never listed", hex)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// With the other browser tests' screenshots (CI keeps them as artifacts); RETICLE_SCREENSHOT_DIR
	// overrides.
	shots := os.Getenv("RETICLE_SCREENSHOT_DIR")
	if shots == "" {
		shots = filepath.Join(root, "test/browser/screenshots/nomadnet")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, nodeBin, filepath.Join(root, "ui/tests/nomadnet.mjs"), r.base,
		"--password", appliancePassword, "--node", hex, "--screenshot-dir", shots)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "nomadnet: OK") {
		t.Fatalf("nomadnet.mjs: %v\n%s", err, out)
	}
	t.Logf("%s(screenshots in %s)", out, shots)
}
