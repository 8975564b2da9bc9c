package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
)

func numCPU() int { return runtime.GOMAXPROCS(0) }

// nullIface is an attached interface that drops what is sent on it.
type nullIface struct{}

func (nullIface) Name() string                { return "bench" }
func (nullIface) Start(context.Context) error { return nil }
func (nullIface) Close() error                { return nil }
func (nullIface) Send([]byte) error           { return nil }
func (nullIface) MTU() int                    { return iface.TCPHardwareMTU }
func (nullIface) Bitrate() int                { return 10_000_000 }
func (nullIface) Stats() iface.Stats          { return iface.Stats{Name: "bench"} }
func (nullIface) State() iface.State          { return iface.StateUp }
func (nullIface) Parent() iface.Interface     { return nil }

// announce measures the single-core verify rate and announce ingest through transport.Parallel.
func (b *bench) announce(ctx context.Context) error {
	id, err := identity.Generate()
	if err != nil {
		return err
	}
	msg := make([]byte, 200)
	sig, err := id.Sign(msg)
	if err != nil {
		return err
	}
	count, start := 0, time.Now()
	for time.Since(start) < time.Second {
		for range 100 {
			if !id.Verify(sig, msg) {
				return errors.New("verify failed")
			}
		}
		count += 100
	}
	verify := float64(count) / time.Since(start).Seconds()
	b.report("ed25519 verify, one core", verify, "/s", "")

	const distinct = 8192
	frames := make([][]byte, distinct)
	nh, err := identity.NameHash("bench", "announce")
	if err != nil {
		return err
	}
	for k := range frames {
		aid, err := identity.Generate()
		if err != nil {
			return err
		}
		p, err := aid.NewAnnounce(identity.AnnounceOptions{NameHash: nh, AppData: []byte("bench")})
		if err != nil {
			return err
		}
		if frames[k], err = p.Marshal(); err != nil {
			return err
		}
	}
	var rates []float64
	for range 3 {
		tid, err := identity.Generate()
		if err != nil {
			return err
		}
		o := transport.Options{Identity: tid, Transport: true}
		o.Ingress.Disabled = true
		tr, err := transport.New(o)
		if err != nil {
			return err
		}
		in := &nullIface{}
		tr.Attach(in)
		p := transport.NewParallel(tr, 0)
		start := time.Now()
		for _, f := range frames {
			p.Inbound(in, f)
		}
		p.Close()
		d := time.Since(start)
		valid := tr.Counters().AnnouncesValid
		_ = tr.Close()
		if valid != distinct {
			return fmt.Errorf("%d of %d announces accepted", valid, distinct)
		}
		rates = append(rates, distinct/d.Seconds())
	}
	sort.Float64s(rates)
	b.report("announce ingest, one interface", rates[1], "/s", fmt.Sprintf("%d distinct, median of 3", distinct))
	b.report("  of cores x verify", 100*rates[1]/(verify*float64(numCPU())), "%", "target >= 90")
	if b.reference {
		if r, err := b.referenceAnnounce(ctx); err != nil {
			fmt.Printf("reference announce ingest: not measured: %v\n", err)
		} else {
			b.report("reference announce ingest", r, "/s", "bench_reference.py")
			b.ratio("announce ingest (target >= 10)", "announce ingest, one interface", "reference announce ingest")
		}
	}
	return nil
}

var refAnnounceRate = regexp.MustCompile(`([0-9.]+) announces/s`)

func (b *bench) referenceAnnounce(ctx context.Context) (float64, error) {
	dir, err := os.MkdirTemp("", "reticle-bench-ref-")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	out, err := exec.CommandContext(ctx, "python3", filepath.Join(b.scripts, "bench_reference.py"), dir).CombinedOutput() //nolint:gosec // our script
	if err != nil {
		return 0, fmt.Errorf("%w: %s", err, out)
	}
	m := refAnnounceRate.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no announce rate in %q", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// resource sends an 8 MiB resource over a link between two nodes on loopback TCP, three times.
func (b *bench) resource(ctx context.Context) error {
	srvDir, err := os.MkdirTemp("", "reticle-bench-res-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(srvDir) }()
	mk := func(dir, uri string) (*rns.Node, *link.Manager, error) {
		n, err := rns.New(rns.Options{DataDir: dir, Interfaces: []string{uri}, ReconnectMin: 50 * time.Millisecond, ReconnectMax: time.Second})
		if err != nil {
			return nil, nil, err
		}
		if err := n.Start(ctx); err != nil {
			return nil, nil, err
		}
		l, err := n.NewLinks(link.Options{MaxResourceSize: 64 << 20})
		if err != nil {
			_ = n.Close()
			return nil, nil, err
		}
		if err := l.Start(ctx); err != nil {
			_ = n.Close()
			return nil, nil, err
		}
		return n, l, nil
	}
	srvNode, srv, err := mk(filepath.Join(srvDir, "srv"), "tcp-server://127.0.0.1:0?name=srv")
	if err != nil {
		return err
	}
	defer func() { _ = srv.Close(); _ = srvNode.Close() }()
	addr := srvNode.ListenAddr("srv")
	if addr == nil {
		return errors.New("server interface has no address")
	}
	cliNode, cli, err := mk(filepath.Join(srvDir, "cli"), "tcp-client://"+addr.String())
	if err != nil {
		return err
	}
	defer func() { _ = cli.Close(); _ = cliNode.Close() }()
	did, err := identity.Generate()
	if err != nil {
		return err
	}
	dest, err := srvNode.RegisterDestination(transport.DestinationConfig{Identity: did, App: "bench", Aspects: []string{"resource"}})
	if err != nil {
		return err
	}
	got := make(chan *link.Resource, 4)
	if err := srv.Listen(dest, link.ListenConfig{Callbacks: link.Callbacks{
		ResourceAdvertised: func(*link.Link, *link.Advertisement) bool { return true },
		ResourceConcluded:  func(_ *link.Link, r *link.Resource) { got <- r },
	}}); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for !cliNode.Transport().HasPath(dest.Hash()) {
		if time.Now().After(deadline) {
			return errors.New("the client never learned a path")
		}
		_ = srvNode.Announce(dest, nil)
		time.Sleep(50 * time.Millisecond)
	}
	l, err := cli.Open(dest.Hash(), link.Callbacks{})
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = l.Wait(wctx)
	cancel()
	if err != nil {
		return err
	}
	data := make([]byte, 8<<20)
	_, _ = rand.Read(data)
	var rates []float64
	for range 3 {
		start := time.Now()
		r, err := l.SendResource(data, link.ResourceOptions{})
		if err != nil {
			return err
		}
		select {
		case <-r.Done():
		case <-time.After(120 * time.Second):
			return errors.New("8 MiB not sent within 120 s")
		}
		if r.Err() != nil {
			return r.Err()
		}
		select {
		case in := <-got:
			if len(in.Data()) != len(data) {
				return fmt.Errorf("received %d bytes, sent %d", len(in.Data()), len(data))
			}
		case <-time.After(10 * time.Second):
			return errors.New("the receiver never concluded the resource")
		}
		rates = append(rates, 8/time.Since(start).Seconds())
	}
	sort.Float64s(rates)
	b.report("8 MiB resource over a link", rates[1], "MiB/s", "random data, median of 3")
	return nil
}
