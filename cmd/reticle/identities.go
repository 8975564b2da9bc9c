package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/backup"
	"github.com/reticle-mesh/reticle/pkg/integrity"
	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/store"
	"github.com/reticle-mesh/reticle/pkg/web"
)

// Several identities: the data dir's own identity is the home one; each further identity lives in a
// complete data dir of its own, profiles/<LXMF address>/, with its own database (conversations,
// contacts, settings), attachments, snapshots and transport identity. The active one is named in
// active-identity; switching writes it and restarts the node on that dir in the same process. The owner
// (password, sessions, the secret behind CSRF tokens) follows the switch, so the browser stays logged in.
const (
	profilesDir      = "profiles"
	activeFile       = "active-identity"
	profileNameFile  = "name"
	switchFlushDelay = 300 * time.Millisecond // lets the switch request's answer reach the browser
)

// activeDataDir is the data dir of the active identity below home (home itself unless active-identity
// names a kept profile).
func activeDataDir(home string) string {
	b, err := os.ReadFile(filepath.Join(home, activeFile)) //nolint:gosec // our data dir
	if err != nil {
		return home
	}
	addr := strings.TrimSpace(string(b))
	if !validAddress(addr) {
		return home
	}
	dir := filepath.Join(home, profilesDir, addr)
	// addr is 32 lowercase hex digits (validAddress), so dir stays inside home/profiles.
	if _, err := os.Stat(filepath.Join(dir, app.LXMFIdentityFile)); err != nil { //nolint:gosec // G703: see above
		return home
	}
	return dir
}

func validAddress(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 16 && strings.ToLower(s) == s
}

// lxmfAddress is the LXMF delivery address of id.
func lxmfAddress(id *identity.Identity) (string, error) {
	h, err := identity.DestinationHash(id, lxmf.AppName, "delivery")
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// profiles implements web.Identities for one running node.
type profiles struct {
	home     string
	dir      string // the active identity's data dir
	postgres bool
	log      *slog.Logger
	restart  chan<- string // the data dir to restart on

	mu        sync.Mutex
	st        *store.Store // the running node's store, whose owner records follow a switch
	switching bool         // a switch is under way: this node is about to stop
}

var _ web.Identities = (*profiles)(nil)

func (p *profiles) entry(dir string) (web.IdentityEntry, error) {
	id, err := identity.Load(filepath.Join(dir, app.LXMFIdentityFile))
	if err != nil {
		return web.IdentityEntry{}, err
	}
	addr, err := lxmfAddress(id)
	if err != nil {
		return web.IdentityEntry{}, err
	}
	e := web.IdentityEntry{Address: addr, Active: dir == p.dir, Home: dir == p.home}
	if b, err := os.ReadFile(filepath.Join(dir, profileNameFile)); err == nil { //nolint:gosec // our data dir
		e.Name = strings.TrimSpace(string(b))
	}
	if fi, err := os.Stat(filepath.Join(dir, app.LXMFIdentityFile)); err == nil {
		e.Created = fi.ModTime().UTC()
	}
	return e, nil
}

// List returns the home identity first, then the kept ones by creation.
func (p *profiles) List(context.Context) ([]web.IdentityEntry, error) {
	var out []web.IdentityEntry
	if e, err := p.entry(p.home); err == nil {
		out = append(out, e)
	}
	ents, err := os.ReadDir(filepath.Join(p.home, profilesDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var kept []web.IdentityEntry
	for _, d := range ents {
		if !d.IsDir() || !validAddress(d.Name()) {
			continue
		}
		e, err := p.entry(filepath.Join(p.home, profilesDir, d.Name()))
		if err != nil || e.Address != d.Name() {
			continue // not a profile we made
		}
		kept = append(kept, e)
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].Created.Before(kept[j].Created) })
	return append(out, kept...), nil
}

func (p *profiles) Create(ctx context.Context, name string) (web.IdentityEntry, error) {
	id, err := identity.Generate()
	if err != nil {
		return web.IdentityEntry{}, err
	}
	return p.add(ctx, name, id)
}

func (p *profiles) Import(ctx context.Context, name string, key []byte) (web.IdentityEntry, error) {
	if len(key) != 64 {
		return web.IdentityEntry{}, web.ErrInvalidIdentityKey
	}
	id, err := identity.FromPrivateKey(key)
	if err != nil {
		return web.IdentityEntry{}, fmt.Errorf("%w: %v", web.ErrInvalidIdentityKey, err) //nolint:errorlint // one reason
	}
	return p.add(ctx, name, id)
}

func (p *profiles) add(ctx context.Context, name string, id *identity.Identity) (web.IdentityEntry, error) {
	if p.postgres {
		return web.IdentityEntry{}, web.ErrIdentitiesForbidden
	}
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || strings.ContainsAny(name, "\n\r") {
		return web.IdentityEntry{}, errors.New("the name must be one line of text")
	}
	addr, err := lxmfAddress(id)
	if err != nil {
		return web.IdentityEntry{}, err
	}
	list, err := p.List(ctx)
	if err != nil {
		return web.IdentityEntry{}, err
	}
	for _, e := range list {
		if e.Address == addr {
			return web.IdentityEntry{}, fmt.Errorf("%w (%s)", web.ErrIdentityExists, addr)
		}
	}
	dir := filepath.Join(p.home, profilesDir, addr)
	tmp := dir + ".new"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Join(tmp, filepath.Dir(app.LXMFIdentityFile)), 0o700); err != nil {
		return web.IdentityEntry{}, err
	}
	if err := id.Save(filepath.Join(tmp, app.LXMFIdentityFile)); err != nil {
		_ = os.RemoveAll(tmp)
		return web.IdentityEntry{}, err
	}
	if name != "" {
		if err := os.WriteFile(filepath.Join(tmp, profileNameFile), []byte(name+"\n"), 0o600); err != nil {
			_ = os.RemoveAll(tmp)
			return web.IdentityEntry{}, err
		}
	}
	// Whole or not at all: a crash leaves only profiles/<addr>.new, which List ignores.
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.RemoveAll(tmp)
		return web.IdentityEntry{}, err
	}
	p.log.Info("identity kept", "address", addr, "dir", dir)
	return p.entry(dir)
}

