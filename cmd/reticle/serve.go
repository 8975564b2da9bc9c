package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/reticle-mesh/reticle"
	"github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/auth"
	"github.com/reticle-mesh/reticle/pkg/backup"
	"github.com/reticle-mesh/reticle/pkg/buildinfo"
	"github.com/reticle-mesh/reticle/pkg/config"
	"github.com/reticle-mesh/reticle/pkg/integrity"
	"github.com/reticle-mesh/reticle/pkg/logring"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/plugins"
	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/store"
	"github.com/reticle-mesh/reticle/pkg/web"
	"github.com/reticle-mesh/reticle/ui"
)

// runServe starts the appliance and blocks until ctx is cancelled (SIGINT/SIGTERM), then stops it.
func runServe(ctx context.Context, args []string, io stdio) int {
	cfg, err := config.LoadFor(buildinfo.IsDev(), args, io.getenv, io.err)
	if errors.Is(err, flag.ErrHelp) {
		// The flag set already printed the usage; asking for help is not an error.
		return 0
	}
	if err != nil {
		fmt.Fprintf(io.err, "reticle: %v\n", err)
		return 2
	}
	log := newLogger(io.err, cfg.LogLevel, cfg.LogFormat)
	bi := buildinfo.Get()
	log.Info("starting reticle", "version", bi.Version, "commit", bi.Commit, "data_dir", cfg.DataDir)

	// The active identity's data dir (the configured one unless another identity was switched to); a
	// switch from the UI restarts the node on another one in this process.
	home := cfg.DataDir
	restart := make(chan string, 1)
	cfg.DataDir = activeDataDir(home)
	for {
		if cfg.DataDir != home {
			log.Info("active identity's data", "data_dir", cfg.DataDir)
		}
		prof := &profiles{home: home, dir: cfg.DataDir, postgres: cfg.Database != "", log: log.With("component", "identities"), restart: restart}
		a, err := buildWith(ctx, cfg, log, prof)
		if err == nil {
			err = a.start(ctx)
		}
		if err != nil {
			log.Error("startup failed", "err", err)
			fmt.Fprintf(io.err, "reticle: %v\n", err)
			return 1
		}
		// Startup (migrations, the self-check, building every component) leaves tens of MB of garbage
		// the runtime would hand back to the OS only over minutes; give it back now, so the idle node is
		// small from the start (53 -> 36 MB RSS measured). One GC, a few ms, after the node is up.
		go debug.FreeOSMemory()
		var next string
		select {
		case <-ctx.Done():
			log.Info("shutting down")
		case next = <-restart:
			log.Warn("restarting on another identity", "data_dir", next)
		}
		if err := a.stop(); err != nil {
			log.Error("shutdown incomplete", "err", err)
			return 1
		}
		if next == "" {
			break
		}
		cfg.DataDir = next
	}
	log.Info("stopped cleanly")
	return 0
}

// appliance is the built set of components.
type appliance struct {
	lc     *lifecycle
	web    *web.Server
	atRest *integrity.AtRest
	lock   *backup.Lock // the data dir's lock, held from build until stop
}

func (a *appliance) start(ctx context.Context) error { return a.lc.start(ctx) }

// stop stops every component in reverse order; only when all of them stopped cleanly (the store is
// checkpointed and closed) are the at-rest hashes recorded, so that a failed stop is reported as
// unclean at the next start rather than as tampering.
func (a *appliance) stop() error {
	defer func() { _ = a.lock.Release() }()
	if err := a.lc.stop(); err != nil {
		return err
	}
	return a.atRest.RecordCleanShutdown(nil)
}

// build takes the data dir's lock (a second node, or `reticle restore`, on the same data dir is
// refused), applies a restore staged by the API while the node ran, and builds the appliance; on
// error the lock is released.
func build(ctx context.Context, cfg config.Config, log *slog.Logger) (*appliance, error) {
	return buildWith(ctx, cfg, log, nil)
}

