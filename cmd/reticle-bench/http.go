package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

type sentMessage struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
}

// http runs the burst and the one-at-a-time sends through two real appliances.
func (b *bench) http(ctx context.Context) error {
	mesh, err := freeAddr()
	if err != nil {
		return err
	}
	limits := []string{"--max-inbound-per-minute", "100000"}
	a, err := b.startServe(ctx, "bench-a", append([]string{"--interface", "tcp-server://" + mesh}, limits...)...)
	if err != nil {
		return err
	}
	defer a.stop()
	bn, err := b.startServe(ctx, "bench-b", append([]string{"--interface", "tcp-client://" + mesh}, limits...)...)
	if err != nil {
		return err
	}
	defer bn.stop()
	to, err := bn.address()
	if err != nil {
		return err
	}
	// A must know B before it can send: B announces when its interface comes up; ask again if needed.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var peers struct {
			Items []struct {
				Address string `json:"address"`
			} `json:"items"`
		}
		if err := a.call(http.MethodGet, "/api/v1/peers?q="+to, nil, &peers); err != nil {
			return err
		}
		if len(peers.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("node a never heard node b's announce")
		}
		_ = bn.call(http.MethodPost, "/api/v1/announce", nil, nil)
		time.Sleep(500 * time.Millisecond)
	}

	for _, method := range []string{"direct", "opportunistic"} {
		lat := make([]float64, b.n)
		ids := make([]string, b.n)
		errs := make([]error, b.conc)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range b.conc { // b.conc clients posting at once, as a script with a few workers would
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := w; k < b.n; k += b.conc {
					t0 := time.Now()
					var m sentMessage
					if err := a.call(http.MethodPost, "/api/v1/messages", map[string]any{"to": to, "content": fmt.Sprintf("burst %s %d", method, k), "method": method}, &m); err != nil {
						errs[w] = err
						return
					}
					lat[k] = float64(time.Since(t0).Microseconds()) / 1000
					ids[k] = m.ID
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		posted := time.Since(start)
		retried, err := waitThreadDelivered(a, to, ids, start.Add(5*time.Minute))
		if err != nil {
			return err
		}
		total := time.Since(start)
		b.report("http burst "+method, float64(b.n)/total.Seconds(), "msg/s", fmt.Sprintf("%d messages posted by %d clients in %v, all delivered in %v", b.n, b.conc, posted.Round(time.Millisecond), total.Round(time.Millisecond)))
		b.report("  POST /messages p50", percentile(lat, 50), "ms", "target < 0.5")
		b.report("  POST /messages p99", percentile(lat, 99), "ms", "")
		b.report("  messages retried", float64(retried), "", "needed more than one attempt; target 0")
	}

	// One at a time: each message waited for until delivered (the link is up from the burst).
	var one []float64
	for k := range min(b.n, 200) {
		t0 := time.Now()
		var m sentMessage
		if err := a.call(http.MethodPost, "/api/v1/messages", map[string]any{"to": to, "content": fmt.Sprintf("one %d", k), "method": "direct"}, &m); err != nil {
			return err
		}
		if _, err := waitDelivered(a, []string{m.ID}, t0.Add(30*time.Second)); err != nil {
			return err
		}
		one = append(one, float64(time.Since(t0).Microseconds())/1000)
	}
	b.report("one-at-a-time send-to-delivered p50", percentile(one, 50), "ms", fmt.Sprintf("%d sends, direct, seen by polling the API every 0.5 ms", len(one)))
	b.report("one-at-a-time send-to-delivered p99", percentile(one, 99), "ms", "target <= 3")

	if b.reference {
		if r, err := b.referenceBurst(ctx); err != nil {
			fmt.Printf("reference burst: not measured: %v\n", err)
		} else {
			b.report("reference python->python burst", r, "msg/s", fmt.Sprintf("%d messages, direct, lxmfpeer.py", b.n))
			b.ratio("http burst direct / python (target >= 50)", "http burst direct", "reference python->python burst")
		}
	}
	return nil
}

// waitThreadDelivered polls the thread with to (pages of 500, every 10 ms, so the polling itself
// costs the node little) until every message in ids is delivered; it returns how many needed a retry.
func waitThreadDelivered(n *serveNode, to string, ids []string, deadline time.Time) (int, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for {
		delivered, retried := 0, 0
		before := ""
		for range (len(ids) / 500) + 2 {
			var page struct {
				Items         []sentMessage `json:"items"`
				HasMoreBefore bool          `json:"has_more_before"`
			}
			q := "/api/v1/messages?peer=" + to + "&limit=500"
			if before != "" {
				q += "&before=" + before
			}
			if err := n.call(http.MethodGet, q, nil, &page); err != nil {
				return 0, err
			}
			for _, m := range page.Items {
				if !want[m.ID] {
					continue
				}
				switch m.State {
				case "delivered":
					delivered++
					if m.Attempts > 1 {
						retried++
					}
				case "failed":
					return 0, fmt.Errorf("message %s failed: %s", m.ID, m.Error)
				}
			}
			if !page.HasMoreBefore || len(page.Items) == 0 {
				break
			}
			before = page.Items[0].ID // pages are oldest first within the page
		}
		if delivered == len(ids) {
			return retried, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d of %d delivered at the deadline", delivered, len(ids))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitDelivered polls until every message is delivered, and returns how many needed a retry.
func waitDelivered(n *serveNode, ids []string, deadline time.Time) (int, error) {
	retried := 0
	for _, id := range ids {
		for {
			var m sentMessage
			if err := n.call(http.MethodGet, "/api/v1/messages/"+id, nil, &m); err != nil {
				return 0, err
			}
			if m.State == "delivered" {
				if m.Attempts > 1 {
					retried++
				}
				break
			}
			if m.State == "failed" {
				return 0, fmt.Errorf("message %s failed: %s", id, m.Error)
			}
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("message %s still %s at the deadline", id, m.State)
			}
			time.Sleep(500 * time.Microsecond)
		}
	}
	return retried, nil
}

// pyPeer is a running lxmfpeer.py.
type pyPeer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan map[string]any
}

func (b *bench) startPyPeer(ctx context.Context, dir, name, ifaceSection string) (*pyPeer, map[string]any, error) {
	cfg := filepath.Join(dir, name+"-config")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		return nil, nil, err
	}
	conf := "[reticulum]\n  enable_transport = No\n  share_instance = No\n  panic_on_interface_error = No\n\n[logging]\n  loglevel = 2\n\n[interfaces]\n" + ifaceSection
	if err := os.WriteFile(filepath.Join(cfg, "config"), []byte(conf), 0o600); err != nil {
		return nil, nil, err
	}
	cmd := exec.CommandContext(ctx, "python3", filepath.Join(b.scripts, "lxmfpeer.py"), cfg, filepath.Join(dir, name+"-storage"), name) //nolint:gosec // our script
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	p := &pyPeer{cmd: cmd, stdin: stdin, events: make(chan map[string]any, 16384)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				p.events <- ev
			}
		}
		close(p.events)
	}()
	ready, err := p.wait(30*time.Second, func(ev map[string]any) bool { return ev["event"] == "ready" })
	if err != nil {
		p.stop()
		return nil, nil, err
	}
	return p, ready, nil
}

