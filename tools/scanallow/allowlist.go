package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// maxAhead is how far ahead an expiry may lie: an allow-list entry is a decision to revisit, not a
// permanent exception.
const maxAhead = 366 * 24 * time.Hour

// maxFileSize bounds the allow-list and scanner reports this program reads.
const maxFileSize = 64 << 20

// entry is one allowed finding. The field names are trivy's (.trivyignore.yaml), so trivy reads the
// same file with --ignorefile.
type entry struct {
	ID        string    `yaml:"id"`
	Paths     []string  `yaml:"paths"`
	PURLs     []string  `yaml:"purls"`
	Statement string    `yaml:"statement"`
	ExpiredAt time.Time `yaml:"expired_at"`
}

// allowList is the whole file: trivy's four sections and one each for npm audit and govulncheck.
type allowList struct {
	Vulnerabilities   []entry `yaml:"vulnerabilities"`
	Misconfigurations []entry `yaml:"misconfigurations"`
	Secrets           []entry `yaml:"secrets"`
	Licenses          []entry `yaml:"licenses"`
	NPM               []entry `yaml:"npm"`
	Govulncheck       []entry `yaml:"govulncheck"`
}

// sections returns the sections by name, in file order.
func (a *allowList) sections() []struct {
	name    string
	entries []entry
} {
	return []struct {
		name    string
		entries []entry
	}{
		{"vulnerabilities", a.Vulnerabilities}, {"misconfigurations", a.Misconfigurations},
		{"secrets", a.Secrets}, {"licenses", a.Licenses}, {"npm", a.NPM}, {"govulncheck", a.Govulncheck},
	}
}

// parseAllowList decodes an allow-list strictly: unknown keys (a misspelt `expires:`) are errors, so an
// entry cannot silently lose its expiry.
func parseAllowList(r io.Reader) (*allowList, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read allow-list: %w", err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("allow-list larger than %d bytes", maxFileSize)
	}
	var a allowList
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&a); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse allow-list: %w", err)
	}
	return &a, nil
}

// problems lists every entry that must not be in the file at time now: no id, no reason, no expiry,
// expired, expiring more than maxAhead after now, or the same id twice in a section (the second copy
// would hide the first's expiry).
func (a *allowList) problems(now time.Time) []string {
	var out []string
	for _, s := range a.sections() {
		seen := map[string]bool{}
		for i, e := range s.entries {
			where := fmt.Sprintf("%s[%d]", s.name, i)
			id := strings.TrimSpace(e.ID)
			if id == "" {
				out = append(out, where+": no id")
			} else {
				where += " " + id
				if seen[id] && len(e.Paths) == 0 && len(e.PURLs) == 0 {
					out = append(out, where+": listed twice")
				}
				seen[id] = true
			}
			if len(strings.TrimSpace(e.Statement)) < 10 {
				out = append(out, where+": no statement saying why it is acceptable (10 characters at least)")
			}
			switch {
			case e.ExpiredAt.IsZero():
				out = append(out, where+": no expired_at date")
			case !e.ExpiredAt.After(now):
				out = append(out, fmt.Sprintf("%s: expired on %s", where, e.ExpiredAt.Format(time.DateOnly)))
			case e.ExpiredAt.Sub(now) > maxAhead:
				out = append(out, fmt.Sprintf("%s: expiry %s is more than a year ahead", where, e.ExpiredAt.Format(time.DateOnly)))
			}
		}
	}
	return out
}

// allowed returns the ids of one section that apply at time now (valid, unexpired entries).
func allowed(entries []entry, now time.Time) map[string]entry {
	m := map[string]entry{}
	for _, e := range entries {
		id := strings.TrimSpace(e.ID)
		if id == "" || len(strings.TrimSpace(e.Statement)) < 10 || !e.ExpiredAt.After(now) {
			continue
		}
		m[strings.ToUpper(id)] = e
	}
	return m
}
