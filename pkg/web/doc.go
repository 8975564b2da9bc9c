// Package web is Reticle's HTTP face and the only package that imports Echo: routes and handlers, the
// security headers and CSP on every response, the trusted-proxy client IP, the auth middleware slot,
// JSON errors that never leak internals, the embedded UI with SPA fallback, and the http.Server with its
// timeouts. It maps errors from the layers below to HTTP status codes; nothing below it knows about HTTP.
//
// May import: app, auth, integrity, plugins, buildinfo, ui, echo/v4, the standard library.
package web
