package web

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/auth"
)

// Identities keeps several LXMF identities, each with its own data (conversations, contacts, settings,
// attachments), and switches the active one by restarting the node on it. cmd/reticle implements it.
type Identities interface {
	List(ctx context.Context) ([]IdentityEntry, error)
	// Import adds an identity from a reference 64-byte key file; Create makes a new one.
	Import(ctx context.Context, name string, key []byte) (IdentityEntry, error)
	Create(ctx context.Context, name string) (IdentityEntry, error)
	// Switch schedules a restart on the identity and returns; the owner stays logged in.
	Switch(ctx context.Context, address string) error
}

// IdentityEntry is one identity the node keeps.
type IdentityEntry struct {
	Address string    `json:"address"`
	Name    string    `json:"name"`
	Active  bool      `json:"active"`
	Home    bool      `json:"home"` // the data dir's own identity (the first one)
	Created time.Time `json:"created_at"`
}

// Errors an Identities implementation returns; the routes map them.
var (
	ErrIdentityExists      = errors.New("this identity is already kept here")
	ErrIdentityNotFound    = errors.New("no such identity")
	ErrInvalidIdentityKey  = errors.New("not an identity key file (64 bytes: the X25519 and Ed25519 private keys)")
	ErrIdentityActive      = errors.New("this identity is already the active one")
	ErrIdentitiesForbidden = errors.New("keeping several identities needs the SQLite store (with PostgreSQL, run one node per identity, each with its own database)")
)

func (s *Server) identitiesRoutes() []route {
	return []route{
		{http.MethodGet, "/identities", s.listIdentities, ReadAccess},
		// Adding and switching identities are owner actions in a browser session, with the password again.
		{http.MethodPost, "/identities", s.addIdentity, SessionAccess},
		{http.MethodPost, "/identities/:address/activate", s.activateIdentity, SessionAccess},
	}
}

var errIdentitiesUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "identities are not available"}

func identitiesError(err error) error {
	for _, m := range []struct {
		err    error
		status int
		code   string
	}{
		{ErrIdentityExists, http.StatusConflict, "exists"},
		{ErrIdentityNotFound, http.StatusNotFound, "not_found"},
		{ErrInvalidIdentityKey, http.StatusBadRequest, "invalid_key"},
		{ErrIdentityActive, http.StatusConflict, "already_active"},
		{ErrIdentitiesForbidden, http.StatusConflict, "not_supported"},
	} {
		if errors.Is(err, m.err) {
			return &Error{Status: m.status, Code: m.code, Message: err.Error()}
		}
	}
	return err
}

func (s *Server) listIdentities(c echo.Context) error {
	if s.deps.Identities == nil {
		return errIdentitiesUnavailable
	}
	list, err := s.deps.Identities.List(c.Request().Context())
	if err != nil {
		return identitiesError(err)
	}
	return noStoreJSON(c, map[string]any{"items": list})
}

// confirm re-checks the owner password of a dangerous action (identity export, add, switch). A wrong
// one is 403, not 401: the session is fine, only the confirmation failed.
func (s *Server) confirm(c echo.Context, password, what string) error {
	pc, ok := s.deps.Auth.(PasswordConfirmer)
	if !ok {
		return errIdentitiesUnavailable
	}
	if err := pc.ConfirmPassword(c.Request().Context(), s.client(c), password); err != nil {
		if errors.Is(err, auth.ErrBadCredentials) {
			return &Error{Status: http.StatusForbidden, Code: "wrong_password", Message: "wrong password: " + what}
		}
		return authErr(err)
	}
	return nil
}

func (s *Server) addIdentity(c echo.Context) error {
	if s.deps.Identities == nil {
		return errIdentitiesUnavailable
	}
	var in struct {
		Password string `json:"password"`
		Name     string `json:"name"`
		Key      string `json:"key"` // base64 of the 64-byte key file; empty makes a new identity
	}
	if err := decodeStrictJSON(c, &in, 8<<10); err != nil {
		return err
	}
	if len(in.Name) > 64 || !utf8.ValidString(in.Name) || strings.ContainsFunc(in.Name, unicode.IsControl) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_name", Message: "name must be one line of text of at most 64 bytes"}
	}
	var key []byte
	if in.Key != "" {
		var err error
		if key, err = base64.StdEncoding.DecodeString(in.Key); err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_key", Message: "key must be the base64 of the key file"}
		}
	}
	if err := s.confirm(c, in.Password, "no identity was added"); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var e IdentityEntry
	var err error
	if key != nil {
		e, err = s.deps.Identities.Import(ctx, in.Name, key)
	} else {
		e, err = s.deps.Identities.Create(ctx, in.Name)
	}
	if err != nil {
		return identitiesError(err)
	}
	s.log.Info("identity added", "address", e.Address, "imported", key != nil)
	return c.JSON(http.StatusCreated, e)
}

func (s *Server) activateIdentity(c echo.Context) error {
	if s.deps.Identities == nil {
		return errIdentitiesUnavailable
	}
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeStrictJSON(c, &in, 4<<10); err != nil {
		return err
	}
	if err := s.confirm(c, in.Password, "the identity was not switched"); err != nil {
		return err
	}
	addr := c.Param("address")
	if err := s.deps.Identities.Switch(c.Request().Context(), addr); err != nil {
		return identitiesError(err)
	}
	s.log.Warn("switching identity: the node restarts", "address", addr)
	return c.JSON(http.StatusAccepted, map[string]any{"address": addr, "restarting": true})
}
