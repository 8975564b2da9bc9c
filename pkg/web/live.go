package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/auth"
)

// Events is the app's event broker as the websocket hub sees it; *app.Broker implements it.
type Events interface {
	// Subscribe returns a channel of at most size buffered events and a function that unsubscribes.
	Subscribe(size int) (<-chan app.Event, func())
}

var _ Events = (*app.Broker)(nil)

// Defaults of the websocket hub.
const (
	defaultLiveQueue        = 64
	defaultLiveWriteTimeout = 10 * time.Second
	defaultLivePing         = 30 * time.Second
	liveReadLimit           = 4 << 10 // clients send nothing but control frames
)

// EventHello is the first frame on every websocket: the subscription is in place, so a client that
// (re)loads its state after seeing it misses nothing.
const EventHello = "hello"

// hub tracks the open websockets so that Close can end them (http.Server.Shutdown does not wait for
// hijacked connections) and so tests can see drops.
type hub struct {
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	closed  bool
	active  atomic.Int64
	dropped atomic.Uint64 // clients dropped because they did not keep up
	// shutdownCloses counts sockets ended by a server shutdown whose close handshake completed (the
	// client answered the 1001 close frame).
	shutdownCloses atomic.Uint64
}

func newHub() *hub {
	ctx, cancel := context.WithCancel(context.Background())
	return &hub{ctx: ctx, cancel: cancel}
}

// enter registers a connection; false once the hub is closing.
func (h *hub) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	h.active.Add(1)
	return true
}

func (h *hub) leave() {
	h.active.Add(-1)
	h.wg.Done()
}

// close ends every websocket and waits for their goroutines, at most grace.
func (h *hub) close(grace time.Duration) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return errors.New("websockets did not close in time")
	}
}

func (s *Server) liveRoutes() []route {
	return []route{{http.MethodGet, "/ws", s.getLive, ReadAccess}}
}

// getLive upgrades to a websocket that carries the app's events as JSON text frames. A browser (session
// cookie) must send this server's own Origin; a token client may omit Origin, but one it sends is checked.
// The upgrade is a GET with no side effects, so it needs no CSRF token.
func (s *Server) getLive(c echo.Context) error {
	if s.deps.Events == nil {
		return errMessagingUnavailable
	}
	r := c.Request()
	p, _ := currentPrincipal(c)
	if r.Header.Get(echo.HeaderOrigin) != "" || p.Kind != auth.KindToken {
		if err := s.checkOrigin(c); err != nil {
			return err
		}
	}
	if !websocketRequested(r) {
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "websocket upgrade expected"}
	}
	if !s.live.enter() {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "shutting down"}
	}
	defer s.live.leave()
	// Subscribe before the handshake completes, so nothing published after the hello frame is missed.
	events, unsubscribe := s.deps.Events.Subscribe(s.opts.LiveQueue)
	defer unsubscribe()
	// Origin was checked above with the proxy-aware helper; the library's own check knows no proxies.
	conn, err := websocket.Accept(c.Response(), r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Warn("websocket upgrade failed", "err", err)
		return nil // Accept has answered the client
	}
	defer func() { _ = conn.CloseNow() }()
	conn.SetReadLimit(liveReadLimit)
	// The reader discards control frames, answers pings and ends readCtx when the peer goes. It is not
	// tied to the hub, so that a shutdown can still send a close frame.
	readCtx := conn.CloseRead(context.Background())
	ctx, cancel := context.WithCancel(s.live.ctx)
	defer cancel()
	stopAfter := context.AfterFunc(readCtx, cancel)
	defer stopAfter()
	status, reason := s.serveLive(ctx, c, conn, events)
	if err := conn.Close(status, reason); err == nil && status == websocket.StatusGoingAway {
		s.live.shutdownCloses.Add(1)
	}
	return nil
}

func websocketRequested(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// serveLive forwards events until the client goes, falls behind, or its credentials stop being valid.
// A forwarder moves events from the broker into a bounded queue without ever waiting: when the queue is
// full the client is dropped (it reconnects and resyncs), so a stalled socket never delays the app and
// never silently misses events.
func (s *Server) serveLive(ctx context.Context, c echo.Context, conn *websocket.Conn, events <-chan app.Event) (websocket.StatusCode, string) {
	queue := make(chan app.Event, s.opts.LiveQueue)
	overflow := make(chan struct{})
	fwdDone := make(chan struct{})
	fctx, stop := context.WithCancel(ctx)
	defer func() { stop(); <-fwdDone }()
	go func() {
		defer close(fwdDone)
		for {
			select {
			case <-fctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					close(queue)
					return
				}
				select {
				case queue <- ev:
				default:
					close(overflow)
					return
				}
			}
		}
	}()

	if err := s.writeEvent(ctx, conn, app.Event{Kind: EventHello}); err != nil {
		return websocket.StatusGoingAway, ""
	}
	ping := time.NewTicker(s.opts.LivePing)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			if s.live.ctx.Err() != nil {
				return websocket.StatusGoingAway, "server shutting down"
			}
			return websocket.StatusNormalClosure, ""
		case <-overflow:
			return s.dropLive("send queue full")
		case ev, ok := <-queue:
			if !ok {
				return websocket.StatusGoingAway, "events ended"
			}
			if err := s.writeEvent(ctx, conn, ev); err != nil {
				if ctx.Err() != nil {
					continue // the peer went or the server is closing: the ctx case reports it
				}
				return s.dropLive("write timed out")
			}
		case <-ping.C:
			if _, err := s.principal(c); err != nil {
				return websocket.StatusPolicyViolation, "session ended"
			}
			pctx, cancel := context.WithTimeout(ctx, s.opts.LiveWriteTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				return s.dropLive("ping unanswered")
			}
		}
	}
}

func (s *Server) dropLive(why string) (websocket.StatusCode, string) {
	s.live.dropped.Add(1)
	s.log.Info("websocket client dropped", "reason", why)
	return websocket.StatusTryAgainLater, "too slow, reconnect"
}

func (s *Server) writeEvent(ctx context.Context, conn *websocket.Conn, ev app.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		s.log.Error("encode event", "err", err, "kind", ev.Kind)
		return nil // skip the one event rather than the client
	}
	wctx, cancel := context.WithTimeout(ctx, s.opts.LiveWriteTimeout)
	defer cancel()
	if err := conn.Write(wctx, websocket.MessageText, b); err != nil {
		return err
	}
	return nil
}
