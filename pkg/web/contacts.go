package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// Contacts is the owner's address book behind /api/v1/contacts; *app.App implements it.
type Contacts interface {
	ListContacts(ctx context.Context, q app.ContactQuery) (app.ContactPage, error)
	GetContact(ctx context.Context, address string) (app.ContactInfo, error)
	PutContact(ctx context.Context, address string, p app.ContactPatch) (app.ContactInfo, bool, error)
	DeleteContact(ctx context.Context, address string) error
	ExportContacts(ctx context.Context) (app.ContactsFile, error)
	ImportContacts(ctx context.Context, data []byte) (app.ImportResult, error)
}

var _ Contacts = (*app.App)(nil)

func (s *Server) contactRoutes() []route {
	return []route{
		{http.MethodGet, "/contacts", s.getContacts, ReadAccess},
		{http.MethodGet, "/contacts/export", s.exportContacts, ReadAccess},
		{http.MethodPost, "/contacts/import", s.importContacts, FullAccess},
		{http.MethodGet, "/contacts/:address", s.getContact, ReadAccess},
		{http.MethodPut, "/contacts/:address", s.putContact, FullAccess},
		{http.MethodDelete, "/contacts/:address", s.deleteContact, FullAccess},
	}
}

func (s *Server) contactBook() (Contacts, error) {
	m, err := s.messaging()
	if err != nil {
		return nil, err
	}
	cs, ok := m.(Contacts)
	if !ok {
		return nil, errMessagingUnavailable
	}
	return cs, nil
}

func (s *Server) getContacts(c echo.Context) error {
	cs, err := s.contactBook()
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := cs.ListContacts(c.Request().Context(), app.ContactQuery{Cursor: c.QueryParam("cursor"), Search: c.QueryParam("q"), Limit: limit})
	if err != nil {
		return contactError(err)
	}
	return noStoreJSON(c, page)
}

func (s *Server) getContact(c echo.Context) error {
	cs, err := s.contactBook()
	if err != nil {
		return err
	}
	v, err := cs.GetContact(c.Request().Context(), c.Param("address"))
	if err != nil {
		return contactError(err)
	}
	return noStoreJSON(c, v)
}

func (s *Server) putContact(c echo.Context) error {
	cs, err := s.contactBook()
	if err != nil {
		return err
	}
	var p app.ContactPatch
	if err := decodeStrictJSON(c, &p, 16<<10); err != nil {
		return err
	}
	v, created, err := cs.PutContact(c.Request().Context(), c.Param("address"), p)
	if err != nil {
		return contactError(err)
	}
	if created {
		return c.JSON(http.StatusCreated, v)
	}
	return noStoreJSON(c, v)
}

func (s *Server) deleteContact(c echo.Context) error {
	cs, err := s.contactBook()
	if err != nil {
		return err
	}
	if err := cs.DeleteContact(c.Request().Context(), c.Param("address")); err != nil {
		return contactError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// exportContacts downloads every contact as a JSON file that import takes back.
func (s *Server) exportContacts(c echo.Context) error {
	cs, err := s.contactBook()
	if err != nil {
		return err
	}
	f, err := cs.ExportContacts(c.Request().Context())
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="reticle-contacts-`+time.Now().UTC().Format("20060102")+`.json"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, append(b, '\n'))
}

// importContacts merges an export file (the request body) into the contacts, all or nothing.
func (s *Server) importContacts(c echo.Context) error {
	cs, err := s.contactBook()
	if err != nil {
		return err
	}
	b, err := readJSONBody(c, app.MaxContactsImportBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
				Message: "a contacts file is at most " + strconv.Itoa(app.MaxContactsImportBytes>>20) + " MiB"}
		}
		return err
	}
	res, err := cs.ImportContacts(c.Request().Context(), b)
	if err != nil {
		return contactError(err)
	}
	return noStoreJSON(c, res)
}

func contactError(err error) error {
	switch {
	case errors.Is(err, app.ErrInvalidContact):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_contact", Message: err.Error()}
	case errors.Is(err, app.ErrContactsFull):
		return &Error{Status: http.StatusConflict, Code: "too_many", Message: err.Error()}
	case errors.Is(err, app.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such contact"}
	}
	return messagingError(err)
}
