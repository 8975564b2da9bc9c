package app

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// ExportName is the suggested file name of an export made at t.
func ExportName(peer string, t time.Time) string {
	if peer == "" {
		peer = "all"
	} else if len(peer) > 8 {
		peer = peer[:8]
	}
	return fmt.Sprintf("reticle-export-%s-%s.zip", peer, t.UTC().Format("20060102-150405"))
}

// exportDoc is messages.json in an export.
type exportDoc struct {
	Format     string    `json:"format"` // reticle-export-v1
	ExportedAt time.Time `json:"exported_at"`
	Identity   string    `json:"identity"` // this node's LXMF address
	Peer       string    `json:"peer,omitempty"`
	// messages follows: every message as GET /api/v1/messages/{id} shows it, oldest first.
}

// Export writes a zip to w: messages.json with every message exchanged with peer (every peer when
// empty), oldest first, with full title and content, reactions and attachment metadata; and each
// attachment's bytes as attachments/<message id>/<index>-<name>. Messages are read page by page, so memory
// stays bounded by one message, the id list and the attachment list.
func (a *App) Export(ctx context.Context, peer string, w io.Writer) error {
	q := store.ThreadQuery{Limit: MaxLimit}
	if strings.TrimSpace(peer) != "" {
		h, err := ParseAddress(peer)
		if err != nil {
			return err
		}
		q.Peer = h.String()
	}
	// The ids, newest page first, then reversed: the store pages threads backwards from the newest.
	var ids []string
	for {
		page, err := a.st.ListThread(ctx, q)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		for i := len(page.Items) - 1; i >= 0; i-- {
			ids = append(ids, page.Items[i].MessageID)
		}
		if !page.HasMoreBefore || len(page.Items) == 0 {
			break
		}
		q.Before = page.Items[0].ID
	}
	slices.Reverse(ids)

	zw := zip.NewWriter(w)
	f, err := zw.Create("messages.json")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	head, err := json.Marshal(exportDoc{Format: "reticle-export-v1", ExportedAt: time.Now().UTC(), Identity: a.Identity(ctx).Address, Peer: q.Peer})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	// messages.json is written one message at a time: the header's fields, then "messages": [...].
	if _, err := fmt.Fprintf(f, "%s,\"messages\":[\n", head[:len(head)-1]); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	type file struct {
		id string
		at AttachmentInfo
	}
	var files []file
	for i, id := range ids {
		m, err := a.GetMessage(ctx, id)
		if err != nil {
			return fmt.Errorf("export message %s: %w", id, err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("export message %s: %w", id, err)
		}
		if i > 0 {
			b = append([]byte(",\n"), b...)
		}
		if _, err := f.Write(b); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		for _, at := range m.Attachments {
			files = append(files, file{m.ID, at})
		}
	}
	if _, err := io.WriteString(f, "\n]}\n"); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, x := range files {
		if err := a.exportAttachment(ctx, zw, x.id, x.at); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func (a *App) exportAttachment(ctx context.Context, zw *zip.Writer, id string, at AttachmentInfo) error {
	c, err := a.OpenAttachment(ctx, id, at.Index)
	if err != nil {
		return fmt.Errorf("export attachment %s/%d: %w", id, at.Index, err)
	}
	defer func() { _ = c.Body.Close() }()
	f, err := zw.Create(fmt.Sprintf("attachments/%s/%d-%s", id, at.Index, safeMemberName(at.Name)))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if _, err := io.Copy(f, c.Body); err != nil {
		return fmt.Errorf("export attachment %s/%d: %w", id, at.Index, err)
	}
	return nil
}

// safeMemberName keeps a peer-chosen file name from becoming a path in the archive: letters, digits,
// dot, dash and underscore stay, everything else becomes "_", at most 80 bytes.
func safeMemberName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0 && !strings.HasSuffix(b.String(), "."):
			b.WriteRune(r) // never a leading dot, never ".."
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 80 {
			break
		}
	}
	if b.Len() == 0 {
		return "file"
	}
	return b.String()
}
