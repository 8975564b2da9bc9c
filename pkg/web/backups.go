package web

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// Backups is the snapshot and restore use case behind /api/v1/snapshots and /api/v1/restore;
// cmd/reticle adapts *backup.Manager to it. With none, those routes answer 503.
type Backups interface {
	ListSnapshots(ctx context.Context) (SnapshotList, error)
	CreateSnapshot(ctx context.Context) (Snapshot, error)
	// OpenSnapshot resolves name inside the snapshots dir; a name that could leave it is ErrBadSnapshotName.
	OpenSnapshot(ctx context.Context, name string) (io.ReadSeekCloser, Snapshot, error)
	DeleteSnapshot(ctx context.Context, name string) error
	// StageRestore opens the uploaded archive with passphrase when it is sealed, verifies it completely
	// and stages it; the next start applies it.
	StageRestore(ctx context.Context, r io.Reader, passphrase string) (PendingRestore, error)
	// SealSnapshot writes snapshot name to w encrypted with passphrase (ErrBadPassphrase when it is
	// too short); nothing is written to w before the snapshot is found.
	SealSnapshot(ctx context.Context, name, passphrase string, w io.Writer) error
	CancelRestore(ctx context.Context) error
	// MaxUpload bounds a restore upload in bytes.
	MaxUpload() int64
}

// Errors a Backups implementation returns for the handlers to map.
var (
	ErrSnapshotNotFound = errors.New("snapshot not found")
	ErrBadSnapshotName  = errors.New("not a snapshot name")
	ErrBadArchive       = errors.New("not a valid snapshot")
	ErrArchiveTooNew    = errors.New("snapshot from a newer reticle")
	ErrSealedArchive    = errors.New("snapshot is sealed with a passphrase")
	ErrWrongPassphrase  = errors.New("wrong passphrase for the sealed snapshot")
	ErrBadPassphrase    = errors.New("passphrase too short or too long")
)

// Snapshot is one archive in the snapshots dir.
type Snapshot struct {
	Name          string    `json:"name"`
	Size          int64     `json:"size"`
	CreatedAt     time.Time `json:"created_at"`
	Reason        string    `json:"reason"`
	Messages      int64     `json:"messages"`
	SchemaVersion int       `json:"schema_version"`
	Problem       string    `json:"problem,omitempty"`
}

// PendingRestore is a verified archive staged to replace the data at the next start.
type PendingRestore struct {
	CreatedAt       time.Time `json:"created_at"`
	ReticleVersion  string    `json:"reticle_version"`
	SchemaVersion   int       `json:"schema_version"`
	Messages        int64     `json:"messages"`
	RestartRequired bool      `json:"restart_required"`
}

// SnapshotList is GET /api/v1/snapshots.
type SnapshotList struct {
	Snapshots []Snapshot      `json:"snapshots"`
	Warning   string          `json:"warning,omitempty"`
	Pending   *PendingRestore `json:"pending_restore,omitempty"`
}

// backupRoutes: a snapshot holds the node's private keys, so downloading, deleting and restoring need
// a browser session (with CSRF on changes); listing and taking snapshots work with API tokens too.
func (s *Server) backupRoutes() []route {
	return []route{
		{http.MethodGet, "/snapshots", s.listSnapshots, ReadAccess},
		{http.MethodPost, "/snapshots", s.createSnapshot, FullAccess},
		{http.MethodGet, "/snapshots/:name", s.downloadSnapshot, SessionAccess},
		{http.MethodPost, "/snapshots/:name/sealed", s.downloadSealed, SessionAccess},
		{http.MethodDelete, "/snapshots/:name", s.deleteSnapshot, SessionAccess},
		{http.MethodPost, "/restore", s.restore, SessionAccess},
		{http.MethodDelete, "/restore", s.cancelRestore, SessionAccess},
	}
}

// restorePath is exempt from the global body limit; the handler applies Backups.MaxUpload instead.
const restorePath = "/api/v1/restore"

func (s *Server) backups() (Backups, error) {
	if s.deps.Backups == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "snapshots are not available"}
	}
	return s.deps.Backups, nil
}

func backupError(err error) error {
	switch {
	case errors.Is(err, ErrSnapshotNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no snapshot with that name"}
	case errors.Is(err, ErrBadSnapshotName):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_name", Message: "not a snapshot name"}
	case errors.Is(err, ErrArchiveTooNew):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "schema_too_new",
			Message: "the snapshot was made by a newer reticle; upgrade reticle before restoring it"}
	case errors.Is(err, ErrWrongPassphrase):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "wrong_passphrase",
			Message: "wrong passphrase: the snapshot was sealed with a different one; nothing was changed"}
	case errors.Is(err, ErrSealedArchive):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "passphrase_required",
			Message: "the snapshot is sealed with a passphrase: enter it to restore"}
	case errors.Is(err, ErrBadPassphrase):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_passphrase", Message: err.Error()}
	case errors.Is(err, ErrBadArchive):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_snapshot",
			Message: "the upload is not a complete, intact reticle snapshot; nothing was changed"}
	}
	return err
}

