package web

import (
	"bufio"
	"context"
	"crypto/sha1" //nolint:gosec // RFC 6455 fixes SHA-1 for Sec-WebSocket-Accept
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// requireTool skips when an external tool is missing, unless RETICLE_REQUIRE_EXTERNAL=1 (CI) makes that a
// failure.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("RETICLE_REQUIRE_EXTERNAL") == "1" {
			t.Fatalf("%s not installed and RETICLE_REQUIRE_EXTERNAL=1", name)
		}
		t.Skipf("%s not installed (apt-get install -y %s); skipping", name, name)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// TestBehindCaddyHTTPS runs Reticle behind a real Caddy with `tls internal` on loopback and checks what a
// VPS owner relies on: HTTPS reaches Reticle as HTTPS (Secure cookie, HSTS), the client address is the
// one Caddy saw (a spoofed X-Forwarded-For from the client changes nothing), and websocket upgrades pass
// through with the Origin check seeing the public https origin.
func TestBehindCaddyHTTPS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts caddy; skipped in -short mode")
	}
	caddy := requireTool(t, "caddy")
	e := newAuthEnv(t, Options{Listen: "127.0.0.1:0", TrustedProxies: trustedLoopback()}, nil)
	e.srv.e.GET("/ws-probe", func(c echo.Context) error { return wsProbe(e.srv, c) })
	broker := app.NewBroker()
	e.srv.deps.Events = broker
	if err := e.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.srv.Close() }()

	dir := t.TempDir()
	httpsPort, httpPort := freePort(t), freePort(t)
	conf := fmt.Sprintf(`{
	admin off
	skip_install_trust
	local_certs
	http_port %d
	https_port %d
	auto_https disable_redirects
	storage file_system %s
}
localhost:%d {
	bind 127.0.0.1
	tls internal
	reverse_proxy %s
}
`, httpPort, httpsPort, filepath.Join(dir, "data"), httpsPort, e.srv.Addr())
	confPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, caddy, "run", "--config", confPath, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "xdg-data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "xdg-config"))
	var caddyLog strings.Builder
	cmd.Stdout, cmd.Stderr = &caddyLog, &caddyLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("caddy output:\n%s", caddyLog.String())
		}
	}()

	// Wait (bounded) for Caddy's internal CA and the HTTPS listener.
	rootPath := filepath.Join(dir, "data", "pki", "authorities", "local", "root.crt")
	var tlsConf *tls.Config
	deadline := time.Now().Add(30 * time.Second)
	for tlsConf == nil {
		if time.Now().After(deadline) {
			t.Fatal("caddy did not come up within 30 s")
		}
		if pem, err := os.ReadFile(rootPath); err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			cfg := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
			if c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort), cfg); err == nil {
				_ = c.Close()
				tlsConf = cfg
				break
			}
		}
		time.Sleep(100 * time.Millisecond) // readiness poll of an external process, bounded by deadline
	}

	// The browser connects from 127.0.0.2, so its address differs from the proxy's (127.0.0.1).
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	caddyAddr := fmt.Sprintf("127.0.0.1:%d", httpsPort)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: tlsConf,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, caddyAddr)
		},
	}}
	base := fmt.Sprintf("https://localhost:%d", httpsPort)

	body := fmt.Sprintf(`{"setup_code":%q,"password":%q}`, e.code, ownerPassword)
	hr, _ := http.NewRequest("POST", base+"/api/v1/auth/setup", strings.NewReader(body))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("X-Forwarded-For", "203.0.113.66") // spoof attempt from the browser side
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("setup through caddy: %d", resp.StatusCode)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS through the HTTPS proxy")
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == cookieSession {
			sess = c
		}
	}
	if sess == nil || !sess.Secure || !sess.HttpOnly {
		t.Fatalf("session cookie through HTTPS proxy: %+v", sess)
	}

	hr, _ = http.NewRequest("GET", base+"/api/v1/auth/attempts?limit=1", nil)
	hr.AddCookie(sess)
	resp, err = client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	var atts []attemptJSON
	err = json.NewDecoder(resp.Body).Decode(&atts)
	_ = resp.Body.Close()
	if err != nil || len(atts) != 1 {
		t.Fatalf("attempts: %v %+v", err, atts)
	}
	if atts[0].IP != "127.0.0.2" {
		t.Fatalf("client ip recorded as %q, want 127.0.0.2 (the browser as Caddy saw it)", atts[0].IP)
	}

	// Websocket upgrade through Caddy, with the right and a foreign Origin.
	for _, tc := range []struct {
		origin string
		status int
	}{{base, 101}, {"https://evil.example", 403}, {strings.Replace(base, "https", "http", 1), 403}} {
		status, msg := wsDial(t, dialer, caddyAddr, tlsConf, fmt.Sprintf("localhost:%d", httpsPort), tc.origin)
		if status != tc.status {
			t.Errorf("websocket with Origin %s: status %d, want %d", tc.origin, status, tc.status)
		}
		if tc.status == 101 && msg != "hello" {
			t.Errorf("websocket message through caddy = %q, want hello", msg)
		}
	}

	// The real event socket through Caddy: the browser's session and https Origin, a published event
	// arrives as JSON.
	hdr := http.Header{}
	hdr.Set("Origin", base)
	hdr.Set("Cookie", cookieSession+"="+sess.Value)
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	wsURL := "wss" + strings.TrimPrefix(base, "https") + "/api/v1/ws"
	ws, wresp, err := websocket.Dial(wctx, wsURL, &websocket.DialOptions{HTTPClient: client, HTTPHeader: hdr})
	if wresp != nil && wresp.Body != nil {
		_ = wresp.Body.Close()
	}
	if err != nil {
		t.Fatalf("event websocket through caddy: %v", err)
	}
	defer func() { _ = ws.CloseNow() }()
	readKind := func() app.Event {
		_, b, err := ws.Read(wctx)
		if err != nil {
			t.Fatalf("read event through caddy: %v", err)
		}
		var ev app.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("event %q: %v", b, err)
		}
		return ev
	}
	if ev := readKind(); ev.Kind != EventHello {
		t.Fatalf("first frame through caddy %q, want hello", ev.Kind)
	}
	broker.Publish(app.Event{Kind: app.EventMessageState, MessageID: "m1", State: "delivered"})
	if ev := readKind(); ev.Kind != app.EventMessageState || ev.State != "delivered" || ev.MessageID != "m1" {
		t.Fatalf("event through caddy: %+v", ev)
	}
	_ = ws.Close(websocket.StatusNormalClosure, "")
}

