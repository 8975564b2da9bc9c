package app

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func TestExportConversation(t *testing.T) {
	n := startLoopNodeOpts(t, "alice", false, Options{})
	defer n.close()
	ctx := context.Background()
	me := n.app.Identity(ctx).Address
	var ids []string
	for i, c := range []string{"first", "second with a file", "third"} {
		req := SendRequest{To: me, Content: c}
		if i == 1 {
			req.Attachments = []AttachmentInput{{Name: "../../etc/evil name.txt", Data: []byte("file bytes")}}
		}
		m, err := n.app.Send(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	var buf bytes.Buffer
	if err := n.app.Export(ctx, me, &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	members := map[string][]byte{}
	for _, f := range zr.File {
		if strings.Contains(f.Name, "..") || strings.HasPrefix(f.Name, "/") {
			t.Fatalf("unsafe member %q", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		_ = rc.Close()
		members[f.Name] = b
	}
	var doc struct {
		Format   string    `json:"format"`
		Identity string    `json:"identity"`
		Peer     string    `json:"peer"`
		Messages []Message `json:"messages"`
	}
	if err := json.Unmarshal(members["messages.json"], &doc); err != nil {
		t.Fatalf("messages.json: %v\n%s", err, members["messages.json"])
	}
	if doc.Format != "reticle-export-v1" || doc.Identity != me || doc.Peer != me || len(doc.Messages) != 3 {
		t.Fatalf("export %+v", doc)
	}
	for i, m := range doc.Messages {
		if m.ID != ids[i] {
			t.Fatalf("message %d is %s, want %s (oldest first)", i, m.ID, ids[i])
		}
	}
	if doc.Messages[1].Content != "second with a file" || len(doc.Messages[1].Attachments) != 1 {
		t.Fatalf("message with a file %+v", doc.Messages[1])
	}
	want := "attachments/" + ids[1] + "/0-evil_name.txt" // the app keeps the base name; the export maps the space
	if got, ok := members[want]; !ok || string(got) != "file bytes" {
		names := []string{}
		for k := range members {
			names = append(names, k)
		}
		t.Fatalf("attachment member %q: %q (members %v)", want, got, names)
	}
	// Everything, and a bad peer.
	buf.Reset()
	if err := n.app.Export(ctx, "", &buf); err != nil || buf.Len() == 0 {
		t.Fatalf("export all: %v", err)
	}
	if err := n.app.Export(ctx, "not-an-address", io.Discard); err == nil {
		t.Fatal("export with a bad peer accepted")
	}
}

func TestSafeMemberName(t *testing.T) {
	for in, want := range map[string]string{
		"../../x": "_._.__x", "/etc/passwd": "_etc_passwd", "..": "_.", "": "file", "a\\b": "a_b",
		"\u202egpj.exe": "_gpj.exe", "ok-name_1.tar.gz": "ok-name_1.tar.gz", "a..b": "a._b",
		"%2e%2e%2f": "_2e_2e_2f", strings.Repeat("x", 200): strings.Repeat("x", 80),
	} {
		got := safeMemberName(in)
		if got != want || strings.Contains(got, "..") || strings.ContainsAny(got, "/\\") {
			t.Errorf("safeMemberName(%q) = %q, want %q", in, got, want)
		}
	}
}
