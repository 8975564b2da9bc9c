package nomadnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Client defaults.
const (
	DefaultPathTimeout = 20 * time.Second
	DefaultIdleTimeout = 2 * time.Minute
	DefaultMaxPageSize = 1 << 20
	DefaultMaxFileSize = 16 << 20
	DefaultCacheBytes  = 8 << 20
	pathPoll           = 250 * time.Millisecond // Browser polls has_path every 0.25 s
	pathResend         = 5 * time.Second
	janitorEvery       = 15 * time.Second
	responseOverhead   = 64 // msgpack framing of a response around its content
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Transport finds paths and remembers identities. Required.
	Transport *transport.Transport
	// Links opens the links. Required; the caller starts and closes it.
	Links *link.Manager
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// PathTimeout bounds waiting for a path after a path request.
	PathTimeout time.Duration
	// RequestTimeout bounds a request on an established link (0: the link
	// layer's RTT-based default, as Link.request computes it).
	RequestTimeout time.Duration
	// IdleTimeout closes a node's link after this long unused.
	IdleTimeout time.Duration
	// MaxPageSize caps a page (default 1 MiB); MaxFileSize caps a file
	// (default 16 MiB; the link manager's resource cap applies too).
	MaxPageSize int64
	MaxFileSize int64
	// CacheBytes caps the page cache (default 8 MiB; negative disables it).
	CacheBytes int
	// Identity, when set, identifies the client on each link it opens, so
	// nodes that restrict pages to listed identities can tell who asks.
	Identity *identity.Identity
	// Progress, when set, reports resource transfers of responses.
	Progress func(node wire.Hash, path string, done, total int64)
}

// Page is a fetched page: its Micron source.
type Page struct {
	Node      wire.Hash
	Path      string
	Content   []byte
	Cached    bool
	FetchedAt time.Time
}

// File is a downloaded file.
type File struct {
	Node wire.Hash
	Path string
	Name string
	Data []byte
}

type pooled struct {
	l        *link.Link
	used     time.Time
	inflight int
}

// Client fetches pages and files from NomadNet nodes, one link per node,
// reused while it is open and closed after IdleTimeout unused.
type Client struct {
	opts  ClientOptions
	log   *slog.Logger
	cache *pageCache

	mu      sync.Mutex
	links   map[wire.Hash]*pooled
	dialing map[wire.Hash]chan struct{}
	closed  bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewClient builds a client; Start runs its idle-link janitor.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.Transport == nil || opts.Links == nil {
		return nil, errors.New("new nomadnet client: transport and links are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PathTimeout <= 0 {
		opts.PathTimeout = DefaultPathTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = DefaultMaxPageSize
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	return &Client{
		opts: opts, log: opts.Logger, cache: newPageCache(max(opts.CacheBytes, 0)),
		links: map[wire.Hash]*pooled{}, dialing: map[wire.Hash]chan struct{}{},
	}, nil
}

// Start runs the janitor that closes idle links until Close or ctx ends.
func (c *Client) Start(ctx context.Context) error {
	c.cancel = every(ctx, &c.wg, janitorEvery, func() { c.CloseIdle() })
	return nil
}

// Close closes every link the client holds.
func (c *Client) Close() error {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	c.mu.Lock()
	c.closed = true
	ls := make([]*link.Link, 0, len(c.links))
	for k, p := range c.links {
		ls = append(ls, p.l)
		delete(c.links, k)
	}
	c.mu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
	return nil
}

// CloseIdle closes the links unused for IdleTimeout with no request under
// way; the janitor calls it.
func (c *Client) CloseIdle() {
	now := c.opts.Now()
	var idle []*link.Link
	c.mu.Lock()
	for k, p := range c.links {
		if p.inflight == 0 && now.Sub(p.used) >= c.opts.IdleTimeout {
			idle = append(idle, p.l)
			delete(c.links, k)
		}
	}
	c.mu.Unlock()
	for _, l := range idle {
		_ = l.Close()
	}
}

// OpenLinks returns the number of links held.
func (c *Client) OpenLinks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.links)
}

