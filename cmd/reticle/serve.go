package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/reticle-mesh/reticle/pkg/buildinfo"
	"github.com/reticle-mesh/reticle/pkg/config"
	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/store"
	"github.com/reticle-mesh/reticle/pkg/web"
	"github.com/reticle-mesh/reticle/ui"
)

// runServe starts the appliance and blocks until ctx is cancelled (SIGINT/SIGTERM), then stops it.
func runServe(ctx context.Context, args []string, io stdio) int {
	cfg, err := config.Load(args, io.getenv, io.err)
	if err != nil {
		fmt.Fprintf(io.err, "reticle: %v\n", err)
		return 2
	}
	log := newLogger(io.err, cfg.LogLevel, cfg.LogFormat)
	bi := buildinfo.Get()
	log.Info("starting reticle", "version", bi.Version, "commit", bi.Commit, "data_dir", cfg.DataDir)

	lc, err := build(ctx, cfg, log, nil)
	if err != nil {
		log.Error("startup failed", "err", err)
		fmt.Fprintf(io.err, "reticle: %v\n", err)
		return 1
	}
	if err := lc.start(ctx); err != nil {
		log.Error("startup failed", "err", err)
		fmt.Fprintf(io.err, "reticle: %v\n", err)
		return 1
	}
	<-ctx.Done()
	log.Info("shutting down")
	if err := lc.stop(); err != nil {
		log.Error("shutdown incomplete", "err", err)
		return 1
	}
	log.Info("stopped cleanly")
	return 0
}

// built is what build hands back besides the lifecycle, for tests.
type built struct {
	web *web.Server
}

// build constructs every component from the config and registers them, in start order, with a lifecycle.
// Nothing listens or dials until lifecycle.start.
func build(ctx context.Context, cfg config.Config, log *slog.Logger, out *built) (*lifecycle, error) {
	lc := &lifecycle{log: log}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}

	st, err := store.Open(ctx, store.Options{Path: cfg.DBPath(), Logger: log.With("component", "store")})
	if err != nil {
		return nil, err
	}
	lc.add(component{name: "store", stop: st.Close})

	node, err := buildNode(ctx, cfg, st, log)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	lc.add(component{name: "mesh", start: node.Start, stop: node.Close})

	srv, err := web.New(web.Options{
		Listen:         cfg.Listen,
		TrustedProxies: cfg.TrustedProxies,
		Logger:         log.With("component", "web"),
	}, web.Deps{Store: st, UI: ui.FS()})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	lc.add(component{name: "web", start: srv.Start, stop: srv.Close})
	if out != nil {
		out.web = srv
	}
	return lc, nil
}

// buildNode creates the Reticulum node from --interface URIs and the enabled interface records in the
// store. A bad URI is reported with its source and never logged with its passphrase.
func buildNode(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) (*rns.Node, error) {
	uris := make([]string, 0, len(cfg.Interfaces))
	for _, u := range cfg.Interfaces {
		if _, err := iface.Parse(u); err != nil {
			return nil, fmt.Errorf("--interface: %w", err)
		}
		uris = append(uris, u)
	}
	recs, err := st.ListInterfaces(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if !r.Enabled {
			continue
		}
		if _, err := iface.Parse(r.URI); err != nil {
			log.Warn("skipping stored interface with a bad URI", "name", r.Name, "err", err)
			continue
		}
		uris = append(uris, r.URI)
	}
	node, err := rns.New(rns.Options{
		Interfaces: uris,
		DataDir:    cfg.DataDir,
		Transport:  cfg.Transport,
		Logger:     log.With("component", "mesh"),
	})
	if err != nil {
		return nil, fmt.Errorf("mesh node: %w", err)
	}
	return node, nil
}

// newLogger builds the process logger; pkg/ code gets it injected, never via slog.Default.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
