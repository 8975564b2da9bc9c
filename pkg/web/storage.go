package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// StorageReporter reports the inbound storage budget, free space and refusal counters; *app.App
// implements it. With none, GET /api/v1/storage answers 503 and /readyz leaves storage out.
type StorageReporter interface {
	Storage(ctx context.Context) app.StorageInfo
}

var _ StorageReporter = (*app.App)(nil)

// errStorageFull answers any request whose work needed space the data dir does not have.
var errStorageFull = &Error{Status: http.StatusInsufficientStorage, Code: "storage_full",
	Message: "the data dir's disk is full or below its free space watermark; free some space"}

// storageError maps app.ErrStorageFull (store.ErrStorageFull, SQLITE_FULL included) to 507; other
// errors pass through. The error handler applies it to every error, so no handler can answer a full
// disk with 500.
func storageError(err error) (*Error, bool) {
	if errors.Is(err, app.ErrStorageFull) {
		return errStorageFull, true
	}
	return nil, false
}

func (s *Server) getStorage(c echo.Context) error {
	if s.deps.Storage == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "storage reporting is not running"}
	}
	return c.JSON(http.StatusOK, s.deps.Storage.Storage(c.Request().Context()))
}
