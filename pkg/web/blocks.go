package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// Blocking is the blocklist behind /api/v1/blocks; *app.App implements it.
type Blocking interface {
	Block(ctx context.Context, address string, deleteConversation bool) (app.BlockInfo, error)
	Unblock(ctx context.Context, identityOrAddress string) error
	ListBlocks(ctx context.Context) ([]app.BlockInfo, error)
	IsBlocked(ctx context.Context, address string) (bool, error)
}

var _ Blocking = (*app.App)(nil)

func (s *Server) blockRoutes() []route {
	return []route{
		{http.MethodGet, "/blocks", s.getBlocks, ReadAccess},
		{http.MethodGet, "/blocks/:id", s.getBlock, ReadAccess},
		{http.MethodPost, "/blocks", s.postBlock, FullAccess},
		{http.MethodDelete, "/blocks/:id", s.deleteBlock, FullAccess},
	}
}

func (s *Server) blocking() (Blocking, error) {
	m, err := s.messaging()
	if err != nil {
		return nil, err
	}
	b, ok := m.(Blocking)
	if !ok {
		return nil, errMessagingUnavailable
	}
	return b, nil
}

func (s *Server) getBlocks(c echo.Context) error {
	b, err := s.blocking()
	if err != nil {
		return err
	}
	list, err := b.ListBlocks(c.Request().Context())
	if err != nil {
		return err
	}
	return noStoreJSON(c, map[string]any{"items": list})
}

// getBlock answers whether the identity behind an address (or an identity hash) is blocked; the
// conversation header shows Block or Unblock from it.
func (s *Server) getBlock(c echo.Context) error {
	b, err := s.blocking()
	if err != nil {
		return err
	}
	blocked, err := b.IsBlocked(c.Request().Context(), c.Param("id"))
	if err != nil {
		return blockError(err)
	}
	return noStoreJSON(c, map[string]any{"id": c.Param("id"), "blocked": blocked})
}

type blockRequest struct {
	Address            string `json:"address"`
	DeleteConversation bool   `json:"delete_conversation"`
}

func (s *Server) postBlock(c echo.Context) error {
	b, err := s.blocking()
	if err != nil {
		return err
	}
	var req blockRequest
	if err := decodeStrictJSON(c, &req, 4<<10); err != nil {
		return err
	}
	info, err := b.Block(c.Request().Context(), req.Address, req.DeleteConversation)
	if err != nil {
		return blockError(err)
	}
	return c.JSON(http.StatusCreated, info)
}

func (s *Server) deleteBlock(c echo.Context) error {
	b, err := s.blocking()
	if err != nil {
		return err
	}
	if err := b.Unblock(c.Request().Context(), c.Param("id")); err != nil {
		return blockError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func blockError(err error) error {
	switch {
	case errors.Is(err, app.ErrUnknownIdentity):
		return &Error{Status: http.StatusConflict, Code: "unknown_identity", Message: app.ErrUnknownIdentity.Error()}
	case errors.Is(err, app.ErrBlocklistFull):
		return &Error{Status: http.StatusConflict, Code: "too_many", Message: "the blocklist is full"}
	}
	return messagingError(err)
}
