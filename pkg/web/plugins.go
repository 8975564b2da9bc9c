package web

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/plugins"
)

// Plugins is the plugin registry behind /api/v1/plugins; *plugins.Manager implements it. With none,
// those routes answer 503.
type Plugins interface {
	Install(ctx context.Context, pkg []byte) (plugins.Info, error)
	List(ctx context.Context) ([]plugins.Info, error)
	Get(ctx context.Context, id string) (plugins.Info, error)
	SetGrants(ctx context.Context, id string, caps []plugins.Capability) (plugins.Info, error)
	SetEnabled(ctx context.Context, id string, enabled bool) (plugins.Info, error)
	Remove(ctx context.Context, id string) error
	Logs(ctx context.Context, id string, limit int) ([]plugins.LogLine, []plugins.AuditEntry, error)
	Audit(ctx context.Context, limit int) ([]plugins.AuditEntry, error)
	TrustedKeys(ctx context.Context) ([]plugins.PublisherKey, error)
	TrustKey(ctx context.Context, name string, pub []byte) (plugins.PublisherKey, error)
	UntrustKey(ctx context.Context, id string) error
}

var _ Plugins = (*plugins.Manager)(nil)

// maxPluginUpload bounds an uploaded package (the module cap plus room for the zip framing).
const maxPluginUpload = plugins.DefaultMaxModuleBytes + 64<<10

func (s *Server) pluginRoutes() []route {
	return []route{
		{http.MethodGet, "/plugins", s.listPlugins, ReadAccess},
		{http.MethodPost, "/plugins", s.installPlugin, FullAccess},
		{http.MethodGet, "/plugins/audit", s.pluginAudit, ReadAccess},
		{http.MethodGet, "/plugins/publishers", s.listPublishers, ReadAccess},
		{http.MethodPost, "/plugins/publishers", s.addPublisher, FullAccess},
		{http.MethodDelete, "/plugins/publishers/:key", s.deletePublisher, FullAccess},
		{http.MethodGet, "/plugins/:id", s.getPlugin, ReadAccess},
		{http.MethodDelete, "/plugins/:id", s.deletePlugin, FullAccess},
		{http.MethodPut, "/plugins/:id/grants", s.putPluginGrants, FullAccess},
		{http.MethodPut, "/plugins/:id/enabled", s.putPluginEnabled, FullAccess},
		{http.MethodGet, "/plugins/:id/logs", s.pluginLogs, ReadAccess},
	}
}

var errPluginsUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "plugins are not running"}

func (s *Server) plugins() (Plugins, error) {
	if s.deps.Plugins == nil {
		return nil, errPluginsUnavailable
	}
	return s.deps.Plugins, nil
}

// pluginError maps the registry's errors; their messages are one line, name the reason and never hold
// a secret (a refused package's reason is what the owner needs to see).
func pluginError(err error) error {
	for _, m := range []struct {
		err    error
		status int
		code   string
	}{
		{plugins.ErrNotFound, http.StatusNotFound, "not_found"},
		{plugins.ErrInvalidManifest, http.StatusBadRequest, "invalid_manifest"},
		{plugins.ErrInvalidPackage, http.StatusBadRequest, "invalid_package"},
		{plugins.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
		{plugins.ErrUnsigned, http.StatusUnprocessableEntity, "unsigned"},
		{plugins.ErrBadSignature, http.StatusUnprocessableEntity, "bad_signature"},
		{plugins.ErrUntrustedKey, http.StatusUnprocessableEntity, "untrusted_key"},
		{plugins.ErrDowngrade, http.StatusConflict, "downgrade"},
		{plugins.ErrBadModule, http.StatusUnprocessableEntity, "bad_module"},
		{plugins.ErrBadImport, http.StatusUnprocessableEntity, "bad_import"},
		{plugins.ErrNotGranted, http.StatusConflict, "not_granted"},
		{plugins.ErrInvalidGrant, http.StatusBadRequest, "invalid_grant"},
		{plugins.ErrInvalidKey, http.StatusBadRequest, "invalid_key"},
	} {
		if errors.Is(err, m.err) {
			return &Error{Status: m.status, Code: m.code, Message: err.Error()}
		}
	}
	return err
}

func (s *Server) listPlugins(c echo.Context) error {
	p, err := s.plugins()
	if err != nil {
		return err
	}
	list, err := p.List(c.Request().Context())
	if err != nil {
		return pluginError(err)
	}
	return noStoreJSON(c, list)
}

func (s *Server) getPlugin(c echo.Context) error {
	p, err := s.plugins()
	if err != nil {
		return err
	}
	info, err := p.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return pluginError(err)
	}
	return noStoreJSON(c, info)
}

// installPlugin takes the package zip as the raw body (application/zip or application/octet-stream).
func (s *Server) installPlugin(c echo.Context) error {
	p, err := s.plugins()
	if err != nil {
		return err
	}
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt != "application/zip" && mt != "application/octet-stream" {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send the package as application/zip"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, maxPluginUpload))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "the package is too large"}
		}
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "could not read the package"}
	}
	info, err := p.Install(c.Request().Context(), body)
	if err != nil {
		return pluginError(err)
	}
	c.Response().Header().Set("Location", "/api/v1/plugins/"+info.ID)
	return c.JSON(http.StatusCreated, info)
}

