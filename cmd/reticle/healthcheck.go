package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// runHealthcheck asks the server's /healthz and exits 0 on 200. The image has no shell or curl, so
// container healthchecks call this.
func runHealthcheck(ctx context.Context, args []string, stdio stdio) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stdio.err)
	url := fs.String("url", "http://127.0.0.1:8000/healthz", "health endpoint to query")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(stdio.err, "reticle healthcheck: bad --url %q: %v\n", *url, err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stdio.err, "reticle healthcheck: %v\n", err)
		return 1
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stdio.err, "reticle healthcheck: %s answered %s\n", *url, resp.Status)
		return 1
	}
	fmt.Fprintf(stdio.out, "ok: %s\n", *url)
	return 0
}
