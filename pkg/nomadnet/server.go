package nomadnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Server defaults.
const (
	DefaultServeTimeout = 30 * time.Second
	DefaultMaxPaths     = 1024
	defaultRefresh      = 5 * time.Second // cheap: the source lists in-memory prefixes
	maxConcurrentServes = 8
)

// PageRequest is an inbound page request as a PageSource sees it.
type PageRequest struct {
	// Path is the requested path, for example "/page/hello/index.mu".
	Path string
	// Fields are the field_* and var_* entries of the request data.
	Fields map[string]string
	// RemoteIdentity is the requester's identity hash in hex when it
	// identified on the link, otherwise "".
	RemoteIdentity string
	// LinkID is the link's id in hex.
	LinkID string
}

// PageSource produces pages for the server. Request paths travel as hashes,
// so a server can only answer paths it registered: it registers the
// source's Roots, refreshed every minute, and the local /page/ links found
// in the pages it served that the source Owns.
type PageSource interface {
	// Owns reports whether the source serves path.
	Owns(path string) bool
	// Roots lists paths to serve before any page linked to them.
	Roots() []string
	// ServePage produces a page's Micron source; ErrNotFound (or any
	// error) sends no answer, as the reference does for a missing page.
	ServePage(ctx context.Context, req PageRequest) ([]byte, error)
}

// ServerOptions configure a Server.
type ServerOptions struct {
	// Transport and Links carry the node destination. Required.
	Transport *transport.Transport
	Links     *link.Manager
	// Identity is the node's identity (Reticle's LXMF identity, as
	// NomadNet uses one identity for both). Required.
	Identity *identity.Identity
	// Name returns the node name announced as app data.
	Name func() string
	// LXMFAddress is named by the built-in index page.
	LXMFAddress wire.Hash
	// Source serves pages besides the built-in index; optional.
	Source PageSource
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// ServeTimeout bounds one page production (default 30 s).
	ServeTimeout time.Duration
	// MaxPageSize caps a served page (default 1 MiB); larger pages are not sent.
	MaxPageSize int
	// MaxPaths caps the registered paths (default 1024).
	MaxPaths int
}

// Server is Reticle's own "nomadnetwork.node" destination.
type Server struct {
	opts ServerOptions
	log  *slog.Logger
	dest *transport.Destination
	sem  chan struct{}

	mu         sync.Mutex
	registered map[string]bool
	closed     bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewServer registers the node destination and accepts links to it.
func NewServer(opts ServerOptions) (*Server, error) {
	if opts.Transport == nil || opts.Links == nil || opts.Identity == nil {
		return nil, errors.New("new nomadnet server: transport, links and identity are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Name == nil {
		opts.Name = func() string { return "Reticle node" }
	}
	if opts.ServeTimeout <= 0 {
		opts.ServeTimeout = DefaultServeTimeout
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = DefaultMaxPageSize
	}
	if opts.MaxPaths <= 0 {
		opts.MaxPaths = DefaultMaxPaths
	}
	s := &Server{opts: opts, log: opts.Logger, sem: make(chan struct{}, maxConcurrentServes),
		registered: map[string]bool{}}
	d, err := opts.Transport.Register(transport.DestinationConfig{
		Identity: opts.Identity, App: AppName, Aspects: []string{Aspect},
		AppData: func() []byte { return []byte(s.opts.Name()) },
	})
	if err != nil {
		return nil, fmt.Errorf("new nomadnet server: %w", err)
	}
	s.dest = d
	s.registered[IndexPath] = true
	err = opts.Links.Listen(d, link.ListenConfig{
		Handlers:       []link.Handler{{Path: IndexPath, Handle: s.handler(IndexPath)}},
		MaxRequestSize: MaxRequestData,
	})
	if err != nil {
		opts.Transport.Deregister(d)
		return nil, fmt.Errorf("new nomadnet server: %w", err)
	}
	return s, nil
}

// Hash returns the node destination hash.
func (s *Server) Hash() wire.Hash { return s.dest.Hash() }

// Announce announces the node with its name as app data (Node.announce).
func (s *Server) Announce() error {
	if err := s.opts.Transport.Announce(s.dest, []byte(s.opts.Name())); err != nil {
		return fmt.Errorf("announce nomadnet node: %w", err)
	}
	return nil
}

// Start registers the source's roots and refreshes them every minute.
func (s *Server) Start(ctx context.Context) error {
	s.Refresh()
	s.cancel = every(ctx, &s.wg, defaultRefresh, func() { s.Refresh() })
	return nil
}

// Close stops accepting links and removes the destination; pages being
// produced finish within ServeTimeout.
func (s *Server) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Lock()
	s.closed = true // links already open get no more answers
	s.mu.Unlock()
	s.opts.Links.Unlisten(s.dest)
	s.opts.Transport.Deregister(s.dest)
	s.wg.Wait()
	return nil
}

// Refresh registers the source's roots and drops paths it no longer owns.
func (s *Server) Refresh() {
	src := s.opts.Source
	if src == nil {
		return
	}
	for _, p := range src.Roots() {
		s.register(p)
	}
	s.mu.Lock()
	var gone []string
	for p := range s.registered {
		if p != IndexPath && !src.Owns(p) {
			gone = append(gone, p)
			delete(s.registered, p)
		}
	}
	s.mu.Unlock()
	for _, p := range gone {
		s.opts.Links.DeregisterHandler(s.dest.Hash(), p)
	}
}

// Paths returns the registered paths.
func (s *Server) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.registered))
	for p := range s.registered {
		out = append(out, p)
	}
	return out
}

