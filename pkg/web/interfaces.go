package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// Network is the interface and path use cases behind /api/v1/interfaces and /api/v1/paths; *app.Network
// implements it. With none, those routes answer 503.
type Network interface {
	ListInterfaces(ctx context.Context) ([]app.InterfaceInfo, error)
	GetInterface(ctx context.Context, id string) (app.InterfaceInfo, error)
	CreateInterface(ctx context.Context, req app.InterfaceRequest) (app.InterfaceInfo, error)
	UpdateInterface(ctx context.Context, id string, req app.InterfaceRequest) (app.InterfaceInfo, error)
	DeleteInterface(ctx context.Context, id string) error
	PathsPage(ctx context.Context, limit int, cursor string) (app.PathPage, error)
	Path(ctx context.Context, dest string) (app.PathInfo, error)
	RequestPath(ctx context.Context, dest string) error
	DropPath(ctx context.Context, dest string) error
}

var _ Network = (*app.Network)(nil)

// maxInterfaceBody bounds an interface request body.
const maxInterfaceBody = 8 << 10

// networkRoutes: reads need ReadAccess, changes FullAccess.
func (s *Server) networkRoutes() []route {
	return []route{
		{http.MethodGet, "/interfaces", s.listInterfaces, ReadAccess},
		{http.MethodPost, "/interfaces", s.createInterface, FullAccess},
		{http.MethodGet, "/interfaces/:id", s.getInterface, ReadAccess},
		{http.MethodPatch, "/interfaces/:id", s.patchInterface, FullAccess},
		{http.MethodDelete, "/interfaces/:id", s.deleteInterface, FullAccess},
		{http.MethodGet, "/paths", s.listPaths, ReadAccess},
		{http.MethodGet, "/paths/:destination", s.getPath, ReadAccess},
		{http.MethodPost, "/paths/:destination", s.requestPath, FullAccess},
		{http.MethodDelete, "/paths/:destination", s.dropPath, FullAccess},
	}
}

var errNetworkUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the mesh node is not running"}

func (s *Server) network() (Network, error) {
	if s.deps.Network == nil {
		return nil, errNetworkUnavailable
	}
	return s.deps.Network, nil
}

// networkError maps the app's interface and path errors; their messages are one line, name the field
// and never hold a secret.
func networkError(err error) error {
	for _, m := range []struct {
		err    error
		status int
		code   string
	}{
		{app.ErrInvalidInterface, http.StatusBadRequest, "invalid_interface"},
		{app.ErrInvalidAddress, http.StatusBadRequest, "invalid_address"},
		{app.ErrPortInUse, http.StatusConflict, "port_in_use"},
		{app.ErrInterfaceExists, http.StatusConflict, "name_taken"},
		{app.ErrInterfaceReadOnly, http.StatusConflict, "read_only"},
		{app.ErrInterfaceNotFound, http.StatusNotFound, "not_found"},
		{app.ErrNoPath, http.StatusNotFound, "no_path"},
	} {
		if errors.Is(err, m.err) {
			return &Error{Status: m.status, Code: m.code, Message: err.Error()}
		}
	}
	if errors.Is(err, app.ErrNotConnected) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "not_connected", Message: "no interface is connected"}
	}
	return err
}

func (s *Server) listInterfaces(c echo.Context) error {
	n, err := s.network()
	if err != nil {
		return err
	}
	list, err := n.ListInterfaces(c.Request().Context())
	if err != nil {
		return networkError(err)
	}
	return noStoreJSON(c, list)
}

func (s *Server) getInterface(c echo.Context) error {
	n, err := s.network()
	if err != nil {
		return err
	}
	info, err := n.GetInterface(c.Request().Context(), c.Param("id"))
	if err != nil {
		return networkError(err)
	}
	return noStoreJSON(c, info)
}

func (s *Server) createInterface(c echo.Context) error {
	n, err := s.network()
	if err != nil {
		return err
	}
	var req app.InterfaceRequest
	if err := decodeStrictJSON(c, &req, maxInterfaceBody); err != nil {
		return err
	}
	info, err := n.CreateInterface(c.Request().Context(), req)
	if err != nil {
		return networkError(err)
	}
	c.Response().Header().Set("Location", "/api/v1/interfaces/"+info.ID)
	return c.JSON(http.StatusCreated, info)
}

func (s *Server) patchInterface(c echo.Context) error {
	n, err := s.network()
	if err != nil {
		return err
	}
	var req app.InterfaceRequest
	if err := decodeStrictJSON(c, &req, maxInterfaceBody); err != nil {
		return err
	}
	info, err := n.UpdateInterface(c.Request().Context(), c.Param("id"), req)
	if err != nil {
		return networkError(err)
	}
	return c.JSON(http.StatusOK, info)
}

func (s *Server) deleteInterface(c echo.Context) error {
	n, err := s.network()
	if err != nil {
		return err
	}
	if err := n.DeleteInterface(c.Request().Context(), c.Param("id")); err != nil {
		return networkError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listPaths(c echo.Context) error {
	n, err := s.network()
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := n.PathsPage(c.Request().Context(), limit, c.QueryParam("cursor"))
	if err != nil {
		return messagingError(err)
	}
	return noStoreJSON(c, page)
}

func (s *Server) getPath(c echo.Context) error {
	n, err := s.network()
	if err != nil {
		return err
	}
	p, err := n.Path(c.Request().Context(), c.Param("destination"))
	if err != nil {
		return networkError(err)
	}
	return noStoreJSON(c, p)
}

func (s *Server) requestPath(c echo.Context) error {
	n, err := s.network()
	if err != nil {
		return err
	}
	if err := n.RequestPath(c.Request().Context(), c.Param("destination")); err != nil {
		return networkError(err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"status": "requested"})
}

func (s *Server) dropPath(c echo.Context) error {
	n, err := s.network()
	if err != nil {
		return err
	}
	if err := n.DropPath(c.Request().Context(), c.Param("destination")); err != nil {
		return networkError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
