package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// Propagation is the LXMF propagation use cases behind /api/v1/propagation; *app.App implements it. The
// messaging dependency provides it when it implements this interface; otherwise the routes answer 503.
type Propagation interface {
	Propagation(ctx context.Context) (app.PropagationInfo, error)
	SetPropagationNode(ctx context.Context, address string) error
	StartSync(ctx context.Context) error
	CancelSync()
}

var _ Propagation = (*app.App)(nil)

// propagationRoutes: reads need ReadAccess, changes FullAccess.
func (s *Server) propagationRoutes() []route {
	return []route{
		{http.MethodGet, "/propagation", s.getPropagation, ReadAccess},
		{http.MethodPut, "/propagation/node", s.putPropagationNode, FullAccess},
		{http.MethodPost, "/propagation/sync", s.postPropagationSync, FullAccess},
		{http.MethodDelete, "/propagation/sync", s.deletePropagationSync, FullAccess},
	}
}

var errPropagationUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "propagation is not available"}

func (s *Server) propagation() (Propagation, error) {
	p, ok := s.deps.Messaging.(Propagation)
	if !ok || p == nil {
		return nil, errPropagationUnavailable
	}
	return p, nil
}

// propagationError maps the app's propagation errors; anything else stays internal.
func propagationError(err error) error {
	switch {
	case errors.Is(err, app.ErrPropagationUnavailable):
		return errPropagationUnavailable
	case errors.Is(err, app.ErrInvalidAddress):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_address", Message: err.Error()}
	case errors.Is(err, app.ErrNoPropagationNode):
		return &Error{Status: http.StatusConflict, Code: "no_propagation_node", Message: "choose a propagation node first"}
	case errors.Is(err, app.ErrSyncRunning):
		return &Error{Status: http.StatusConflict, Code: "sync_running", Message: "a sync is already running"}
	}
	return err
}

func (s *Server) getPropagation(c echo.Context) error {
	p, err := s.propagation()
	if err != nil {
		return err
	}
	info, err := p.Propagation(c.Request().Context())
	if err != nil {
		return propagationError(err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, info)
}

// propagationNodeRequest chooses a node; an empty address clears the choice.
type propagationNodeRequest struct {
	Address string `json:"address"`
}

func (s *Server) putPropagationNode(c echo.Context) error {
	p, err := s.propagation()
	if err != nil {
		return err
	}
	var req propagationNodeRequest
	if err := decodeStrictJSON(c, &req, 4<<10); err != nil {
		return err
	}
	if err := p.SetPropagationNode(c.Request().Context(), req.Address); err != nil {
		return propagationError(err)
	}
	info, err := p.Propagation(c.Request().Context())
	if err != nil {
		return propagationError(err)
	}
	return c.JSON(http.StatusOK, info)
}

func (s *Server) postPropagationSync(c echo.Context) error {
	p, err := s.propagation()
	if err != nil {
		return err
	}
	if err := p.StartSync(c.Request().Context()); err != nil {
		return propagationError(err)
	}
	info, err := p.Propagation(c.Request().Context())
	if err != nil {
		return propagationError(err)
	}
	return c.JSON(http.StatusAccepted, info)
}

func (s *Server) deletePropagationSync(c echo.Context) error {
	p, err := s.propagation()
	if err != nil {
		return err
	}
	p.CancelSync()
	return c.NoContent(http.StatusNoContent)
}