func (s *Server) deletePlugin(c echo.Context) error {
	p, err := s.plugins()
	if err != nil {
		return err
	}
	if err := p.Remove(c.Request().Context(), c.Param("id")); err != nil {
		return pluginError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

type grantsRequest struct {
	Capabilities []plugins.Capability `json:"capabilities"`
}

func (s *Server) putPluginGrants(c echo.Context) error {
	p, err := s.plugins()
	if err != nil {
		return err
	}
	var req grantsRequest
	if err := decodeStrictJSON(c, &req, 4<<10); err != nil {
		return err
	}
	info, err := p.SetGrants(c.Request().Context(), c.Param("id"), req.Capabilities)
	if err != nil {
		return pluginError(err)
	}
	return c.JSON(http.StatusOK, info)
}

type enabledRequest struct {
	Enabled bool `json:"enabled"`
}

func (s *Server) putPluginEnabled(c echo.Context) error {
	p, err := s.plugins()
	if err != nil {
		return err
	}
	var req enabledRequest
	if err := decodeStrictJSON(c, &req, 1<<10); err != nil {
		return err
	}
	info, err := p.SetEnabled(c.Request().Context(), c.Param("id"), req.Enabled)
	if err != nil {
		return pluginError(err)
	}
	return c.JSON(http.StatusOK, info)
}

type pluginLogsResponse struct {
	Lines []plugins.LogLine    `json:"lines"`
	Audit []plugins.AuditEntry `json:"audit"`
}

func (s *Server) pluginLogs(c echo.Context) error {
	p, err := s.plugins()
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	lines, audit, err := p.Logs(c.Request().Context(), c.Param("id"), limit)
	if err != nil {
		return pluginError(err)
	}
	if audit == nil {
		audit = []plugins.AuditEntry{}
	}
	return noStoreJSON(c, pluginLogsResponse{Lines: lines, Audit: audit})
}

func (s *Server) pluginAudit(c echo.Context) error {
	p, err := s.plugins()
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	audit, err := p.Audit(c.Request().Context(), limit)
	if err != nil {
		return pluginError(err)
	}
	if audit == nil {
		audit = []plugins.AuditEntry{}
	}
	return noStoreJSON(c, audit)
}

type publisherJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Kind         string `json:"kind"`                     // ed25519 or cosign
	PublicKey    string `json:"public_key,omitempty"`     // ed25519: base64
	PublicKeyPEM string `json:"public_key_pem,omitempty"` // cosign: PEM
	AddedAt      int64  `json:"added_at"`
}

func publisherView(k plugins.PublisherKey) publisherJSON {
	out := publisherJSON{ID: k.ID, Name: k.Name, Kind: k.Kind(), AddedAt: k.Added}
	if out.Kind == plugins.KeyEd25519 {
		out.PublicKey = base64.StdEncoding.EncodeToString(k.Key)
	} else {
		out.PublicKeyPEM = string(k.Key)
	}
	return out
}

func (s *Server) listPublishers(c echo.Context) error {
	p, err := s.plugins()
	if err != nil {
		return err
	}
	keys, err := p.TrustedKeys(c.Request().Context())
	if err != nil {
		return pluginError(err)
	}
	out := make([]publisherJSON, len(keys))
	for i, k := range keys {
		out[i] = publisherView(k)
	}
	return noStoreJSON(c, out)
}

type addPublisherRequest struct {
	Name         string `json:"name"`
	PublicKey    string `json:"public_key"`     // base64 of the 32-byte ed25519 key
	PublicKeyPEM string `json:"public_key_pem"` // or a cosign public key (cosign.pub)
}

func (s *Server) addPublisher(c echo.Context) error {
	p, err := s.plugins()
	if err != nil {
		return err
	}
	var req addPublisherRequest
	if err := decodeStrictJSON(c, &req, 2<<10); err != nil {
		return err
	}
	var pub []byte
	switch {
	case (req.PublicKey == "") == (req.PublicKeyPEM == ""):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_key", Message: "give public_key (ed25519, base64) or public_key_pem (cosign), not both"}
	case req.PublicKeyPEM != "":
		pub = []byte(req.PublicKeyPEM)
		if len(pub) == 32 { // 32 bytes of PEM is no PEM; never read as an ed25519 key
			return &Error{Status: http.StatusBadRequest, Code: "invalid_key", Message: "public_key_pem is not a PEM public key"}
		}
	default:
		var err error
		if pub, err = base64.StdEncoding.DecodeString(req.PublicKey); err != nil || len(pub) != 32 {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_key", Message: "public_key must be the base64 of a 32-byte ed25519 key"}
		}
	}
	k, err := p.TrustKey(c.Request().Context(), req.Name, pub)
	if err != nil {
		return pluginError(err)
	}
	return c.JSON(http.StatusCreated, publisherView(k))
}

func (s *Server) deletePublisher(c echo.Context) error {
	p, err := s.plugins()
	if err != nil {
		return err
	}
	if err := p.UntrustKey(c.Request().Context(), c.Param("key")); err != nil {
		return pluginError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
