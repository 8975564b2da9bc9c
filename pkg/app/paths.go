package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// ErrNoPath means no path to the destination is known.
var ErrNoPath = errors.New("no path known")

// PathInfo is one path table entry as the API shows it.
type PathInfo struct {
	Destination string    `json:"destination"`
	NextHop     string    `json:"next_hop"`
	Hops        int       `json:"hops"`
	Interface   string    `json:"interface"`
	Updated     time.Time `json:"updated"`
	Expires     time.Time `json:"expires"`
}

func parseDestination(dest string) (wire.Hash, error) {
	h, err := wire.ParseHash(dest)
	if err != nil {
		return wire.Hash{}, fmt.Errorf("%w: destination %q", ErrInvalidAddress, dest)
	}
	return h, nil
}

// Paths returns every known path, fewest hops first.
func (n *Network) Paths(context.Context) []PathInfo {
	ps := n.node.Transport().Paths()
	out := make([]PathInfo, 0, len(ps))
	for _, p := range ps {
		out = append(out, PathInfo{Destination: p.Destination.String(), NextHop: p.NextHop.String(), Hops: int(p.Hops),
			Interface: p.Interface, Updated: p.Updated.UTC(), Expires: p.Expires.UTC()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Hops != out[j].Hops {
			return out[i].Hops < out[j].Hops
		}
		return out[i].Destination < out[j].Destination
	})
	return out
}

// Path shows the path to a destination (32 hex digits), or ErrNoPath.
func (n *Network) Path(_ context.Context, dest string) (PathInfo, error) {
	h, err := parseDestination(dest)
	if err != nil {
		return PathInfo{}, err
	}
	p, ok := n.node.Transport().Path(h)
	if !ok {
		return PathInfo{}, fmt.Errorf("%w: %s", ErrNoPath, h)
	}
	return PathInfo{Destination: h.String(), NextHop: p.NextHop.String(), Hops: int(p.Hops), Interface: p.Interface,
		Updated: p.Updated.UTC(), Expires: p.Expires.UTC()}, nil
}

// RequestPath asks the network for a path to a destination; the answer arrives as an announce.
func (n *Network) RequestPath(_ context.Context, dest string) error {
	h, err := parseDestination(dest)
	if err != nil {
		return err
	}
	if err := n.node.RequestPath(h); err != nil {
		return fmt.Errorf("%w: %w", ErrNotConnected, err)
	}
	return nil
}

// DropPath forgets the path to a destination, or returns ErrNoPath.
func (n *Network) DropPath(_ context.Context, dest string) error {
	h, err := parseDestination(dest)
	if err != nil {
		return err
	}
	if !n.node.Transport().DropPath(h) {
		return fmt.Errorf("%w: %s", ErrNoPath, h)
	}
	return nil
}
