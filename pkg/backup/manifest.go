package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Format identifies a Reticle snapshot manifest.
const (
	Format        = "reticle-snapshot"
	FormatVersion = 1
)

// Manifest is manifest.json: what the archive holds and how to check it.
type Manifest struct {
	Format         string    `json:"format"`
	FormatVersion  int       `json:"format_version"`
	CreatedAt      time.Time `json:"created_at"`
	ReticleVersion string    `json:"reticle_version"`
	SchemaVersion  int       `json:"schema_version"`
	Reason         string    `json:"reason"`
	Messages       int64     `json:"messages"`
	Files          []File    `json:"files"`
	// MissingAttachments lists attachments the database refers to that were not in the data dir when
	// the snapshot was taken (lost before it, not raced); their messages restore without the file.
	MissingAttachments []string `json:"missing_attachments,omitempty"`
}

// File is one member of the archive besides the manifest.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ErrInvalid means an archive is not a complete, intact Reticle snapshot.
var ErrInvalid = errors.New("not a valid reticle snapshot")

func parseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("%w: manifest: %w", ErrInvalid, err)
	}
	if m.Format != Format {
		return Manifest{}, fmt.Errorf("%w: manifest format %q", ErrInvalid, clip(m.Format))
	}
	if m.FormatVersion != FormatVersion {
		return Manifest{}, fmt.Errorf("%w: manifest format version %d, this reticle reads %d", ErrInvalid, m.FormatVersion, FormatVersion)
	}
	if m.SchemaVersion < 1 {
		return Manifest{}, fmt.Errorf("%w: manifest schema version %d", ErrInvalid, m.SchemaVersion)
	}
	return m, nil
}
