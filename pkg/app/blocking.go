package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// ErrBlocked means the sender is blocked: its message is dropped before storage and not proven.
var ErrBlocked = errors.New("sender is blocked")

// ErrStranger means the sender is not a contact and the owner refuses strangers: the message is dropped
// before storage and not proven.
var ErrStranger = errors.New("sender is not a contact and strangers are refused")

// ErrUnknownIdentity means an address whose identity is not known yet (it never announced), so it
// cannot be blocked by identity.
var ErrUnknownIdentity = errors.New("the identity behind this address is not known yet (no announce heard)")

// ErrBlocklistFull means the blocks table is at its cap (store.MaxBlocks).
var ErrBlocklistFull = errors.New("the blocklist is full")

// BlockInfo is a blocked identity as the API shows it.
type BlockInfo struct {
	IdentityHash string    `json:"identity_hash"`
	Address      string    `json:"address"`
	CreatedAt    time.Time `json:"created_at"`
}

// blocklist is the in-memory copy of the blocks table: identity hashes, and every LXMF address seen
// for them (addresses grow as the identity's destinations announce).
type blocklist struct {
	mu        sync.RWMutex
	ids       map[string]bool
	addresses map[string]bool
}

func (b *blocklist) blockedAddress(addr string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.addresses[addr]
}

// blockedIdentity reports whether id is blocked, and remembers addr as one of its destinations.
func (b *blocklist) blockedIdentity(id *identity.Identity, addr string) bool {
	if id == nil {
		return false
	}
	h := id.Hash().String()
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.ids[h] {
		return false
	}
	if addr != "" {
		b.addresses[addr] = true
	}
	return true
}

func (b *blocklist) load(ctx context.Context, st *store.Store) error {
	rows, err := st.ListBlocks(ctx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ids, b.addresses = make(map[string]bool, len(rows)), make(map[string]bool, len(rows))
	for _, r := range rows {
		b.ids[r.IdentityHash] = true
		if r.Address != "" {
			b.addresses[r.Address] = true
		}
	}
	return nil
}

// Block blocks the identity behind an LXMF address: all its destinations' messages are dropped before
// storage (and not proven) and their announces ignored. With deleteConversation the conversation with
// address is deleted too.
func (a *App) Block(ctx context.Context, address string, deleteConversation bool) (BlockInfo, error) {
	h, err := ParseAddress(address)
	if err != nil {
		return BlockInfo{}, err
	}
	p, err := a.st.GetPeer(ctx, h.String())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return BlockInfo{}, ErrUnknownIdentity
		}
		return BlockInfo{}, fmt.Errorf("block: %w", err)
	}
	id, err := identity.FromPublicKey(p.PublicKey)
	if err != nil {
		return BlockInfo{}, fmt.Errorf("block: peer key: %w", err)
	}
	row := store.Block{IdentityHash: id.Hash().String(), Address: h.String(), CreatedAt: a.opts.Clock.Now().UTC()}
	if err := a.st.AddBlock(ctx, row); err != nil {
		if errors.Is(err, store.ErrTooMany) {
			return BlockInfo{}, ErrBlocklistFull
		}
		return BlockInfo{}, err
	}
	if err := a.blocked.load(ctx, a.st); err != nil {
		return BlockInfo{}, fmt.Errorf("block: %w", err)
	}
	a.blocked.blockedIdentity(id, h.String())
	if deleteConversation {
		if err := a.DeleteConversation(ctx, h.String()); err != nil && !errors.Is(err, ErrNotFound) {
			return BlockInfo{}, err
		}
	}
	return BlockInfo{IdentityHash: row.IdentityHash, Address: row.Address, CreatedAt: row.CreatedAt}, nil
}

// Unblock removes the block of an identity (by its identity hash or one of its addresses).
func (a *App) Unblock(ctx context.Context, identityHash string) error {
	h, err := ParseAddress(identityHash)
	if err != nil {
		return err
	}
	key := h.String()
	if p, err := a.st.GetPeer(ctx, key); err == nil {
		if id, err := identity.FromPublicKey(p.PublicKey); err == nil {
			if err := a.st.RemoveBlock(ctx, id.Hash().String()); err == nil {
				return a.blocked.load(ctx, a.st)
			}
		}
	}
	if err := a.st.RemoveBlock(ctx, key); err != nil {
		return notFound(err)
	}
	return a.blocked.load(ctx, a.st)
}

// IsBlocked reports whether the identity behind an LXMF address (or an identity hash) is blocked,
// whichever of its destinations the block was made on.
func (a *App) IsBlocked(ctx context.Context, address string) (bool, error) {
	h, err := ParseAddress(address)
	if err != nil {
		return false, err
	}
	key := h.String()
	if a.blocked.blockedAddress(key) {
		return true, nil
	}
	a.blocked.mu.RLock()
	byID := a.blocked.ids[key]
	a.blocked.mu.RUnlock()
	if byID {
		return true, nil
	}
	p, err := a.st.GetPeer(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	id, err := identity.FromPublicKey(p.PublicKey)
	if err != nil {
		return false, nil //nolint:nilerr // a peer row with an unusable key cannot be blocked by identity
	}
	return a.blocked.blockedIdentity(id, key), nil
}

// ListBlocks returns the blocked identities, newest first.
func (a *App) ListBlocks(ctx context.Context) ([]BlockInfo, error) {
	rows, err := a.st.ListBlocks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]BlockInfo, len(rows))
	for i, r := range rows {
		out[i] = BlockInfo{IdentityHash: r.IdentityHash, Address: r.Address, CreatedAt: r.CreatedAt}
	}
	return out, nil
}
