package interop

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"testing"
	"time"

	lxapp "github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
)

// TestLXMFMediaFields: Python LXMF sends a file, an image and audio; Reticle's API lists them with the
// right bytes; Reticle sends the same kinds and Python reads them in the reference field layout.
func TestLXMFMediaFields(t *testing.T) {
	requireLXMF(t)
	port := freePort(t)
	rt := startLXMFNode(t, "reticle", router.Options{}, fmt.Sprintf("tcp-server://127.0.0.1:%d", port))
	py, ready := startLXMFPeer(t, "pymedia", clientSection(port))
	pyAddr := ready.str("address")
	exchangeAnnounces(t, rt, py, pyAddr)
	// A stranger's attachments are held back by default: the owner adds the Python peer as a contact.
	if _, _, err := rt.app.PutContact(context.Background(), pyAddr, lxapp.ContactPatch{}); err != nil {
		t.Fatal(err)
	}
	me := rt.app.Identity(context.Background())
	py.send(map[string]any{"cmd": "send", "to": me.Address, "content": "media", "id": 8, "method": "direct", "media": true})
	q := py.wait(60*time.Second, func(e event) bool {
		return (e.str("event") == "send_queued" || e.str("event") == "error") && e.num("id") == 8
	})
	if q == nil || q.str("event") == "error" {
		t.Fatalf("python send: %v", q)
	}
	if _, ok := rt.waitMessage(t, q.str("hash"), 60*time.Second); !ok {
		t.Fatal("reticle did not store the message")
	}
	ctx := context.Background()
	m, err := rt.app.GetMessage(ctx, q.str("hash"))
	if err != nil || len(m.Attachments) != 3 {
		t.Fatalf("attachments %+v, %v", m.Attachments, err)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), seq(64)...)
	ogg := append([]byte("OggS"), seq(32)...)
	want := []struct {
		kind, name, codec string
		data              []byte
	}{{"file", "notes.txt", "", []byte("file from python")}, {"image", "image.png", "", png}, {"audio", "audio.ogg", "opus_ogg", ogg}}
	for i, w := range want {
		a := m.Attachments[i]
		c, err := rt.app.OpenAttachment(ctx, m.ID, i)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(c.Body)
		_ = c.Body.Close()
		if a.Kind != w.kind || a.Name != w.name || a.Codec != w.codec || string(b) != string(w.data) {
			t.Fatalf("attachment %d: %+v bytes %x", i, a, b)
		}
	}
	out, err := rt.app.Send(ctx, lxapp.SendRequest{To: pyAddr, Content: "media back", Method: "direct",
		Attachments: []lxapp.AttachmentInput{{Name: "back.txt", Data: []byte("file from reticle")}},
		Image:       &lxapp.ImageInput{Mime: "image/png", Data: png},
		Audio:       &lxapp.AudioInput{Codec: "opus_ogg", Data: ogg}})
	if err != nil {
		t.Fatal(err)
	}
	got := py.wait(120*time.Second, isEvent("message", "hash", out.ID))
	if got == nil {
		t.Fatal("python did not receive the media message")
	}
	if fmt.Sprint(got["attachments"]) != fmt.Sprint([]any{[]any{"back.txt", float64(17)}}) ||
		fmt.Sprint(got["image"]) != fmt.Sprint([]any{"png", hex.EncodeToString(png)}) ||
		fmt.Sprint(got["audio"]) != fmt.Sprint([]any{float64(0x10), hex.EncodeToString(ogg)}) {
		t.Fatalf("python read attachments %v image %v audio %v", got["attachments"], got["image"], got["audio"])
	}
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}
