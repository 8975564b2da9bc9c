// Command rnsbridge is a bridge for the torlando-tech/reticulum-conformance
// suite: it reads one JSON request per stdin line,
//
//	{"id": "...", "command": "...", "params": {...}}
//
// and writes one JSON answer per stdout line, {"id", "success": true,
// "result": {...}} or {"id", "success": false, "error": "..."}, after a first
// line "READY". Byte strings travel as hex.
//
// Every command is a thin wrapper over Reticle's real packages
// (pkg/rns/wire, pkg/rns/identity, pkg/rns/iface, pkg/rns/transport,
// pkg/rns/link and the pkg/rns Node) or, for the bare primitives those
// packages use (SHA-2, HMAC, AES-CBC, X25519, Ed25519), the same
// standard-library calls they make. It covers the suite's primitive
// families (crypto, token, identity, destination, packet, announce, ratchet,
// HDLC framing), the core of the wire_* family (live nodes with one TCP
// interface on 127.0.0.1: announces, paths, links, requests, resources,
// opportunistic packets; see wire.go and wirelink.go) and the core of the
// behavioral_* family (a transport with mock interfaces, behavioral.go).
// Commands it does not implement answer "unknown command"; requests for
// options it cannot honour get an error answer.
//
// Run the suite against it (from a local copy of the suite):
//
//	go build -o /tmp/rnsbridge ./test/conformance/rnsbridge
//	see test/conformance/README.md
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

type request struct {
	ID      string         `json:"id"`
	Command string         `json:"command"`
	Params  map[string]any `json:"params"`
}

type response struct {
	ID      string         `json:"id"`
	Success bool           `json:"success"`
	Result  map[string]any `json:"result,omitempty"`
	Error   string         `json:"error,omitempty"`
}

type handler func(p params) (map[string]any, error)

func main() {
	if err := serve(os.Stdin, os.Stdout, newBridge()); err != nil {
		fmt.Fprintln(os.Stderr, "rnsbridge:", err)
		os.Exit(1)
	}
}

// serve runs the request loop until in ends.
func serve(in io.Reader, out io.Writer, b *bridge) error {
	w := bufio.NewWriter(out)
	if _, err := w.WriteString("READY\n"); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	defer b.closeAll()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	enc := json.NewEncoder(w)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var req request
		var resp response
		if err := json.Unmarshal(line, &req); err != nil {
			resp = response{ID: "parse_error", Error: "JSON parse error: " + err.Error()}
		} else {
			resp = b.handle(req)
		}
		if err := enc.Encode(resp); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (b *bridge) handle(req request) (resp response) {
	resp.ID = req.ID
	h, ok := b.commands[req.Command]
	if !ok {
		resp.Error = "Unknown command: " + req.Command
		return resp
	}
	defer func() {
		if r := recover(); r != nil {
			resp.Success, resp.Result, resp.Error = false, nil, fmt.Sprintf("panic: %v", r)
		}
	}()
	res, err := h(params(req.Params))
	if err != nil {
		resp.Error = err.Error()
		return resp
	}
	if res == nil {
		res = map[string]any{}
	}
	resp.Success, resp.Result = true, res
	return resp
}

// params reads typed values out of a request's params object.
type params map[string]any

func (p params) has(k string) bool {
	v, ok := p[k]
	return ok && v != nil
}

func (p params) str(k string) string {
	s, _ := p[k].(string)
	return s
}

func (p params) hex(k string) ([]byte, error) {
	v, ok := p[k]
	if !ok || v == nil {
		return nil, fmt.Errorf("missing param %q", k)
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("param %q is not a hex string", k)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("param %q: %w", k, err)
	}
	return b, nil
}

// optHex returns nil for a missing, null or empty param.
func (p params) optHex(k string) ([]byte, error) {
	if p.str(k) == "" {
		return nil, nil
	}
	return p.hex(k)
}

func (p params) int(k string, def int) int {
	switch v := p[k].(type) {
	case float64:
		return int(v)
	case string:
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil {
			return n
		}
	case bool:
		if v {
			return 1
		}
		return 0
	}
	return def
}

func (p params) bool(k string) bool {
	switch v := p[k].(type) {
	case bool:
		return v
	case float64:
		return v != 0
	case string:
		return v == "true" || v == "1"
	}
	return false
}

// list returns a list param given as a JSON list or a comma-separated string.
func (p params) list(k string) []string {
	switch v := p[k].(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	case string:
		if v == "" {
			return nil
		}
		return splitComma(v)
	}
	return nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

func hx(b []byte) string { return hex.EncodeToString(b) }
