package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reticle-mesh/reticle/pkg/nomadnet"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// EventNomadNetProgress reports a page or file arriving as a resource: Node, Path, BytesDone and
// BytesTotal are set.
const EventNomadNetProgress = "nomadnet.progress"

// NomadNet page errors, for pkg/web to map to statuses.
var (
	ErrPageBadRequest  = nomadnet.ErrBadPath // a bad path; ErrPageBadField for form data
	ErrPageBadField    = nomadnet.ErrBadField
	ErrPageNotFound    = nomadnet.ErrNotFound
	ErrPageNotAllowed  = nomadnet.ErrNotAllowed
	ErrPageTimeout     = nomadnet.ErrTimeout
	ErrPageNoPath      = nomadnet.ErrNoPath
	ErrPageLinkFailed  = nomadnet.ErrLinkFailed
	ErrPageTooLarge    = nomadnet.ErrTooLarge
	ErrPageBadResponse = nomadnet.ErrBadResponse
	ErrPagesClosed     = nomadnet.ErrClosed
)

// NomadNetNodesFile is the directory of heard NomadNet nodes in the data dir.
const NomadNetNodesFile = "nomadnet_nodes.json"

// PagesOptions configure the NomadNet pages use case.
type PagesOptions struct {
	// MaxFileSize caps a downloaded file (default nomadnet.DefaultMaxFileSize).
	MaxFileSize int64
	// CacheBytes caps the page cache (default nomadnet.DefaultCacheBytes).
	CacheBytes int
	// PathTimeout bounds waiting for a path (default nomadnet.DefaultPathTimeout).
	PathTimeout time.Duration
	// Logger defaults to the app's.
	Logger *slog.Logger
}

// PageRequest asks for a page of a NomadNet node.
type PageRequest struct {
	Node    string            // destination hash, 32 hex digits
	Path    string            // "/page/..."
	Fields  map[string]string // request data: field_* and var_* keys, as the reference sends them
	Refresh bool              // skip the cache
}

// PageView is a fetched page: its Micron source as a string (invalid UTF-8 replaced).
type PageView struct {
	Node      string    `json:"node"`
	Path      string    `json:"path"`
	Content   string    `json:"content"`
	Size      int       `json:"size"`
	Cached    bool      `json:"cached"`
	FetchedAt time.Time `json:"fetched_at"`
}

// FileView is a downloaded file.
type FileView struct {
	Node string
	Path string
	Name string
	Data []byte
}

// NomadNode is a NomadNet node heard announcing.
type NomadNode struct {
	Address   string    `json:"address"`
	Name      string    `json:"name"`
	Hops      int       `json:"hops"`
	LastHeard time.Time `json:"last_heard"`
}

