package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// asset is one file of the built UI, read once at start.
type asset struct {
	body  []byte
	etag  string
	ctype string
}

// loadAssets reads the embedded UI into memory (it is a few hundred KiB) so that serving is a map lookup.
func loadAssets(ui fs.FS) (map[string]asset, error) {
	out := map[string]asset{}
	err := fs.WalkDir(ui, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(ui, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = http.DetectContentType(b)
		}
		out[p] = asset{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: ct}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load ui: %w", err)
	}
	if _, ok := out["index.html"]; !ok {
		return nil, fmt.Errorf("load ui: index.html missing from the embedded build")
	}
	return out, nil
}

// static serves the UI: hashed files under assets/ with a year-long immutable cache, other files and the
// SPA fallback (index.html for any extension-less path) revalidated on every load. Paths under /api never
// fall back to the UI; they are answered with a JSON 404.
func (s *Server) static(assets map[string]asset) echo.HandlerFunc {
	return func(c echo.Context) error {
		clean := path.Clean("/" + c.Request().URL.Path)
		lower := strings.ToLower(clean)
		if lower == "/api" || strings.HasPrefix(lower, "/api/") {
			return echo.ErrNotFound
		}
		name := strings.TrimPrefix(clean, "/")
		a, ok := assets[name]
		cache := "no-cache"
		switch {
		case ok && strings.HasPrefix(name, "assets/"):
			cache = "public, max-age=31536000, immutable"
		case ok:
		case name == "" || path.Ext(name) == "":
			a = assets["index.html"]
		default:
			return echo.ErrNotFound
		}
		h := c.Response().Header()
		h.Set("Cache-Control", cache)
		h.Set("ETag", a.etag)
		if match := c.Request().Header.Get("If-None-Match"); match != "" && match == a.etag {
			return c.NoContent(http.StatusNotModified)
		}
		if c.Request().Method == http.MethodHead {
			h.Set(echo.HeaderContentType, a.ctype)
			return c.NoContent(http.StatusOK)
		}
		return c.Blob(http.StatusOK, a.ctype, a.body)
	}
}
