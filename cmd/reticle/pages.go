package main

import (
	"context"
	"errors"
	"strings"

	"github.com/reticle-mesh/reticle/pkg/nomadnet"
	"github.com/reticle-mesh/reticle/pkg/plugins"
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
