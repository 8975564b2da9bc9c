package rns

import (
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/rns/link"
)

// NewLinks builds the link layer on the node's transport. opts.Transport
// is set to the node's; logger and clock default to the node's. The caller
// starts the returned manager (after or before Node.Start) and closes it
// before Node.Close.
func (n *Node) NewLinks(opts link.Options) (*link.Manager, error) {
	opts.Transport = n.tr
	if opts.Logger == nil {
		opts.Logger = n.log.With("component", "link")
	}
	if opts.Clock == nil && n.opts.Clock != nil {
		opts.Clock = n.opts.Clock
	}
	m, err := link.New(opts)
	if err != nil {
		return nil, fmt.Errorf("new links: %w", err)
	}
	return m, nil
}
