package ui

import (
	"embed"
	"io/fs"
)

// dist is the Vite build output. The all: prefix keeps files whose names
// start with "." or "_" (Vite may emit chunks such as _plugin-vue_*.js).
//
//go:embed all:dist
var dist embed.FS

// FS returns the built UI rooted at dist/: "index.html" is at the top, hashed
// JavaScript and CSS are under "assets/". The result is read-only and safe
// for concurrent use.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "dist" is valid.
		panic("ui: " + err.Error())
	}
	return sub
}