// Switch copies the owner records to the identity's store, names it active and restarts on it.
func (p *profiles) Switch(ctx context.Context, address string) error {
	if p.postgres {
		return web.ErrIdentitiesForbidden
	}
	list, err := p.List(ctx)
	if err != nil {
		return err
	}
	var target *web.IdentityEntry
	for i := range list {
		if list[i].Address == address {
			target = &list[i]
		}
	}
	switch {
	case target == nil:
		return fmt.Errorf("%w: %s", web.ErrIdentityNotFound, address)
	case target.Active:
		return web.ErrIdentityActive
	}
	p.mu.Lock()
	busy := p.switching
	p.switching = true
	p.mu.Unlock()
	if busy {
		return errors.New("a switch is already under way")
	}
	ok := false
	defer func() {
		if !ok {
			p.mu.Lock()
			p.switching = false
			p.mu.Unlock()
		}
	}()
	dir := p.home
	if !target.Home {
		dir = filepath.Join(p.home, profilesDir, address)
	}
	if err := p.carryOwner(ctx, dir); err != nil {
		return fmt.Errorf("switch identity: %w", err)
	}
	active := filepath.Join(p.home, activeFile)
	if target.Home {
		err = os.Remove(active)
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	} else {
		err = writeFileAtomic(active, []byte(address+"\n"))
	}
	if err != nil {
		return fmt.Errorf("switch identity: %w", err)
	}
	ok = true
	go func() {
		time.Sleep(switchFlushDelay)
		select {
		case p.restart <- dir:
		default: // a restart is already pending (only one switch per running node)
		}
	}()
	return nil
}

// carryOwner puts the running store's owner password, sessions and server secret into the store of the
// data dir dir (created when new), and vouches for the result in dir's at-rest record.
func (p *profiles) carryOwner(ctx context.Context, dir string) error {
	p.mu.Lock()
	src := p.st
	p.mu.Unlock()
	if src == nil {
		return errors.New("the node is not running")
	}
	owner, err := src.GetOwner(ctx)
	if err != nil {
		return err
	}
	sessions, err := src.ListSessions(ctx)
	if err != nil {
		return err
	}
	secret, err := src.GetSetting(ctx, "auth.server_secret")
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	lock, err := backup.Acquire(dir)
	if err != nil {
		return err
	}
	defer func() { _ = lock.Release() }()
	dst, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, backup.DatabaseFile), Logger: p.log})
	if err != nil {
		return err
	}
	err = func() error {
		if owner.PasswordHash != "" {
			if err := dst.SetOwnerPassword(ctx, owner.PasswordHash, time.Now().UTC()); err != nil {
				return err
			}
		}
		if secret != "" {
			if err := dst.SetSetting(ctx, "auth.server_secret", secret); err != nil {
				return err
			}
		}
		if _, err := dst.DeleteSessionsExcept(ctx, 0); err != nil {
			return err
		}
		for _, se := range sessions {
			se.ID = 0
			if err := dst.CreateSession(ctx, &se); err != nil {
				return err
			}
		}
		return integrity.SealRecord(ctx, dir, dst)
	}()
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	ackLog := p.log
	if _, err := os.Stat(filepath.Join(dir, "integrity.json")); errors.Is(err, os.ErrNotExist) {
		ackLog = slog.New(slog.DiscardHandler) // a new identity has no at-rest record yet; nothing to warn about
	}
	_, err = integrity.Acknowledge(dir, integrity.AtRestOptions{Logger: ackLog})
	return err
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// identitiesDep gives the web API the identities service bound to the running store (nil without one).
func identitiesDep(p *profiles, st *store.Store) web.Identities {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	p.st = st
	p.mu.Unlock()
	return p
}