// buildWith is build with the identities service the web API offers (nil: none).
func buildWith(ctx context.Context, cfg config.Config, log *slog.Logger, prof *profiles) (*appliance, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	lock, err := backup.Acquire(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	m, saved, applied, err := backup.ApplyPending(ctx, cfg.DataDir, backup.RestoreOptions{Version: buildinfo.Get().Version})
	if err == nil && applied {
		log.Warn("applied the staged restore", "snapshot_created_at", m.CreatedAt, "messages", m.Messages, "previous_data_saved_as", saved)
		err = sealRestored(ctx, cfg.DataDir, log.With("component", "store"))
	}
	if err != nil {
		_ = lock.Release()
		return nil, err
	}
	a, err := buildLocked(ctx, cfg, log, prof)
	if err != nil {
		_ = lock.Release()
		return nil, err
	}
	a.lock = lock
	return a, nil
}

// buildLocked checks the release and the data dir, then constructs every component from the config and
// registers them, in start order, with a lifecycle. Nothing listens or dials until start.
func buildLocked(ctx context.Context, cfg config.Config, log *slog.Logger, prof *profiles) (*appliance, error) {
	for _, u := range cfg.Interfaces {
		if _, err := iface.Parse(u); err != nil {
			return nil, fmt.Errorf("--interface: %w", err)
		}
	}
	mode := integrity.Mode(cfg.Verify)
	if reticle.CosignPublicKeyOverridden() {
		log.Warn("this build trusts a link-time signing key, not the release key")
	}
	rep, err := integrity.Verify(integrity.Options{
		Mode: mode, ManifestPath: cfg.ManifestPath, BundlePath: cfg.BundlePath,
		PublicKeyPEM: reticle.CosignPublicKey(), DevBuild: buildinfo.IsDev(), Logger: log.With("component", "integrity"),
	})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	// MkdirAll leaves an existing dir (a fresh volume, an older install) as it was.
	if st, err := os.Stat(cfg.DataDir); err == nil && st.Mode().Perm() != 0o700 {
		if err := os.Chmod(cfg.DataDir, 0o700); err != nil { //nolint:gosec // G302: a directory needs x; 0700 is owner-only
			log.Warn("could not restrict the data dir to 0700", "data_dir", cfg.DataDir, "err", err)
		}
	}
	at, err := integrity.Open(cfg.DataDir, integrity.AtRestOptions{Mode: mode, Logger: log.With("component", "integrity")})
	if err != nil {
		return nil, err
	}
	a := &appliance{lc: &lifecycle{log: log}, atRest: at}

	if cfg.Database != "" {
		log.Info("store", "database", store.MaskDSN(cfg.Database))
	} else {
		log.Info("store", "database", "sqlite "+cfg.DBPath())
	}
	st, err := store.Open(ctx, store.Options{Path: cfg.DBPath(), Database: cfg.Database, Logger: log.With("component", "store"),
		BeforeMigrate: premigrateSnapshot(cfg.DataDir, log.With("component", "backup"))})
	if err != nil {
		return nil, err
	}
	a.lc.add(component{name: "store", stop: st.Close})
	// integrity.json alone can be deleted or edited: compare the identities with the record in the
	// database too, whatever integrity.json said.
	if err := at.CheckRecord(ctx, st); err != nil {
		_ = st.Close()
		return nil, err
	}
	// Stopped just before the store: a clean stop records the identities as they are.
	a.lc.add(component{name: "at-rest record", stop: func() error { return at.SealAccepting(context.Background(), st) }})

	authSvc, err := auth.New(auth.Options{Logger: log.With("component", "auth")}, st)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	code, err := authSvc.Bootstrap(ctx, cfg.InitialPassword)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	if code != "" {
		// Scripts look for exactly this text; the code is single-use and only unlocks the setup page.
		log.Warn("setup code: " + code)
	}
	a.lc.add(component{name: "auth", start: authSvc.Start, stop: authSvc.Close})

	node, err := buildNode(cfg, log)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	a.lc.add(component{name: "mesh", start: node.Start, stop: node.Close})
	network, err := app.NewNetwork(app.NetworkOptions{Flags: cfg.Interfaces, Logger: log.With("component", "interfaces")}, st, node)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	// Stored interfaces start on the running node, each on its own, so one that cannot start (a port in
	// use) is reported in the UI instead of keeping the appliance down.
	a.lc.add(component{name: "interfaces", start: network.Start, stop: network.Close})

	maxMessage := cfg.MaxMessageMB << 20
	// A message over a link is a resource plus its framing: let the link layer accept slightly more
	// than the message cap, and let the router refuse what is over the cap with a clear reason.
	links, err := node.NewLinks(link.Options{MaxResourceSize: int64(maxMessage) + 64<<10})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	a.lc.add(component{name: "links", start: links.Start, stop: links.Close})

	msg, err := app.New(app.Options{
		DataDir: cfg.DataDir, DisplayName: cfg.DisplayName, AnnounceAtStart: true, AnnounceInterval: cfg.AnnounceInterval,
		Links: links, Logger: log.With("component", "lxmf"),
		Router: router.Options{MaxDirectSize: maxMessage, MaxInboundPerPeer: cfg.MaxInboundPerMinute},
		Budget: budgetOptions(cfg),
		Propagation: app.PropagationOptions{
			Serve:        cfg.PropagationNode,
			StorageLimit: int64(cfg.PropagationStorageMB) << 20,
			StampCost:    cfg.PropagationStampCost,
			Peers:        cfg.PropagationPeers,
			SyncInterval: syncInterval(cfg.SyncInterval),
		},
	}, st, node)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	a.lc.add(component{name: "messaging", start: msg.Start, stop: msg.Close})
	// NomadNet: browsing other nodes, and Reticle's own node on the LXMF identity (announced with it).
	pages, err := app.NewPages(app.PagesOptions{MaxFileSize: int64(maxMessage)}, msg)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	a.lc.add(component{name: "nomadnet", start: pages.Start, stop: pages.Close})
	// Both identities exist now (a first run just created them): vouch for them in the database.
	if err := at.Seal(ctx, st); err != nil {
		_ = st.Close()
		return nil, err
	}

	interval := cfg.SnapshotInterval
	if interval == 0 {
		interval = -1 // off
	}
	if _, err := store.FindPGDump(); st.Postgres() && interval > 0 && err != nil {
		log.Warn("scheduled snapshots are off: the store is in PostgreSQL and snapshots need pg_dump", "why", err.Error())
		interval = -1
	}
	snaps, err := backup.New(backup.Options{DataDir: cfg.DataDir, Interval: interval, Keep: cfg.SnapshotKeep,
		Version: buildinfo.Get().Version, Logger: log.With("component", "backup")}, st)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	a.lc.add(component{name: "snapshots", start: snaps.Start, stop: snaps.Close})
	pluginMgr, err := plugins.New(plugins.Options{Logger: log.With("component", "plugins")}, pluginRecords{st}, pluginHost{msg})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	bridge := &pluginBridge{mg: pluginMgr, events: msg.Events()}
	a.lc.add(component{name: "plugins", start: bridge.Start, stop: bridge.Close})
	// Once the plugins run, their page prefixes are served by the node (and re-read every minute).
	a.lc.add(component{name: "plugin pages", start: func(context.Context) error {
		pages.SetSource(pluginPages{pluginMgr})
		return nil
	}, stop: func() error { pages.SetSource(nil); return nil }})

	system := func() web.SystemInfo {
		bi := buildinfo.Get()
		ar := at.Report()
		return web.SystemInfo{
			Version: bi.Version, Commit: bi.Commit, Date: bi.Date,
			Integrity: web.Status{Status: string(rep.Status), Message: rep.Message},
			AtRest:    web.Status{Status: string(ar.Status), Message: ar.Message},
			Features:  map[string]bool{"messaging": true, "propagation": true, "plugins": true, "nomadnet": true},
		}
	}
	srv, err := web.New(web.Options{
		Listen:         cfg.Listen,
		TrustedProxies: cfg.TrustedProxies,
		Logger:         log.With("component", "web"),
	}, web.Deps{Store: st, UI: ui.FS(), System: system, Auth: authSvc, Messaging: msg, Storage: msg, Network: network,
		Events: msg.Events(), Logs: logRing(log), Backups: backupsAPI{snaps}, Plugins: pluginsAPI{pluginMgr, pages}, Pages: pages,
		Identities: identitiesDep(prof, st)})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	a.lc.add(component{name: "web", start: srv.Start, stop: srv.Close})
	a.web = srv
	return a, nil
}

// buildNode creates the Reticulum node from the --interface URIs (already validated); the stored
// interface records are started later by the interfaces component.
func buildNode(cfg config.Config, log *slog.Logger) (*rns.Node, error) {
	node, err := rns.New(rns.Options{
		Interfaces: cfg.Interfaces,
		DataDir:    cfg.DataDir,
		Transport:  cfg.Transport,
		Logger:     log.With("component", "mesh"),
	})
	if err != nil {
		return nil, fmt.Errorf("mesh node: %w", err)
	}
	return node, nil
}

// syncInterval maps the flag (0 = off) to app.PropagationOptions.SyncInterval (negative = off).
func syncInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// logRing is the ring of recent records behind log, when newLogger built it (nil otherwise: tests).
func logRing(log *slog.Logger) web.LogSource {
	if h, ok := log.Handler().(*logring.Handler); ok {
		return h.Ring()
	}
	return nil
}

// newLogger builds the process logger; pkg/ code gets it injected, never via slog.Default.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	// The UI's debug screen reads the most recent records from this ring (GET /api/v1/debug/logs).
	return slog.New(logring.NewHandler(logring.New(0), h))
}
