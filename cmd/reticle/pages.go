package main

import (
	"context"
	"errors"
	"strings"

	"github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/nomadnet"
	"github.com/reticle-mesh/reticle/pkg/plugins"
	"github.com/reticle-mesh/reticle/pkg/web"
)

// pluginPages serves the pages of the running plugins with pages.serve through Reticle's NomadNet
// node: each plugin owns the paths at and below its page_prefix.
type pluginPages struct{ mg *plugins.Manager }

var _ nomadnet.PageSource = pluginPages{}

func prefixOwns(prefix, path string) bool {
	return path == prefix || strings.HasPrefix(path, strings.TrimSuffix(prefix, "/")+"/")
}

func (pp pluginPages) Owns(path string) bool {
	for _, pre := range pp.mg.PagePrefixes() {
		if prefixOwns(pre, path) {
			return true
		}
	}
	return false
}

// Roots are each prefix and the index below it; pages linked from those are found when served.
func (pp pluginPages) Roots() []string {
	var out []string
	for _, pre := range pp.mg.PagePrefixes() {
		out = append(out, pre)
		if !strings.HasSuffix(pre, ".mu") {
			out = append(out, strings.TrimSuffix(pre, "/")+"/index.mu")
		}
	}
	return out
}

func (pp pluginPages) ServePage(ctx context.Context, req nomadnet.PageRequest) ([]byte, error) {
	b, err := pp.mg.ServePage(ctx, plugins.PageRequest{Path: req.Path, Form: req.Fields, RemoteID: req.RemoteIdentity})
	if errors.Is(err, plugins.ErrNoPage) {
		return nil, nomadnet.ErrNotFound
	}
	return b, err
}

// pluginsAPI is the plugin registry the web API drives; a change that can start or stop a plugin
// re-reads the node's page paths at once, so its pages answer without waiting for the next refresh.
type pluginsAPI struct {
	*plugins.Manager
	pages *app.Pages
}

var _ web.Plugins = pluginsAPI{}

func (p pluginsAPI) SetGrants(ctx context.Context, id string, caps []plugins.Capability) (plugins.Info, error) {
	defer p.pages.Refresh()
	return p.Manager.SetGrants(ctx, id, caps)
}

func (p pluginsAPI) SetEnabled(ctx context.Context, id string, enabled bool) (plugins.Info, error) {
	defer p.pages.Refresh()
	return p.Manager.SetEnabled(ctx, id, enabled)
}

func (p pluginsAPI) Remove(ctx context.Context, id string) error {
	defer p.pages.Refresh()
	return p.Manager.Remove(ctx, id)
}

func (p pluginsAPI) Install(ctx context.Context, pkg []byte) (plugins.Info, error) {
	defer p.pages.Refresh()
	return p.Manager.Install(ctx, pkg)
}
