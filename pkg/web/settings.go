package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// NodeSettings is the owner's settings behind /api/v1/settings; *app.App implements it.
type NodeSettings interface {
	GetSettings() app.SettingsView
	UpdateSettings(ctx context.Context, p app.SettingsPatch) (app.SettingsView, error)
}

var _ NodeSettings = (*app.App)(nil)

func (s *Server) settingsRoutes() []route {
	return []route{
		{http.MethodGet, "/settings", s.getSettings, ReadAccess},
		{http.MethodPatch, "/settings", s.patchSettings, FullAccess},
	}
}

func (s *Server) nodeSettings() (NodeSettings, error) {
	m, err := s.messaging()
	if err != nil {
		return nil, err
	}
	ns, ok := m.(NodeSettings)
	if !ok {
		return nil, errMessagingUnavailable
	}
	return ns, nil
}

func (s *Server) getSettings(c echo.Context) error {
	ns, err := s.nodeSettings()
	if err != nil {
		return err
	}
	return noStoreJSON(c, ns.GetSettings())
}

func (s *Server) patchSettings(c echo.Context) error {
	ns, err := s.nodeSettings()
	if err != nil {
		return err
	}
	var p app.SettingsPatch
	if err := decodeStrictJSON(c, &p, 4<<10); err != nil {
		return err
	}
	v, err := ns.UpdateSettings(c.Request().Context(), p)
	if errors.Is(err, app.ErrInvalidSetting) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_setting", Message: err.Error()}
	}
	if err != nil {
		return err
	}
	return noStoreJSON(c, v)
}
