// Package backup makes and restores snapshots of a Reticle data dir: one zip archive holding a
// consistent copy of the database (SQLite VACUUM INTO, never the live WAL), the identity files, the
// attachments and the transport state, plus manifest.json with the SHA-256 of every member and the
// schema version. Archives are written to a temp name, fsynced and renamed, so a crash never leaves a
// partial that looks valid. Reading an archive trusts nothing: members are read by an allow-list of
// names, links, devices, duplicates and oversize members are refused, hashes and the schema version are
// checked before anything is written, and a restore is staged inside the data dir and swapped in, so
// a failed restore changes nothing. Every file name that comes from a request or an archive is
// resolved inside its directory through [os.Root].
//
// May import: pkg/store, the standard library.
package backup
