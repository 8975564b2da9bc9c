package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Options configure the HTTP server.
type Options struct {
	Listen         string         // host:port; port 0 picks a free one
	TrustedProxies []netip.Prefix // peers whose forwarding headers are believed
	Logger         *slog.Logger   // nil discards
	BodyLimit      string         // default request body limit, e.g. "1M"
	ShutdownGrace  time.Duration  // how long Close waits for requests in flight; default 5 s

	LiveQueue        int           // events buffered per websocket before the client is dropped; default 64
	LiveWriteTimeout time.Duration // how long one websocket write may take; default 10 s
	LivePing         time.Duration // websocket keepalive and credential re-check interval; default 30 s
}

// Pinger reports whether a dependency (the store) is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Status is a component's health as shown on /readyz and in the UI.
type Status struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// SystemInfo is what /api/v1/system reports.
type SystemInfo struct {
	Version   string          `json:"version"`
	Commit    string          `json:"commit"`
	Date      string          `json:"date"`
	Integrity Status          `json:"integrity"`
	AtRest    Status          `json:"at_rest"`
	Features  map[string]bool `json:"features"`
}

// Deps are the components the handlers use. Store and UI are required.
type Deps struct {
	Store     Pinger
	UI        fs.FS             // the built UI, index.html at its root
	System    func() SystemInfo // nil reports build info only
	Auth      Authenticator     // nil: every protected route answers 401
	Messaging Messaging         // nil: the messaging routes answer 503
	Storage   StorageReporter   // nil: GET /api/v1/storage answers 503, /readyz omits storage
	Network   Network           // nil: the interface and path routes answer 503
	Events    Events            // nil: /api/v1/ws answers 503
	Logs      LogSource         // nil: GET /api/v1/debug/logs answers 503
	Backups   Backups           // nil: the snapshot and restore routes answer 503
	Plugins   Plugins           // nil: the plugin routes answer 503
	Pages     Pages             // nil: the nomadnet routes answer 503
	// Identities, nil: the identities routes answer 503.
	Identities Identities
}

// Server is the configured Echo instance and its http.Server.
type Server struct {
	opts Options
	deps Deps
	log  *slog.Logger
	e    *echo.Echo
	srv  *http.Server
	live *hub

	closeOnce sync.Once
	closeErr  error
	ln        net.Listener
	done      chan error
}

// New builds the server and its routes; it does not listen yet.
func New(opts Options, deps Deps) (*Server, error) {
	if deps.Store == nil || deps.UI == nil {
		return nil, errors.New("web: store and ui are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BodyLimit == "" {
		opts.BodyLimit = "1M"
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 5 * time.Second
	}
	if opts.LiveQueue <= 0 {
		opts.LiveQueue = defaultLiveQueue
	}
	if opts.LiveWriteTimeout <= 0 {
		opts.LiveWriteTimeout = defaultLiveWriteTimeout
	}
	if opts.LivePing <= 0 {
		opts.LivePing = defaultLivePing
	}
	s := &Server{opts: opts, deps: deps, log: opts.Logger, live: newHub()}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Debug = false
	e.IPExtractor = ipExtractor(opts.TrustedProxies)
	e.HTTPErrorHandler = s.errorHandler
	e.Use(securityHeaders(s.isHTTPS))
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{}))
	e.Use(s.accessLog())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.Error("panic in handler", "err", err, "path", c.Path(), "request_id", requestID(c), "stack", string(stack))
			return err
		},
	}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit: opts.BodyLimit,
		// A restore upload is a whole snapshot; its handler bounds it with its own limit.
		Skipper: func(c echo.Context) bool {
			return c.Request().URL.Path == restorePath && c.Request().Method == http.MethodPost
		},
	}))
	s.e = e
	if err := s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler exposes the router for tests (httptest) without a listener.
func (s *Server) Handler() http.Handler { return s.e }

// Start listens on opts.Listen and serves in the background until Close.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.opts.Listen, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.srv.Serve(ln) }()
	s.log.Info("web server listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops accepting connections, ends the websockets and waits up to ShutdownGrace for requests in
// flight.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	if s.srv == nil {
		return s.live.close(s.opts.ShutdownGrace)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownGrace)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if lerr := s.live.close(s.opts.ShutdownGrace); lerr != nil && err == nil {
		err = lerr
	}
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("web shutdown: %w", err)
	}
	return nil
}

// accessLog logs one structured line per request. It logs the path only, never the query string, which
// may carry tokens.
func (s *Server) accessLog() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogURIPath: true, LogLatency: true, LogRemoteIP: true,
		LogRequestID: true, LogError: true, LogResponseSize: true,
		// Run the error handler inside the logger, so the logged status is the one sent (401, 404, ...).
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(context.Background(), level, "http request",
				slog.String("method", v.Method), slog.String("path", v.URIPath), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("ip", v.RemoteIP),
				slog.Int64("bytes", v.ResponseSize), slog.String("request_id", v.RequestID))
			return nil
		},
	})
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}
