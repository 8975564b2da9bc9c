// Package testkit holds helpers shared by the tests of several packages (see DESIGN.md): a settable
// clock and an in-memory interface pair. It is imported only from _test.go files, never by production
// code (the import-layer test in cmd/reticle checks this).
//
// May import: anything but pkg/web and cmd (today: the standard library and pkg/rns/iface).
package testkit