const wsKey = "dGhlIHNhbXBsZSBub25jZQ=="

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC11B41")) //nolint:gosec // RFC 6455
	return base64.StdEncoding.EncodeToString(h[:])
}

// wsProbe is a minimal websocket endpoint for the proxy test: Origin check, handshake, one text frame.
func wsProbe(s *Server, c echo.Context) error {
	if err := s.checkOrigin(c); err != nil {
		return err
	}
	r := c.Request()
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return &Error{Status: 400, Code: "bad_request", Message: "not a websocket upgrade"}
	}
	conn, rw, err := c.Response().Hijack()
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	_, _ = fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", wsAccept(r.Header.Get("Sec-WebSocket-Key")))
	_, _ = rw.Write([]byte{0x81, 5})
	_, _ = rw.WriteString("hello")
	return rw.Flush()
}

func wsDial(t *testing.T, d *net.Dialer, addr string, cfg *tls.Config, host, origin string) (int, string) {
	t.Helper()
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn := tls.Client(raw, cfg)
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET /ws-probe HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\n\r\n", host, wsKey, origin); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		_ = resp.Body.Close()
		return resp.StatusCode, ""
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(wsKey) {
		t.Errorf("bad Sec-WebSocket-Accept %q", resp.Header.Get("Sec-WebSocket-Accept"))
	}
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, hdr[1]&0x7f)
	if _, err := io.ReadFull(br, msg); err != nil {
		t.Fatal(err)
	}
	return 101, string(msg)
}
