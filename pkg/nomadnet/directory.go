package nomadnet

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Directory defaults.
const (
	DefaultMaxNodes  = 4096
	maxDirectoryFile = 4 << 20
	saveEvery        = 5 * time.Minute
)

// NodeInfo is a NomadNet node heard announcing.
type NodeInfo struct {
	Address   wire.Hash `json:"-"`
	Name      string    `json:"name"`
	Hops      int       `json:"hops"`
	LastHeard time.Time `json:"last_heard"`
}

// NodeCursor continues a listing after the node it names.
type NodeCursor struct {
	LastHeard time.Time
	Address   wire.Hash
}

// String encodes the cursor as "<unix nanos>.<address hex>".
func (c NodeCursor) String() string {
	return strconv.FormatInt(c.LastHeard.UnixNano(), 10) + "." + c.Address.String()
}

// ParseNodeCursor decodes NodeCursor.String.
func ParseNodeCursor(s string) (NodeCursor, error) {
	ts, addr, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil {
		return NodeCursor{}, errors.New("invalid cursor")
	}
	h, err := ParseAddress(addr)
	if err != nil {
		return NodeCursor{}, errors.New("invalid cursor")
	}
	return NodeCursor{LastHeard: time.Unix(0, n).UTC(), Address: h}, nil
}

// ParseAddress decodes a 32-hex-digit destination hash.
func ParseAddress(s string) (wire.Hash, error) {
	var h wire.Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("address %q: want %d hex digits", s, 2*len(h))
	}
	copy(h[:], b)
	return h, nil
}

// DirectoryOptions configure a Directory.
type DirectoryOptions struct {
	// Transport delivers the announces. Required.
	Transport *transport.Transport
	// Path is the JSON file the directory persists in (0600); "" keeps it
	// in memory only.
	Path string
	// MaxNodes caps the nodes kept; the least recently heard go first.
	MaxNodes int
	// Now defaults to time.Now.
	Now func() time.Time
	// OnNode, when set, runs (outside the directory's lock, on the
	// receiving goroutine) for each announce stored.
	OnNode func(NodeInfo)
}

// Directory remembers the "nomadnetwork.node" destinations heard
// announcing, with the name each announced.
type Directory struct {
	opts   DirectoryOptions
	mu     sync.Mutex
	nodes  map[wire.Hash]NodeInfo
	dirty  bool
	unsub  func()
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewDirectory loads the directory file if there is one.
func NewDirectory(opts DirectoryOptions) (*Directory, error) {
	if opts.Transport == nil {
		return nil, errors.New("new nomadnet directory: transport required")
	}
	if opts.MaxNodes <= 0 {
		opts.MaxNodes = DefaultMaxNodes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Directory{opts: opts, nodes: map[wire.Hash]NodeInfo{}}
	if err := d.load(); err != nil {
		return nil, fmt.Errorf("new nomadnet directory: %w", err)
	}
	return d, nil
}

func (d *Directory) load() error {
	if d.opts.Path == "" {
		return nil
	}
	f, err := os.Open(d.opts.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxDirectoryFile+1))
	if err != nil {
		return err
	}
	if len(b) > maxDirectoryFile {
		return fmt.Errorf("%s is over %d bytes", d.opts.Path, maxDirectoryFile)
	}
	var m map[string]NodeInfo
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %w", d.opts.Path, err)
	}
	for k, n := range m {
		h, err := ParseAddress(k)
		if err != nil {
			continue
		}
		n.Address, n.Name = h, NodeName([]byte(n.Name))
		d.nodes[h] = n
	}
	d.evictLocked()
	return nil
}

// Save writes the directory file (atomically) when something changed.
func (d *Directory) Save() error {
	if d.opts.Path == "" {
		return nil
	}
	d.mu.Lock()
	if !d.dirty {
		d.mu.Unlock()
		return nil
	}
	m := make(map[string]NodeInfo, len(d.nodes))
	for h, n := range d.nodes {
		m[h.String()] = n
	}
	d.dirty = false
	d.mu.Unlock()
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(d.opts.Path), ".nomadnet-nodes-*")
	if err != nil {
		return fmt.Errorf("save nomadnet nodes: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("save nomadnet nodes: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save nomadnet nodes: %w", err)
	}
	if err := os.Rename(tmp.Name(), d.opts.Path); err != nil {
		return fmt.Errorf("save nomadnet nodes: %w", err)
	}
	return nil
}

// Start listens for node announces (path responses included) and saves
// the file every five minutes when it changed.
func (d *Directory) Start(ctx context.Context) error {
	d.unsub = d.opts.Transport.HandleAnnounces(AppName+"."+Aspect, true, d.heard)
	d.cancel = every(ctx, &d.wg, saveEvery, func() { _ = d.Save() })
	return nil
}

// Close stops listening and saves.
func (d *Directory) Close() error {
	if d.unsub != nil {
		d.unsub()
	}
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	return d.Save()
}

func (d *Directory) heard(a transport.Announce) {
	n := NodeInfo{Address: a.Destination, Name: NodeName(a.AppData), Hops: int(a.Hops), LastHeard: d.opts.Now().UTC()}
	d.Add(n)
	if cb := d.opts.OnNode; cb != nil {
		cb(n)
	}
}

// Add stores (or refreshes) a node.
func (d *Directory) Add(n NodeInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nodes[n.Address] = n
	d.dirty = true
	d.evictLocked()
}

func (d *Directory) evictLocked() {
	for len(d.nodes) > d.opts.MaxNodes {
		var oldest wire.Hash
		first := true
		for h, n := range d.nodes {
			if first || n.LastHeard.Before(d.nodes[oldest].LastHeard) {
				oldest, first = h, false
			}
		}
		delete(d.nodes, oldest)
	}
}

// Get returns a known node.
func (d *Directory) Get(h wire.Hash) (NodeInfo, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, ok := d.nodes[h]
	return n, ok
}

// List returns up to limit nodes, most recently heard first, whose name or
// address contains q (case-insensitive), after the cursor when one is
// given, and the cursor of the next page (nil at the end).
func (d *Directory) List(q string, limit int, after *NodeCursor) ([]NodeInfo, *NodeCursor) {
	q = strings.ToLower(strings.TrimSpace(q))
	d.mu.Lock()
	all := make([]NodeInfo, 0, len(d.nodes))
	for _, n := range d.nodes {
		if q == "" || strings.Contains(strings.ToLower(n.Name), q) || strings.Contains(n.Address.String(), q) {
			all = append(all, n)
		}
	}
	d.mu.Unlock()
	less := func(a, b NodeInfo) bool {
		if !a.LastHeard.Equal(b.LastHeard) {
			return a.LastHeard.After(b.LastHeard)
		}
		return a.Address.String() < b.Address.String()
	}
	sort.Slice(all, func(i, j int) bool { return less(all[i], all[j]) })
	if after != nil {
		c := NodeInfo{LastHeard: after.LastHeard, Address: after.Address}
		i := sort.Search(len(all), func(i int) bool { return less(c, all[i]) })
		all = all[i:]
	}
	if limit <= 0 || len(all) <= limit {
		return all, nil
	}
	last := all[limit-1]
	return all[:limit], &NodeCursor{LastHeard: last.LastHeard, Address: last.Address}
}
