package interop

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestPluginEchoBotAnswersPython: the example echo bot, built, signed with a key made here, installed
// and granted through the real appliance's API, answers a message a stock Python LXMF client sends to
// the node, and the answer arrives in Python signed by the node. The plugin's log and stats show the call.
func TestPluginEchoBotAnswersPython(t *testing.T) {
	requireLXMF(t)
	port := freePort(t)
	py, ready := startLXMFPeer(t, "pyuser", serverSection(port))
	pyAddr := ready.str("address")
	node := startAppliance(t, "bot", "--interface", fmt.Sprintf("tcp-client://127.0.0.1:%d", port))
	id := node.installExamplePlugin("echo", "messages.read", "messages.send", "log")
	botAddr := node.address()

	// Python announces so the node can answer; the node announced when its interface came up.
	var heard bool
	for attempt := 1; attempt <= maxAttempts && !heard; attempt++ {
		py.send(map[string]any{"cmd": "announce"})
		deadline := time.Now().Add(5 * time.Second)
		for !heard && time.Now().Before(deadline) {
			var peers struct {
				Items []struct {
					Address string `json:"address"`
				} `json:"items"`
			}
			node.json(http.MethodGet, "/api/v1/peers?q="+pyAddr, nil, http.StatusOK, &peers)
			heard = len(peers.Items) == 1 && peers.Items[0].Address == pyAddr
			time.Sleep(100 * time.Millisecond)
		}
		if !heard {
			t.Logf("RETRY: the node has not heard python's announce (attempt %d)", attempt)
		}
	}
	if !heard {
		t.Fatal("the node never heard python's announce")
	}

	py.send(map[string]any{"cmd": "send", "to": botAddr, "title": "", "content": "ping from python", "id": 1, "method": "opportunistic"})
	if e := py.wait(30*time.Second, func(e event) bool { return e.str("event") == "send_state" && e.num("id") == 1 }); e == nil || e.str("state") != "delivered" {
		t.Fatalf("python's message to the bot: %v", e)
	}
	answer := py.wait(30*time.Second, func(e event) bool { return e.str("event") == "message" && e.str("source") == botAddr })
	if answer == nil {
		t.Fatal("no answer from the echo bot within 30 s")
	}
	if answer.str("content") != "echo: ping from python" || answer["signature_validated"] != true {
		t.Fatalf("bot's answer as python got it: %v", answer)
	}
	var info struct {
		Stats struct {
			Calls int `json:"calls"`
		} `json:"stats"`
	}
	node.json(http.MethodGet, "/api/v1/plugins/"+id, nil, http.StatusOK, &info)
	if info.Stats.Calls < 1 {
		t.Fatalf("plugin stats after the answer: %+v", info)
	}
}
