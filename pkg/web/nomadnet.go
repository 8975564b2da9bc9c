package web

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/nomadnet/micron"
)

// Pages is the NomadNet browser behind /api/v1/nomadnet; *app.Pages implements it. With none, those
// routes answer 503.
type Pages interface {
	FetchPage(ctx context.Context, req app.PageRequest) (app.PageView, error)
	FetchFile(ctx context.Context, node, path string) (app.FileView, error)
	ListNodes(ctx context.Context, q app.NodeQuery) (app.NomadNodePage, error)
	Own(ctx context.Context) app.OwnNode
}

var _ Pages = (*app.Pages)(nil)

// nomadnetFetchLimit bounds one page or file fetch: a path request, the link, the request and a
// resource transfer over a slow mesh.
const nomadnetFetchLimit = 3 * time.Minute

// maxPageRequestBody bounds POST /nomadnet/page (form fields included).
const maxPageRequestBody = 512 << 10

func (s *Server) nomadnetRoutes() []route {
	return []route{
		{http.MethodGet, "/nomadnet/nodes", s.listNomadNodes, ReadAccess},
		{http.MethodGet, "/nomadnet/node", s.ownNomadNode, ReadAccess},
		{http.MethodPost, "/nomadnet/page", s.fetchNomadPage, FullAccess}, // a form submission may act on the remote node
		{http.MethodGet, "/nomadnet/file", s.fetchNomadFile, ReadAccess},
	}
}

var errPagesUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "nomadnet pages are not running"}

func (s *Server) pages() (Pages, error) {
	if s.deps.Pages == nil {
		return nil, errPagesUnavailable
	}
	return s.deps.Pages, nil
}

// pageError maps the pages use case's errors to statuses; the message is safe to show.
func pageError(err error) error {
	for _, m := range []struct {
		err    error
		status int
		code   string
		msg    string
	}{
		{app.ErrPageBadRequest, http.StatusBadRequest, "bad_path", "node must be 32 hex digits and path must start with /page/ or /file/, without .."},
		{app.ErrPageBadField, http.StatusBadRequest, "bad_field", "field keys must start with field_ or var_, values UTF-8 text of at most 16 KiB, at most 128 fields"},
		{app.ErrInvalidCursor, http.StatusBadRequest, "invalid_cursor", "use a next_cursor from a previous page"},
		{app.ErrPageNotFound, http.StatusNotFound, "not_found", "the node sent nothing for this path: no such page or file"},
		{app.ErrPageNotAllowed, http.StatusForbidden, "not_allowed", "the node does not allow this request"},
		{app.ErrPageNoPath, http.StatusBadGateway, "no_path", "no path to the node was found"},
		{app.ErrPageLinkFailed, http.StatusBadGateway, "link_failed", "the link to the node could not be established or broke"},
		{app.ErrPageTooLarge, http.StatusBadGateway, "too_large", "the node's response is larger than allowed"},
		{app.ErrPageBadResponse, http.StatusBadGateway, "bad_response", "the node's response could not be read"},
		{app.ErrPageTimeout, http.StatusGatewayTimeout, "timeout", "the node did not answer in time"},
		{app.ErrPagesClosed, http.StatusServiceUnavailable, "unavailable", "nomadnet pages are not running"},
	} {
		if errors.Is(err, m.err) {
			return &Error{Status: m.status, Code: m.code, Message: m.msg}
		}
	}
	return err
}

func (s *Server) listNomadNodes(c echo.Context) error {
	p, err := s.pages()
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := p.ListNodes(c.Request().Context(), app.NodeQuery{Search: c.QueryParam("q"), Cursor: c.QueryParam("cursor"), Limit: limit})
	if err != nil {
		return pageError(err)
	}
	return noStoreJSON(c, page)
}

func (s *Server) ownNomadNode(c echo.Context) error {
	p, err := s.pages()
	if err != nil {
		return err
	}
	return noStoreJSON(c, p.Own(c.Request().Context()))
}

type pageRequestBody struct {
	Node    string            `json:"node"`
	Path    string            `json:"path"`
	Fields  map[string]string `json:"fields"`
	Refresh bool              `json:"refresh"`
}

func (s *Server) fetchNomadPage(c echo.Context) error {
	p, err := s.pages()
	if err != nil {
		return err
	}
	var body pageRequestBody
	if err := decodeStrictJSON(c, &body, maxPageRequestBody); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), nomadnetFetchLimit)
	defer cancel()
	pg, err := p.FetchPage(ctx, app.PageRequest{Node: body.Node, Path: body.Path, Fields: body.Fields, Refresh: body.Refresh})
	if err != nil {
		return pageError(err)
	}
	return noStoreJSON(c, pageResponse{PageView: pg, Doc: micron.Parse([]byte(pg.Content))})
}

// pageResponse is a fetched page with its Micron source parsed into the safe tree the UI draws.
type pageResponse struct {
	app.PageView
	Doc *micron.Doc `json:"doc"`
}

// fetchNomadFile downloads a file a node serves. It is always a download (attachment,
// application/octet-stream, nosniff, a sandboxing CSP): a peer's bytes are never rendered.
func (s *Server) fetchNomadFile(c echo.Context) error {
	p, err := s.pages()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), nomadnetFetchLimit)
	defer cancel()
	f, err := p.FetchFile(ctx, c.QueryParam("node"), c.QueryParam("path"))
	if err != nil {
		return pageError(err)
	}
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set(echo.HeaderContentType, "application/octet-stream")
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(f.Data)))
	name := f.Name
	if name == "" {
		name = "download"
	}
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if cd == "" {
		cd = "attachment"
	}
	h.Set(echo.HeaderContentDisposition, cd)
	c.Response().WriteHeader(http.StatusOK)
	_, err = c.Response().Write(f.Data)
	return err
}