// FetchPage fetches a page (a /page/ path) with form data (field_* and
// var_* keys), from the cache unless refresh is set or the page is not
// cached. Pages are cached for their "#!c=" time (12 h without one).
func (c *Client) FetchPage(ctx context.Context, node wire.Hash, p string, fields map[string]string, refresh bool) (Page, error) {
	if err := ValidatePath(p); err != nil {
		return Page{}, err
	}
	if IsFilePath(p) {
		return Page{}, fmt.Errorf("path %q is a file: %w", p, ErrBadPath)
	}
	data, err := EncodeFields(fields)
	if err != nil {
		return Page{}, err
	}
	key := cacheKey(node, p, fields)
	if !refresh {
		if pg, ok := c.cache.get(key, c.opts.Now()); ok {
			pg.Cached = true
			return pg, nil
		}
	}
	rr, err := c.request(ctx, node, p, data, c.opts.MaxPageSize+responseOverhead)
	if err != nil {
		return Page{}, err
	}
	resp, _ := rr.Response()
	content, err := PageContent(resp)
	if err != nil {
		return Page{}, fmt.Errorf("page %s from %s: %w", p, node, err)
	}
	if int64(len(content)) > c.opts.MaxPageSize {
		return Page{}, fmt.Errorf("page of %d bytes: %w", len(content), ErrTooLarge)
	}
	pg := Page{Node: node, Path: p, Content: content, FetchedAt: c.opts.Now().UTC()}
	c.cache.put(key, pg, CacheTime(content))
	return pg, nil
}

// FetchFile downloads a file (a /file/ path).
func (c *Client) FetchFile(ctx context.Context, node wire.Hash, p string, fields map[string]string) (File, error) {
	if err := ValidatePath(p); err != nil {
		return File{}, err
	}
	if !IsFilePath(p) {
		return File{}, fmt.Errorf("path %q is not a file: %w", p, ErrBadPath)
	}
	data, err := EncodeFields(fields)
	if err != nil {
		return File{}, err
	}
	rr, err := c.request(ctx, node, p, data, c.opts.MaxFileSize+responseOverhead)
	if err != nil {
		return File{}, err
	}
	resp, _ := rr.Response()
	name, b, err := FileContent(resp, rr.File(), rr.Metadata(), p)
	if err != nil {
		return File{}, fmt.Errorf("file %s from %s: %w", p, node, err)
	}
	if int64(len(b)) > c.opts.MaxFileSize {
		return File{}, fmt.Errorf("file of %d bytes: %w", len(b), ErrTooLarge)
	}
	return File{Node: node, Path: p, Name: name, Data: b}, nil
}

// request sends one request on the node's link (opening it when needed)
// and waits for its response; a link that went down before the request
// could be sent is replaced once.
func (c *Client) request(ctx context.Context, node wire.Hash, p string, data msgpack.Value, maxSize int64) (*link.RequestReceipt, error) {
	ro := link.RequestOptions{Timeout: c.opts.RequestTimeout, MaxResponseSize: maxSize}
	var progMu sync.Mutex
	var progTotal int64 = -1
	if cb := c.opts.Progress; cb != nil {
		ro.Progress = func(f float64, total int64) {
			progMu.Lock()
			progTotal = total
			progMu.Unlock()
			cb(node, p, int64(f*float64(total)), total)
		}
		// A response that came as a resource ends with a full report, even
		// when the link's last progress call has not run yet.
		defer func() {
			progMu.Lock()
			total := progTotal
			progMu.Unlock()
			if total >= 0 {
				cb(node, p, total, total)
			}
		}()
	}
	for attempt := 0; ; attempt++ {
		pl, err := c.link(ctx, node)
		if err != nil {
			return nil, err
		}
		rr, err := pl.l.Request(p, data, ro)
		if err != nil {
			c.release(node, pl, true)
			if errors.Is(err, link.ErrNotActive) && attempt == 0 {
				continue
			}
			return nil, fmt.Errorf("request %s from %s: %w: %w", p, node, ErrLinkFailed, err)
		}
		_, err = rr.Wait(ctx)
		c.release(node, pl, false)
		if err == nil {
			return rr, nil
		}
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("request %s from %s: %w", p, node, ErrTimeout)
		case errors.Is(err, link.ErrTooLarge):
			return nil, fmt.Errorf("request %s from %s: %w: %w", p, node, ErrTooLarge, err)
		case errors.Is(err, link.ErrTimeout) && pl.l.Status() == link.StatusActive:
			// The link is up but the node said nothing: NomadNet nodes do
			// not answer paths they do not serve.
			return nil, fmt.Errorf("request %s from %s: %w", p, node, ErrNotFound)
		default:
			return nil, fmt.Errorf("request %s from %s: %w: %w", p, node, ErrLinkFailed, err)
		}
	}
}