func (p *pyPeer) send(cmd map[string]any) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	_, err = p.stdin.Write(append(b, '\n'))
	return err
}

func (p *pyPeer) wait(d time.Duration, match func(map[string]any) bool) (map[string]any, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				return nil, errors.New("python peer exited")
			}
			if match(ev) {
				return ev, nil
			}
		case <-t.C:
			return nil, fmt.Errorf("no matching event from the python peer within %v", d)
		}
	}
}

func (p *pyPeer) stop() {
	_ = p.send(map[string]any{"cmd": "quit"})
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// referenceBurst sends b.n direct messages from one Python LXMF router to another over loopback TCP.
func (b *bench) referenceBurst(ctx context.Context) (float64, error) {
	dir, err := os.MkdirTemp("", "reticle-bench-py-")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	mesh, err := freeAddr()
	if err != nil {
		return 0, err
	}
	host, port := mesh[:len("127.0.0.1")], mesh[len("127.0.0.1:"):]
	srv, _, err := b.startPyPeer(ctx, dir, "pysrv", fmt.Sprintf("  [[TCP Server]]\n    type = TCPServerInterface\n    enabled = yes\n    listen_ip = %s\n    listen_port = %s\n", host, port))
	if err != nil {
		return 0, err
	}
	defer srv.stop()
	cli, ready, err := b.startPyPeer(ctx, dir, "pycli", fmt.Sprintf("  [[TCP Client]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = %s\n    target_port = %s\n", host, port))
	if err != nil {
		return 0, err
	}
	defer cli.stop()
	to, _ := ready["address"].(string)
	for attempt := 0; ; attempt++ {
		if err := cli.send(map[string]any{"cmd": "announce"}); err != nil {
			return 0, err
		}
		if _, err := srv.wait(5*time.Second, func(ev map[string]any) bool { return ev["event"] == "announce" && ev["dest"] == to }); err == nil {
			break
		} else if attempt == 5 {
			return 0, err
		}
	}
	start := time.Now()
	for k := range b.n {
		if err := srv.send(map[string]any{"cmd": "send", "to": to, "title": "", "content": fmt.Sprintf("burst %d", k), "id": k, "method": "direct"}); err != nil {
			return 0, err
		}
	}
	for done := 0; done < b.n; {
		ev, err := srv.wait(5*time.Minute, func(ev map[string]any) bool { return ev["event"] == "send_state" })
		if err != nil {
			return 0, err
		}
		if ev["state"] != "delivered" {
			return 0, fmt.Errorf("python message %v: %v", ev["id"], ev["state"])
		}
		done++
	}
	return float64(b.n) / time.Since(start).Seconds(), nil
}
