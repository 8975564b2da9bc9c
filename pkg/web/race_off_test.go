//go:build !race

package web

// raceEnabled scales load tests down under the race detector, which slows the pure-Go SQLite tenfold.
const raceEnabled = false