// NomadNodePage is a page of nodes, most recently heard first; NextCursor is nil on the last page.
type NomadNodePage struct {
	Items      []NomadNode `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

// NodeQuery selects a page of nodes.
type NodeQuery struct {
	Search string
	Cursor string
	Limit  int
}

// Pages is the NomadNet use case: browsing other nodes' pages and files, listing the nodes heard, and
// serving Reticle's own node (on the LXMF identity, announced with the LXMF announce).
type Pages struct {
	a      *App
	log    *slog.Logger
	client *nomadnet.Client
	server *nomadnet.Server
	dir    *nomadnet.Directory
	source sourceSlot

	progMu sync.Mutex
	prog   map[string]int64 // last reported percentage by node+path
}

// sourceSlot lets the page source be set after the server is built (plugins start later).
type sourceSlot struct {
	p atomic.Pointer[nomadnet.PageSource]
}

func (s *sourceSlot) get() nomadnet.PageSource {
	if p := s.p.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *sourceSlot) Owns(path string) bool {
	src := s.get()
	return src != nil && src.Owns(path)
}

func (s *sourceSlot) Roots() []string {
	if src := s.get(); src != nil {
		return src.Roots()
	}
	return nil
}

func (s *sourceSlot) ServePage(ctx context.Context, req nomadnet.PageRequest) ([]byte, error) {
	if src := s.get(); src != nil {
		return src.ServePage(ctx, req)
	}
	return nil, nomadnet.ErrNotFound
}

// NewPages builds the client, the directory and Reticle's node destination on the app's identity. The
// app must have been built with Links.
func NewPages(opts PagesOptions, a *App) (*Pages, error) {
	if a == nil || a.opts.Links == nil {
		return nil, errors.New("new pages: an app with links is required")
	}
	if opts.Logger == nil {
		opts.Logger = a.log.With("component", "nomadnet")
	}
	p := &Pages{a: a, log: opts.Logger, prog: map[string]int64{}}
	var err error
	p.client, err = nomadnet.NewClient(nomadnet.ClientOptions{
		Transport: a.tr, Links: a.opts.Links, Logger: opts.Logger, MaxFileSize: opts.MaxFileSize,
		CacheBytes: opts.CacheBytes, PathTimeout: opts.PathTimeout, Progress: p.progress,
	})
	if err != nil {
		return nil, fmt.Errorf("new pages: %w", err)
	}
	dirPath := ""
	if a.opts.DataDir != "" {
		dirPath = filepath.Join(a.opts.DataDir, NomadNetNodesFile)
	}
	if p.dir, err = nomadnet.NewDirectory(nomadnet.DirectoryOptions{Transport: a.tr, Path: dirPath}); err != nil {
		return nil, fmt.Errorf("new pages: %w", err)
	}
	p.server, err = nomadnet.NewServer(nomadnet.ServerOptions{
		Transport: a.tr, Links: a.opts.Links, Identity: a.id, Name: a.r.DisplayName,
		LXMFAddress: a.r.Hash(), Source: &p.source, Logger: opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("new pages: %w", err)
	}
	return p, nil
}

// SetSource sets what serves pages besides the built-in index (the plugins); nil removes it.
func (p *Pages) SetSource(src nomadnet.PageSource) {
	if src == nil {
		p.source.p.Store(nil)
	} else {
		p.source.p.Store(&src)
	}
	p.server.Refresh()
}

// Start listens for node announces, starts the idle-link janitor and the node's page registrations,
// and announces the node with every LXMF announce from now on (and once now when the app announces
// at start).
func (p *Pages) Start(ctx context.Context) error {
	if err := p.dir.Start(ctx); err != nil {
		return fmt.Errorf("start pages: %w", err)
	}
	if err := p.client.Start(ctx); err != nil {
		return fmt.Errorf("start pages: %w", err)
	}
	if err := p.server.Start(ctx); err != nil {
		return fmt.Errorf("start pages: %w", err)
	}
	p.a.alsoAnnounce(p.announce)
	if p.a.opts.AnnounceAtStart {
		p.announce("start")
	}
	return nil
}

// Close closes the links, stops serving and saves the node directory.
func (p *Pages) Close() error {
	p.a.alsoAnnounce(nil)
	return errors.Join(p.server.Close(), p.client.Close(), p.dir.Close())
}

func (p *Pages) announce(reason string) {
	if err := p.server.Announce(); err != nil {
		p.log.Info("nomadnet node announce not sent", "reason", reason, "error", err)
	}
}

// NodeAddress returns Reticle's own NomadNet node address.
func (p *Pages) NodeAddress() string { return p.server.Hash().String() }

func (p *Pages) progress(node wire.Hash, path string, done, total int64) {
	if total <= 0 {
		return
	}
	key := node.String() + path
	pct := done * 100 / total
	p.progMu.Lock()
	last, seen := p.prog[key]
	switch {
	case done >= total:
		delete(p.prog, key)
	case seen && pct == last:
		p.progMu.Unlock()
		return
	default:
		p.prog[key] = pct
	}
	p.progMu.Unlock()
	p.a.events.Publish(Event{Kind: EventNomadNetProgress, Node: node.String(), Path: path, BytesDone: done, BytesTotal: total})
}

// FetchPage fetches a page from a node (or the cache).
func (p *Pages) FetchPage(ctx context.Context, req PageRequest) (PageView, error) {
	node, err := nomadnet.ParseAddress(strings.ToLower(req.Node))
	if err != nil {
		return PageView{}, fmt.Errorf("%w: %w", ErrPageBadRequest, err)
	}
	pg, err := p.client.FetchPage(ctx, node, req.Path, req.Fields, req.Refresh)
	if err != nil {
		return PageView{}, err
	}
	return PageView{Node: node.String(), Path: pg.Path, Content: strings.ToValidUTF8(string(pg.Content), "\uFFFD"),
		Size: len(pg.Content), Cached: pg.Cached, FetchedAt: pg.FetchedAt}, nil
}

// FetchFile downloads a file from a node.
func (p *Pages) FetchFile(ctx context.Context, nodeHex, path string) (FileView, error) {
	node, err := nomadnet.ParseAddress(strings.ToLower(nodeHex))
	if err != nil {
		return FileView{}, fmt.Errorf("%w: %w", ErrPageBadRequest, err)
	}
	f, err := p.client.FetchFile(ctx, node, path, nil)
	if err != nil {
		return FileView{}, err
	}
	return FileView{Node: node.String(), Path: f.Path, Name: f.Name, Data: f.Data}, nil
}

// ListNodes returns a page of the NomadNet nodes heard, most recently heard first, matching Search
// (name or address) when set.
func (p *Pages) ListNodes(_ context.Context, q NodeQuery) (NomadNodePage, error) {
	if len(q.Search) > maxSearch {
		return NomadNodePage{}, fmt.Errorf("%w: search is limited to %d bytes", ErrInvalidCursor, maxSearch)
	}
	var after *nomadnet.NodeCursor
	if q.Cursor != "" {
		c, err := nomadnet.ParseNodeCursor(q.Cursor)
		if err != nil {
			return NomadNodePage{}, fmt.Errorf("%w: use a next_cursor from a previous page", ErrInvalidCursor)
		}
		after = &c
	}
	items, next := p.dir.List(q.Search, ClampLimit(q.Limit), after)
	out := NomadNodePage{Items: make([]NomadNode, len(items))}
	for i, n := range items {
		out.Items[i] = NomadNode{Address: n.Address.String(), Name: n.Name, Hops: n.Hops, LastHeard: n.LastHeard}
	}
	if next != nil {
		s := next.String()
		out.NextCursor = &s
	}
	return out, nil
}
