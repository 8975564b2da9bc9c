// Package ui holds Reticle's built web interface: the Vue application in this
// directory, compiled by `npm run build` into dist/ and embedded into the
// binary, so `go build` and `go install` need no Node.js. dist/ is committed
// and must be rebuilt whenever the sources under ui/ change.
//
// It imports only the standard library (embed, io/fs). pkg/web serves FS()
// with single-page-app fallback.
package ui