// release ends a request's use of a pooled link; drop removes the link
// from the pool.
func (c *Client) release(node wire.Hash, pl *pooled, drop bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pl.inflight--
	pl.used = c.opts.Now()
	if drop && c.links[node] == pl {
		delete(c.links, node)
	}
}

// link returns the node's open link, waiting for another caller's dial or
// dialling itself. The returned link counts one request in flight.
func (c *Client) link(ctx context.Context, node wire.Hash) (*pooled, error) {
	for range 3 {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		if pl := c.links[node]; pl != nil {
			if st := pl.l.Status(); st == link.StatusActive {
				pl.inflight++
				pl.used = c.opts.Now()
				c.mu.Unlock()
				return pl, nil
			}
			delete(c.links, node)
		}
		if ch, ok := c.dialing[node]; ok {
			c.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("link to %s: %w", node, ErrTimeout)
			}
		}
		ch := make(chan struct{})
		c.dialing[node] = ch
		c.mu.Unlock()
		l, err := c.dial(ctx, node)
		c.mu.Lock()
		delete(c.dialing, node)
		close(ch)
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		if c.closed {
			c.mu.Unlock()
			_ = l.Close()
			return nil, ErrClosed
		}
		pl := &pooled{l: l, used: c.opts.Now(), inflight: 1}
		c.links[node] = pl
		c.mu.Unlock()
		return pl, nil
	}
	return nil, fmt.Errorf("link to %s: %w", node, ErrLinkFailed)
}

// dial finds a path (requesting one when none is known, as
// Browser.__load does) and establishes a link.
func (c *Client) dial(ctx context.Context, node wire.Hash) (*link.Link, error) {
	tr := c.opts.Transport
	if _, _, known := tr.Recall(node); !tr.HasPath(node) || !known {
		sent := c.requestPath(node)
		lastSent := time.Now()
		deadline := time.NewTimer(c.opts.PathTimeout)
		defer deadline.Stop()
		tick := time.NewTicker(pathPoll)
		defer tick.Stop()
		for {
			if _, _, known := tr.Recall(node); known && tr.HasPath(node) {
				break
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("path to %s: %w", node, ErrTimeout)
			case <-deadline.C:
				return nil, fmt.Errorf("%w %s after %s", ErrNoPath, node, c.opts.PathTimeout)
			case <-tick.C:
				// A request no interface could send (none up yet) is tried
				// again at once; one sent is repeated every pathResend.
				if !sent || time.Since(lastSent) >= pathResend {
					sent, lastSent = c.requestPath(node), time.Now()
				}
			}
		}
	}
	l, err := c.opts.Links.OpenWith(node, link.OpenOptions{Callbacks: link.Callbacks{Closed: c.closedLink}})
	if err != nil {
		return nil, fmt.Errorf("link to %s: %w: %w", node, ErrLinkFailed, err)
	}
	if err := l.Wait(ctx); err != nil {
		_ = l.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("link to %s: %w", node, ErrTimeout)
		}
		return nil, fmt.Errorf("link to %s: %w: %w", node, ErrLinkFailed, err)
	}
	if id := c.opts.Identity; id != nil {
		if err := l.Identify(id); err != nil {
			c.log.Debug("identify on link failed", "node", node.String(), "error", err)
		}
	}
	return l, nil
}

func (c *Client) requestPath(node wire.Hash) bool {
	if err := c.opts.Transport.RequestPath(node); err != nil {
		c.log.Debug("path request not sent", "node", node.String(), "error", err)
		return false
	}
	return true
}

// closedLink forgets a pooled link that closed.
func (c *Client) closedLink(l *link.Link) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pl := c.links[l.Destination()]; pl != nil && pl.l == l {
		delete(c.links, l.Destination())
	}
}

// Forget drops a page from the cache.
func (c *Client) Forget(node wire.Hash, p string, fields map[string]string) {
	c.cache.drop(cacheKey(node, p, fields))
}

// CacheBytes returns the bytes the page cache holds.
func (c *Client) CacheBytes() int { return c.cache.bytes() }