func (s *Server) listSnapshots(c echo.Context) error {
	b, err := s.backups()
	if err != nil {
		return err
	}
	l, err := b.ListSnapshots(c.Request().Context())
	if err != nil {
		return backupError(err)
	}
	return noStoreJSON(c, l)
}

func (s *Server) createSnapshot(c echo.Context) error {
	b, err := s.backups()
	if err != nil {
		return err
	}
	sn, err := b.CreateSnapshot(c.Request().Context())
	if err != nil {
		return backupError(err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, sn)
}

func (s *Server) downloadSnapshot(c echo.Context) error {
	b, err := s.backups()
	if err != nil {
		return err
	}
	f, sn, err := b.OpenSnapshot(c.Request().Context(), c.Param("name"))
	if err != nil {
		return backupError(err)
	}
	defer func() { _ = f.Close() }()
	h := c.Response().Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Cache-Control", "no-store")
	// The name passed the snapshot-name allow-list: ASCII letters, digits, '-' and '.'.
	h.Set("Content-Disposition", `attachment; filename="`+sn.Name+`"`)
	http.ServeContent(c.Response(), c.Request(), "", sn.CreatedAt, f)
	return nil
}

func (s *Server) deleteSnapshot(c echo.Context) error {
	b, err := s.backups()
	if err != nil {
		return err
	}
	if err := b.DeleteSnapshot(c.Request().Context(), c.Param("name")); err != nil {
		return backupError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// downloadSealed answers snapshot name encrypted with the passphrase in the JSON body, for a copy that
// leaves the machine. The passphrase travels in the body, never in a URL or header a proxy might log.
func (s *Server) downloadSealed(c echo.Context) error {
	b, err := s.backups()
	if err != nil {
		return err
	}
	var req struct {
		Passphrase string `json:"passphrase"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name := c.Param("name")
	h := c.Response().Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "no-store")
	// The name passed the snapshot-name allow-list (checked by SealSnapshot before anything is written).
	h.Set("Content-Disposition", `attachment; filename="`+name+`.age"`)
	err = b.SealSnapshot(c.Request().Context(), name, req.Passphrase, c.Response())
	if err != nil && !c.Response().Committed {
		h.Del("Content-Disposition")
		return backupError(err)
	}
	if err != nil {
		s.log.Warn("sealed snapshot download cut short", "err", err)
	}
	return nil
}

// maxPassphraseField bounds the passphrase part of a multipart restore upload.
const maxPassphraseField = 4096

// restore takes the archive as the raw request body (application/zip, or a sealed archive with no
// passphrase needed), or as multipart/form-data with a "passphrase" field before an "archive" file
// (the browser upload of a sealed archive), verifies it and stages it. The running node's data is not
// touched: the restore replaces it at the next start, so the answer says a restart is required. A
// refused archive changes nothing.
func (s *Server) restore(c echo.Context) error {
	b, err := s.backups()
	if err != nil {
		return err
	}
	limit := b.MaxUpload()
	// The archive, a passphrase field and room for the multipart headers.
	bodyLimit := limit + maxPassphraseField + 4096
	if c.Request().ContentLength > bodyLimit {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "the upload is larger than a snapshot may be"}
	}
	var body io.Reader = http.MaxBytesReader(c.Response(), c.Request().Body, bodyLimit)
	passphrase := ""
	if mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType)); mt == echo.MIMEMultipartForm {
		mr, err := c.Request().MultipartReader()
		if err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "malformed multipart upload"}
		}
		body = nil
		for body == nil {
			part, err := mr.NextPart()
			if err != nil {
				return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: `the upload has no "archive" part`}
			}
			switch part.FormName() {
			case "passphrase":
				pb, err := io.ReadAll(io.LimitReader(part, maxPassphraseField+1))
				if err != nil || len(pb) > maxPassphraseField {
					return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "the passphrase field is too long"}
				}
				passphrase = string(pb)
			case "archive":
				body = io.LimitReader(part, limit+1)
			default:
				return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "unexpected form field " + strconv.Quote(clipField(part.FormName()))}
			}
		}
	}
	p, err := b.StageRestore(c.Request().Context(), body, passphrase)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "the upload is larger than a snapshot may be"}
	}
	if err != nil {
		return backupError(err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusAccepted, p)
}

func clipField(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

func (s *Server) cancelRestore(c echo.Context) error {
	b, err := s.backups()
	if err != nil {
		return err
	}
	if err := b.CancelRestore(c.Request().Context()); err != nil {
		return backupError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
