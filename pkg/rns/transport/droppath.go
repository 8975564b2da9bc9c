package transport

import "github.com/reticle-mesh/reticle/pkg/rns/wire"

// DropPath forgets the path to dest, as the reference's Transport.expire_path
// does for rnpath -d; the next send or path request finds a new one. It
// reports whether a path was known.
func (t *Transport) DropPath(dest wire.Hash) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.paths[dest]; !ok {
		return false
	}
	delete(t.paths, dest)
	return true
}
