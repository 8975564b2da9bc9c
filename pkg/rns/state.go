package rns

import (
	"context"
	"path/filepath"
	"time"
)

// defaultPersistInterval is Reticulum.PERSIST_INTERVAL.
const defaultPersistInterval = 12 * time.Hour

// Files below the data dir that keep transport state across restarts
// (0600, written atomically; see transport.SaveKnown and SavePaths).
const (
	// KnownDestinationsFile holds remembered destination identities, app
	// data and announced ratchets.
	KnownDestinationsFile = "rns/known_destinations"
	// PathTableFile holds the path table.
	PathTableFile = "rns/path_table"
)

// loadState restores known destinations and the path table. A damaged
// file is logged and ignored; it never stops the node.
func (n *Node) loadState() {
	kp := filepath.Join(n.opts.DataDir, KnownDestinationsFile)
	if c, err := n.tr.LoadKnown(kp); err != nil {
		n.log.Error("ignoring unreadable known destinations file", "path", kp, "error", err)
	} else if c > 0 {
		n.log.Info("restored known destinations", "count", c)
	}
	pp := filepath.Join(n.opts.DataDir, PathTableFile)
	if c, err := n.tr.LoadPaths(pp); err != nil {
		n.log.Error("ignoring unreadable path table file", "path", pp, "error", err)
	} else if c > 0 {
		n.log.Info("restored path table entries", "count", c)
	}
}

// saveState writes known destinations and the path table; failures are
// logged and returned.
func (n *Node) saveState() error {
	kp := filepath.Join(n.opts.DataDir, KnownDestinationsFile)
	err := n.tr.SaveKnown(kp)
	if err != nil {
		n.log.Error("saving known destinations failed", "path", kp, "error", err)
	}
	pp := filepath.Join(n.opts.DataDir, PathTableFile)
	if perr := n.tr.SavePaths(pp); perr != nil {
		n.log.Error("saving path table failed", "path", pp, "error", perr)
		if err == nil {
			err = perr
		}
	}
	return err
}

// startPersist saves state every PersistInterval until Close. Called with
// n.mu held from Start.
func (n *Node) startPersist(ctx context.Context) {
	every := n.opts.PersistInterval
	if every <= 0 {
		every = defaultPersistInterval
	}
	ctx, n.stopPersist = context.WithCancel(ctx)
	n.persistWG.Add(1)
	go func() {
		defer n.persistWG.Done()
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				_ = n.saveState() // logged inside
			}
		}
	}()
}
