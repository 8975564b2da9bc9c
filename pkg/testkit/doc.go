// Package testkit holds helpers shared by the tests of several packages (see DESIGN.md): a settable
// clock, an in-memory interface pair, and a fresh PostgreSQL schema per test store when
// RETICLE_TEST_DATABASE is set (Database). It is imported only from _test.go files, never by
// production code (the import-layer test in cmd/reticle checks this).
//
// May import: anything but pkg/web and cmd (today: the standard library, pkg/rns/iface and pgx).
package testkit
