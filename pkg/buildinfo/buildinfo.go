// Package buildinfo holds the version, commit and build date stamped into the binary with -ldflags, and
// knows whether this is a development build. It imports nothing outside the standard library.
//
// Release builds set them like this:
//
//	go build -ldflags "-X github.com/reticle-mesh/reticle/pkg/buildinfo.Version=v1.2.3 \
//	  -X github.com/reticle-mesh/reticle/pkg/buildinfo.Commit=abc123 \
//	  -X github.com/reticle-mesh/reticle/pkg/buildinfo.Date=2026-11-23T00:00:00Z"
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version, Commit and Date are set at link time. They are variables only so that -ldflags -X can reach
// them; nothing in the program writes them.
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// Info is a snapshot of the build metadata.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"go_version"`
	Dev       bool   `json:"dev"`
}

// Get returns the build metadata, falling back to the VCS stamp Go records when ldflags were not set.
func Get() Info {
	in := Info{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Commit == "" {
					in.Commit = s.Value
				}
			case "vcs.time":
				if in.Date == "" {
					in.Date = s.Value
				}
			}
		}
	}
	if in.Commit == "" {
		in.Commit = "unknown"
	}
	if in.Date == "" {
		in.Date = "unknown"
	}
	in.Dev = IsDev()
	return in
}

// IsDev reports whether this binary is a development build (no release version stamped in).
func IsDev() bool { return Version == "" || Version == "dev" }

// String formats the info on one line, as `reticle version` prints it.
func (i Info) String() string {
	return fmt.Sprintf("reticle %s (commit %s, built %s, %s)", i.Version, i.Commit, i.Date, i.GoVersion)
}
