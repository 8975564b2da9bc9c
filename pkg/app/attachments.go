package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// AttachmentsDir holds attachment bytes below the data dir, one file per distinct content, named by its
// SHA-256 in hex.
const AttachmentsDir = "attachments"

// ErrNotFound means the message, conversation or attachment asked for does not exist; pkg/web answers 404.
var ErrNotFound = errors.New("not found")

// blobStore keeps attachment bytes content-addressed: each distinct content is written once (temp file,
// fsync, rename, 0600) and shared by every row that points at it. mu orders writes and deletes so a
// file is never removed while a new row is about to point at it.
type blobStore struct {
	dir string
	mu  sync.Mutex
}

func newBlobStore(dataDir string) (*blobStore, error) {
	if dataDir == "" {
		return nil, nil
	}
	dir := filepath.Join(dataDir, AttachmentsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("attachments dir: %w", err)
	}
	return &blobStore{dir: dir}, nil
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

func (b *blobStore) path(hash string) string { return filepath.Join(b.dir, hash) }

// put stores data (once) and returns its hash. The caller holds b.mu.
func (b *blobStore) put(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	if st, err := os.Lstat(b.path(h)); err == nil && st.Mode().IsRegular() && st.Size() == int64(len(data)) {
		return h, nil
	}
	f, err := os.CreateTemp(b.dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("store attachment: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return "", fmt.Errorf("store attachment: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return "", fmt.Errorf("store attachment: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("store attachment: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("store attachment: %w", err)
	}
	if err := os.Rename(tmp, b.path(h)); err != nil {
		return "", fmt.Errorf("store attachment: %w", err)
	}
	ok = true
	if d, err := os.Open(b.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return h, nil
}

// remove deletes the files of hashes no row points at. The caller holds b.mu.
func (b *blobStore) remove(hashes []string) error {
	var errs []error
	for _, h := range hashes {
		if !validHash(h) {
			continue
		}
		if err := os.Remove(b.path(h)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// storeMessage writes a message's attachment bytes, then its row pointing at them. Without a blob store
// (no data dir) the attachments stay inside the stored fields.
func (a *App) storeMessage(ctx context.Context, row *store.Message, f decomposed) (bool, []store.Attachment, error) {
	row.Renderer, row.ReplyTo, row.ReactionTo, row.Reaction, row.Meta = f.update.Renderer, f.update.ReplyTo, f.update.ReactionTo, f.update.Reaction, f.update.Meta
	if a.blobs == nil {
		row.FieldsState = 0
		inserted, err := a.st.InsertMessage(ctx, row)
		return inserted, nil, err
	}
	row.Fields, row.FieldsState = f.update.Fields, 1
	a.blobs.mu.Lock()
	defer a.blobs.mu.Unlock()
	atts := make([]store.Attachment, len(f.blobs))
	for i, bl := range f.blobs {
		h, err := a.blobs.put(bl.data)
		if err != nil {
			return false, nil, err
		}
		atts[i] = bl.att
		atts[i].Hash = h
	}
	inserted, err := a.st.InsertMessage(ctx, row, atts...)
	return inserted, atts, err
}

// removeOrphans deletes attachment files a delete left without rows.
func (a *App) removeOrphans(orphans []string) {
	if a.blobs == nil || len(orphans) == 0 {
		return
	}
	if err := a.blobs.remove(orphans); err != nil {
		a.log.Warn("attachment files not removed", "error", err)
	}
}

// migrateAttachments moves the attachment bytes of rows stored before attachments lived in files, in
// bounded batches.
func (a *App) migrateAttachments(ctx context.Context) error {
	if a.blobs == nil {
		return nil
	}
	moved := 0
	for range 100_000 {
		rows, err := a.st.UnmigratedMessages(ctx, 50)
		if err != nil || len(rows) == 0 {
			if moved > 0 {
				a.log.Info("moved attachments out of stored messages", "messages", moved)
			}
			return err
		}
		for _, r := range rows {
			fields, err := decodeFields(r.Fields)
			d := decomposed{}
			if err == nil {
				d = decompose(fields)
			} else {
				a.log.Warn("stored fields unreadable, kept as they are", "message_id", r.MessageID, "error", err)
				d.update.Fields = r.Fields
			}
			if err := a.migrateRow(ctx, r.ID, d); err != nil {
				return err
			}
			moved++
		}
	}
	return nil
}

func (a *App) migrateRow(ctx context.Context, row int64, d decomposed) error {
	a.blobs.mu.Lock()
	defer a.blobs.mu.Unlock()
	atts := make([]store.Attachment, len(d.blobs))
	for i, bl := range d.blobs {
		h, err := a.blobs.put(bl.data)
		if err != nil {
			return err
		}
		atts[i] = bl.att
		atts[i].Hash = h
	}
	return a.st.MigrateFields(ctx, row, d.update, atts)
}

// AttachmentContent is an attachment's bytes with what a download needs to know.
type AttachmentContent struct {
	Info AttachmentInfo
	// InlineType is the image type sniffed from the bytes when it is PNG, JPEG, WebP or GIF (the only
	// types shown inline), else empty.
	InlineType string
	Body       io.ReadSeekCloser
	Size       int64
}

// inlineTypes are the only types shown inline; SVG and HTML never are.
var inlineTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/webp": true, "image/gif": true}

// OpenAttachment opens attachment index of the message with the LXMF id id.
func (a *App) OpenAttachment(ctx context.Context, id string, index int) (AttachmentContent, error) {
	if !validHash(id) || index < 0 {
		return AttachmentContent{}, ErrNotFound
	}
	m, err := a.st.FindMessageHead(ctx, id)
	if err != nil {
		return AttachmentContent{}, notFound(err)
	}
	if a.blobs == nil || m.FieldsState == 0 {
		return AttachmentContent{}, ErrNotFound
	}
	att, err := a.st.GetAttachment(ctx, m.ID, index)
	if err != nil {
		return AttachmentContent{}, notFound(err)
	}
	if !validHash(att.Hash) {
		return AttachmentContent{}, ErrNotFound
	}
	f, err := os.Open(a.blobs.path(att.Hash))
	if err != nil {
		return AttachmentContent{}, fmt.Errorf("open attachment: %w", err)
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		_ = f.Close()
		return AttachmentContent{}, fmt.Errorf("open attachment: %w", err)
	}
	sniffed := http.DetectContentType(head[:n])
	if !inlineTypes[sniffed] || bytes.HasPrefix(bytes.TrimSpace(head[:n]), []byte("<")) {
		sniffed = ""
	}
	return AttachmentContent{Info: attachmentView(m.MessageID, att), InlineType: sniffed, Body: f, Size: att.Size}, nil
}

func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
