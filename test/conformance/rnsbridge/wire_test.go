package main

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// call runs one command through the handler table like serve does.
func call(t *testing.T, b *bridge, cmd string, p params) map[string]any {
	t.Helper()
	r := b.handle(request{ID: "t", Command: cmd, Params: p})
	if !r.Success {
		t.Fatalf("%s: %s", cmd, r.Error)
	}
	return r.Result
}

func TestWireBadRequests(t *testing.T) {
	b := newBridge()
	defer b.closeAll()
	for _, c := range []struct {
		cmd string
		p   params
	}{
		{"wire_announce", params{"handle": "nope"}},
		{"wire_link_send", params{}},
		{"wire_poll_path", params{"handle": 7, "destination_hash": "zz"}},
		{"wire_start_tcp_client", params{"target_port": "x"}},
		{"wire_link_request", params{"handle": nil}},
		{"wire_resource_poll", params{"handle": "", "destination_hash": "00"}},
	} {
		if r := b.handle(request{ID: "x", Command: c.cmd, Params: c.p}); r.Success || r.Error == "" {
			t.Errorf("%s %v: %+v, want an error answer", c.cmd, c.p, r)
		}
	}
	if r := call(t, b, "wire_stop", params{"handle": "nope"}); r["stopped"] != false {
		t.Errorf("stop of unknown handle: %v", r)
	}
}

// TestWireLinkEndToEnd drives two Reticle nodes on loopback through the
// commands the suite's link tests use.
func TestWireLinkEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two nodes on loopback")
	}
	b := newBridge()
	defer b.closeAll()
	srv := call(t, b, "wire_start_tcp_server", params{"network_name": "", "passphrase": ""})
	cli := call(t, b, "wire_start_tcp_client", params{"target_host": "127.0.0.1", "target_port": float64(srv["port"].(int))})
	sh, ch := srv["handle"], cli["handle"]

	dest := call(t, b, "wire_listen", params{"handle": sh, "app_name": "conformance", "aspects": []any{"wire"}})["destination_hash"]
	call(t, b, "wire_register_request_handler", params{"handle": sh, "destination_hash": dest, "path": "/echo", "response": "cafe"})
	big := bytes.Repeat([]byte{0xab}, 50000)
	call(t, b, "wire_register_request_handler", params{"handle": sh, "destination_hash": dest, "path": "/big", "response": hex.EncodeToString(big)})
	if r := call(t, b, "wire_poll_path", params{"handle": ch, "destination_hash": dest, "timeout_ms": float64(10000)}); r["found"] != true {
		t.Fatalf("no path: %v", r)
	}
	lid := call(t, b, "wire_link_open", params{"handle": ch, "destination_hash": dest, "app_name": "conformance", "aspects": []any{"wire"}})["link_id"]

	call(t, b, "wire_link_send", params{"handle": ch, "link_id": lid, "data": "68656c6c6f"})
	got := call(t, b, "wire_link_poll", params{"handle": sh, "destination_hash": dest, "timeout_ms": float64(5000)})["packets"]
	if ps, _ := got.([]string); len(ps) != 1 || ps[0] != "68656c6c6f" {
		t.Fatalf("link data %v", got)
	}

	rr := call(t, b, "wire_link_request", params{"handle": ch, "link_id": lid, "path": "/echo", "data": "01"})
	if rr["status"] != "ready" || rr["response"] != "cafe" {
		t.Fatalf("request: %v", rr)
	}
	rr = call(t, b, "wire_link_request_large", params{"handle": ch, "link_id": lid, "path": "/big", "data": ""})
	if rr["status"] != "ready" || rr["response"] != hex.EncodeToString(big) {
		t.Fatalf("large response: status %v", rr["status"])
	}
	if r := call(t, b, "wire_resource_poll", params{"handle": sh, "destination_hash": dest, "timeout_ms": float64(0)}); len(r["resources"].([]string)) != 0 {
		t.Fatalf("empty poll: %v", r)
	}
	log := call(t, b, "wire_get_request_log", params{"handle": sh, "destination_hash": dest, "path": "/echo"})
	if log["count"] != 1 {
		t.Fatalf("request log %v", log)
	}

	payload := bytes.Repeat([]byte("reticle "), 4000)
	rs := call(t, b, "wire_resource_send", params{"handle": ch, "link_id": lid, "data": hex.EncodeToString(payload), "timeout_ms": float64(20000)})
	if rs["success"] != true {
		t.Fatalf("resource send: %v", rs)
	}
	rp := call(t, b, "wire_resource_poll", params{"handle": sh, "destination_hash": dest, "timeout_ms": float64(5000)})["resources"]
	if ps, _ := rp.([]string); len(ps) != 1 || ps[0] != hex.EncodeToString(payload) {
		t.Fatalf("resource poll: %d resources", len(ps))
	}

	call(t, b, "wire_link_teardown", params{"handle": ch, "link_id": lid})
	st := call(t, b, "wire_listener_link_status", params{"handle": sh, "destination_hash": dest})
	if st["found"] != true {
		t.Fatalf("listener link status %v", st)
	}
	aw := call(t, b, "wire_link_await_status", params{"handle": ch, "link_id": lid, "target_status": "CLOSED", "timeout_ms": float64(5000)})
	if aw["reached"] != true || aw["teardown_reason_name"] != "INITIATOR_CLOSED" {
		t.Fatalf("initiator after teardown: %v", aw)
	}
	if r := call(t, b, "wire_stop", params{"handle": ch}); r["stopped"] != true {
		t.Fatalf("stop: %v", r)
	}
}
