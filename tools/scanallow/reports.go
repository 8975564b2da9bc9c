package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// finding is one scanner result that fails the scan unless allow-listed.
type finding struct {
	ID      string   // the id an allow-list entry names
	Aliases []string // other ids of the same advisory that an entry may name instead
	What    string   // one line for the log: package, severity, title
}

// errUnavailable marks a report that says the scanner could not run (no registry, no database).
var errUnavailable = errors.New("scanner unavailable")

// npmReport is the part of `npm audit --json` (report version 2, npm 7 and later) this program reads.
type npmReport struct {
	AuditReportVersion int                        `json:"auditReportVersion"`
	Vulnerabilities    map[string]npmVulnerable   `json:"vulnerabilities"`
	Error              json.RawMessage            `json:"error"`
	Message            string                     `json:"message"`
	Metadata           map[string]json.RawMessage `json:"metadata"`
}

// npmVulnerable is one vulnerable package; Via holds advisory objects or names of vulnerable dependencies.
type npmVulnerable struct {
	Name     string            `json:"name"`
	Severity string            `json:"severity"`
	Via      []json.RawMessage `json:"via"`
}

// npmAdvisory is an advisory object inside Via.
type npmAdvisory struct {
	Name     string `json:"name"`
	Title    string `json:"title"`
	URL      string `json:"url"`
	Severity string `json:"severity"`
}

// severityRank orders npm's severities; a higher rank is worse.
var severityRank = map[string]int{"info": 0, "low": 1, "moderate": 2, "high": 3, "critical": 4}

// npmFindings returns the advisories of severity minLevel or worse in an npm audit report. An advisory
// is reported once however many packages it reaches through.
func npmFindings(r io.Reader, minLevel string) ([]finding, error) {
	min, ok := severityRank[minLevel]
	if !ok {
		return nil, fmt.Errorf("unknown audit level %q", minLevel)
	}
	b, err := readBounded(r)
	if err != nil {
		return nil, err
	}
	var rep npmReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("parse npm audit report: %w", err)
	}
	if len(rep.Error) > 0 && string(rep.Error) != "null" {
		return nil, fmt.Errorf("%w: npm audit: %s", errUnavailable, firstLine(rep.Message, string(rep.Error)))
	}
	if rep.AuditReportVersion != 2 || rep.Metadata == nil {
		return nil, fmt.Errorf("npm audit report version %d without metadata: not an npm 7+ --json report", rep.AuditReportVersion)
	}
	seen := map[string]bool{}
	var out []finding
	names := make([]string, 0, len(rep.Vulnerabilities))
	for n := range rep.Vulnerabilities {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		for _, raw := range rep.Vulnerabilities[n].Via {
			var adv npmAdvisory
			if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &adv) != nil {
				continue // a dependency's name: its advisories are listed under that dependency
			}
			if severityRank[strings.ToLower(adv.Severity)] < min {
				continue
			}
			id := path.Base(strings.TrimRight(adv.URL, "/"))
			if id == "." || id == "/" || id == "" {
				id = adv.Name + ":" + adv.Title
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, finding{ID: id, What: fmt.Sprintf("%s (%s): %s", adv.Name, adv.Severity, adv.Title)})
		}
	}
	return out, nil
}

// govulnMessage is one object of the stream `govulncheck -format json` writes.
type govulnMessage struct {
	Config  json.RawMessage `json:"config"`
	OSV     *govulnOSV      `json:"osv"`
	Finding *govulnFinding  `json:"finding"`
}

type govulnOSV struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases"`
	Summary string   `json:"summary"`
}

type govulnFinding struct {
	OSV          string        `json:"osv"`
	FixedVersion string        `json:"fixed_version"`
	Trace        []govulnFrame `json:"trace"`
}

type govulnFrame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
}

// govulnFindings returns the vulnerabilities whose vulnerable symbols the code calls, which are the ones
// govulncheck's text mode fails on; imported-but-not-called ones are not findings.
func govulnFindings(r io.Reader) ([]finding, error) {
	b, err := readBounded(r)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	osvs := map[string]govulnOSV{}
	called := map[string]govulnFrame{}
	var order []string
	sawConfig := false
	for i := 0; ; i++ {
		if i > 1_000_000 {
			return nil, errors.New("govulncheck report has more than a million messages")
		}
		var m govulnMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("parse govulncheck report: %w", err)
		}
		if len(m.Config) > 0 {
			sawConfig = true
		}
		if m.OSV != nil {
			osvs[m.OSV.ID] = *m.OSV
		}
		if f := m.Finding; f != nil && len(f.Trace) > 0 && f.Trace[0].Function != "" {
			if _, dup := called[f.OSV]; !dup {
				order = append(order, f.OSV)
			}
			called[f.OSV] = f.Trace[0]
		}
	}
	if !sawConfig {
		return nil, errors.New("no config message: not a govulncheck -format json report")
	}
	out := make([]finding, 0, len(order))
	for _, id := range order {
		fr := called[id]
		o := osvs[id]
		out = append(out, finding{ID: id, Aliases: o.Aliases,
			What: fmt.Sprintf("%s@%s %s.%s: %s", fr.Module, fr.Version, fr.Package, fr.Function, o.Summary)})
	}
	return out, nil
}

// notAllowed returns the findings that no valid entry of the section covers at time now.
func notAllowed(fs []finding, entries []entry, now time.Time) []finding {
	ok := allowed(entries, now)
	var out []finding
	for _, f := range fs {
		covered := false
		for _, id := range append([]string{f.ID}, f.Aliases...) {
			if _, hit := ok[strings.ToUpper(id)]; hit {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, f)
		}
	}
	return out
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("report larger than %d bytes", maxFileSize)
	}
	return b, nil
}

func firstLine(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			l, _, _ := strings.Cut(s, "\n")
			return l
		}
	}
	return "no detail"
}
