package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
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

// PathPage is one page of known paths, fewest hops first.
type PathPage struct {
	Items      []PathInfo `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

// PathsPage returns at most limit (clamped like every list) paths after cursor, the next_cursor of the
// previous page ("" for the first): the path table holds up to tens of thousands of entries.
func (n *Network) PathsPage(ctx context.Context, limit int, cursor string) (PathPage, error) {
	return pagePaths(n.Paths(ctx), limit, cursor)
}

// pagePaths cuts one page from paths sorted as Paths sorts them.
func pagePaths(all []PathInfo, limit int, cursor string) (PathPage, error) {
	start := 0
	if cursor != "" {
		hops, dest, ok := strings.Cut(cursor, ":")
		h, err := strconv.Atoi(hops)
		if !ok || err != nil {
			return PathPage{}, fmt.Errorf("%w: use a next_cursor from a previous page", ErrInvalidCursor)
		}
		start = sort.Search(len(all), func(i int) bool {
			return all[i].Hops > h || (all[i].Hops == h && all[i].Destination > dest)
		})
	}
	end := min(start+ClampLimit(limit), len(all))
	page := PathPage{Items: all[start:end]}
	if end < len(all) {
		last := all[end-1]
		c := strconv.Itoa(last.Hops) + ":" + last.Destination
		page.NextCursor = &c
	}
	return page, nil
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
