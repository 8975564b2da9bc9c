package web

import (
	"context"
	"errors"
	"io"
	"net/http"
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
	// StageRestore verifies the uploaded archive completely and stages it; the next start applies it.
	StageRestore(ctx context.Context, r io.Reader) (PendingRestore, error)
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

// restore takes the archive as the raw request body (application/zip), verifies it and stages it. The
// running node's data is not touched: the restore replaces it at the next start, so the answer says a
// restart is required. A refused archive changes nothing.
func (s *Server) restore(c echo.Context) error {
	b, err := s.backups()
	if err != nil {
		return err
	}
	limit := b.MaxUpload()
	if c.Request().ContentLength > limit {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "the upload is larger than a snapshot may be"}
	}
	body := http.MaxBytesReader(c.Response(), c.Request().Body, limit)
	p, err := b.StageRestore(c.Request().Context(), body)
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