func (s *Server) register(p string) {
	if ValidatePath(p) != nil || IsFilePath(p) || s.opts.Source == nil || !s.opts.Source.Owns(p) {
		return
	}
	s.mu.Lock()
	if s.registered[p] || len(s.registered) >= s.opts.MaxPaths {
		s.mu.Unlock()
		return
	}
	s.registered[p] = true
	s.mu.Unlock()
	if err := s.opts.Links.RegisterHandler(s.dest.Hash(), link.Handler{Path: p, Handle: s.handler(p)}); err != nil {
		s.log.Debug("page path not registered", "path", p, "error", err)
	}
}

// handler answers requests for p: the page is produced on its own
// goroutine (a plugin may take a while) and sent with Link.Respond.
func (s *Server) handler(p string) link.RequestHandler {
	return func(req *link.Request) (msgpack.Value, bool) {
		fields, err := DecodeFields(req.Data)
		if err != nil {
			s.log.Debug("page request with bad data", "path", p, "error", err)
			return msgpack.Nil(), false
		}
		pr := PageRequest{Path: p, Fields: fields, LinkID: req.Link.ID().String()}
		if req.Remote != nil {
			pr.RemoteIdentity = req.Remote.Hash().String()
		}
		select {
		case s.sem <- struct{}{}:
		default:
			s.log.Info("page request dropped: too many at once", "path", p)
			return msgpack.Nil(), false
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			<-s.sem
			return msgpack.Nil(), false
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			content, ok := s.produce(pr)
			if !ok {
				return
			}
			if err := req.Link.Respond(req.ID, msgpack.Bin(content)); err != nil {
				s.log.Debug("page response not sent", "path", p, "error", err)
			}
		}()
		return msgpack.Nil(), false
	}
}

// produce returns the page for a request, or false for no answer.
func (s *Server) produce(pr PageRequest) ([]byte, bool) {
	src := s.opts.Source
	if src != nil && src.Owns(pr.Path) {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.ServeTimeout)
		content, err := src.ServePage(ctx, pr)
		cancel()
		switch {
		case err == nil && len(content) > s.opts.MaxPageSize:
			s.log.Info("served page too large, not sent", "path", pr.Path, "size", len(content))
			return nil, false
		case err == nil:
			s.discover(content)
			return content, true
		case !errors.Is(err, ErrNotFound):
			s.log.Info("page source failed", "path", pr.Path, "error", err)
		}
	}
	if pr.Path == IndexPath {
		return s.defaultIndex(), true
	}
	return nil, false
}

// localLink matches the /page/ targets of Micron links on this node: a
// target right after a backtick (":/page/x") or after this node's hash.
var localLink = regexp.MustCompile("(?:`|[0-9a-f]{32}):(/page/[^`\\]\\s|]+)")

// discover registers the local page links of a served page that the
// source owns, so the pages a plugin links to can be requested.
func (s *Server) discover(content []byte) {
	own := s.dest.Hash().String()
	for _, m := range localLink.FindAllSubmatchIndex(content, 256) {
		if start := m[0]; content[start] != '`' && string(content[start:start+32]) != own {
			continue
		}
		s.register(string(content[m[2]:m[3]]))
	}
}

// defaultIndex is the built-in home page naming the node and its LXMF address.
func (s *Server) defaultIndex() []byte {
	name := strings.NewReplacer("`", "", "\\", "").Replace(s.opts.Name())
	var sb strings.Builder
	sb.WriteString("#!c=0\n>" + name + "\n\n")
	sb.WriteString("This NomadNet node is served by Reticle.\n\n")
	if s.opts.LXMFAddress != (wire.Hash{}) {
		sb.WriteString("LXMF address: `!" + s.opts.LXMFAddress.String() + "`!\n")
	}
	sb.WriteString("Node address: " + s.dest.Hash().String() + "\n")
	return []byte(sb.String())
}
