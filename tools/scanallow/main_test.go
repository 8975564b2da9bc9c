package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func writeList(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "allow.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCmd(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb, now)
	return code, out.String() + errb.String()
}

func TestCheckRejectsBadEntries(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"no statement", "vulnerabilities:\n  - id: CVE-2026-1\n    expired_at: 2027-01-01\n", "no statement"},
		{"short statement", "npm:\n  - id: GHSA-x\n    statement: ok\n    expired_at: 2027-01-01\n", "no statement"},
		{"no expiry", "secrets:\n  - id: aws-access-key-id\n    statement: a documented test fixture key\n", "no expired_at"},
		{"expired", "govulncheck:\n  - id: GO-2026-1\n    statement: not reachable from our code\n    expired_at: 2026-12-01\n", "expired on 2026-12-01"},
		{"too far", "misconfigurations:\n  - id: AVD-DS-0002\n    statement: the image runs as 65532\n    expired_at: 2028-06-01\n", "more than a year ahead"},
		{"no id", "licenses:\n  - statement: reviewed by the lead\n    expired_at: 2027-01-01\n", "no id"},
		{"twice", "npm:\n  - id: GHSA-a\n    statement: dev dependency only\n    expired_at: 2027-01-01\n  - id: GHSA-a\n    statement: dev dependency only\n    expired_at: 2027-02-01\n", "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCmd(t, "", "check", writeList(t, tc.body))
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Errorf("code %d, output %q; want 1 and %q", code, out, tc.want)
			}
		})
	}
}

func TestCheckRejectsUnknownKeys(t *testing.T) {
	// A misspelt key must not silently drop the expiry.
	code, out := runCmd(t, "", "check", writeList(t, "npm:\n  - id: GHSA-a\n    statement: dev dependency only\n    expires: 2027-01-01\n"))
	if code != 2 || !strings.Contains(out, "expires") {
		t.Errorf("code %d, output %q; want 2 naming the unknown key", code, out)
	}
}

func TestCheckAcceptsValidAndEmpty(t *testing.T) {
	for _, body := range []string{
		"",
		"vulnerabilities: []\nnpm: []\n",
		"vulnerabilities:\n  - id: CVE-2026-1\n    paths: [go.sum]\n    statement: only the unused XML decoder is affected\n    expired_at: 2027-03-01\n",
	} {
		if code, out := runCmd(t, "", "check", writeList(t, body)); code != 0 {
			t.Errorf("body %q: code %d, output %q", body, code, out)
		}
	}
}

func TestCommittedAllowListIsValid(t *testing.T) {
	// The file the workflows feed to the scanners; it fails here once an entry expires, which is the point.
	code, out := runCmd(t, "", "check", filepath.Join("..", "..", ".github", "scan-allowlist.yaml"))
	if code != 0 {
		t.Fatalf("committed allow-list: code %d\n%s", code, out)
	}
	var errb bytes.Buffer
	if code := run([]string{"check", filepath.Join("..", "..", ".github", "scan-allowlist.yaml")}, nil, &errb, &errb, time.Now()); code != 0 {
		t.Fatalf("committed allow-list today: code %d\n%s", code, errb.String())
	}
}

const npmReportJSON = `{
  "auditReportVersion": 2,
  "vulnerabilities": {
    "braces": {"name": "braces", "severity": "high", "via": [
      {"source": 1098094, "name": "braces", "title": "Uncontrolled resource consumption", "url": "https://github.com/advisories/GHSA-grv7-fg5c-xmjg", "severity": "high"}]},
    "micromatch": {"name": "micromatch", "severity": "high", "via": ["braces",
      {"source": 1098681, "name": "micromatch", "title": "ReDoS", "url": "https://github.com/advisories/GHSA-952p-6rrq-rcjv", "severity": "moderate"}]},
    "esbuild": {"name": "esbuild", "severity": "critical", "via": [
      {"source": 1, "name": "esbuild", "title": "dev server reads any file", "url": "https://github.com/advisories/GHSA-67mh-4wv8-2f99", "severity": "critical"}]}
  },
  "metadata": {"vulnerabilities": {"high": 2, "critical": 1, "total": 3}}
}`

func TestNPMFailsOnHighAndHonoursAllowList(t *testing.T) {
	empty := writeList(t, "npm: []\n")
	code, out := runCmd(t, npmReportJSON, "npm", empty)
	if code != 1 || !strings.Contains(out, "GHSA-grv7-fg5c-xmjg") || !strings.Contains(out, "GHSA-67mh-4wv8-2f99") {
		t.Fatalf("code %d, output %q; want both high+ advisories", code, out)
	}
	if strings.Contains(out, "GHSA-952p-6rrq-rcjv") {
		t.Errorf("moderate advisory reported at level high: %q", out)
	}
	partial := writeList(t, "npm:\n  - id: GHSA-grv7-fg5c-xmjg\n    statement: only reachable from the dev server\n    expired_at: 2027-01-01\n")
	code, out = runCmd(t, npmReportJSON, "npm", partial)
	if code != 1 || strings.Contains(out, "npm: GHSA-grv7") || !strings.Contains(out, "GHSA-67mh-4wv8-2f99") {
		t.Fatalf("code %d, output %q; want only the critical one left", code, out)
	}
	all := writeList(t, "npm:\n  - id: ghsa-grv7-fg5c-xmjg\n    statement: only reachable from the dev server\n    expired_at: 2027-01-01\n"+
		"  - id: GHSA-67mh-4wv8-2f99\n    statement: the dev server is never exposed\n    expired_at: 2027-01-01\n")
	if code, out = runCmd(t, npmReportJSON, "npm", all); code != 0 {
		t.Fatalf("code %d, output %q; want everything allowed", code, out)
	}
	expired := writeList(t, "npm:\n  - id: GHSA-grv7-fg5c-xmjg\n    statement: only reachable from the dev server\n    expired_at: 2026-11-01\n")
	if code, out = runCmd(t, npmReportJSON, "npm", expired); code != 1 || !strings.Contains(out, "npm: GHSA-grv7") {
		t.Fatalf("code %d, output %q; an expired entry must not allow", code, out)
	}
	if code, out = runCmd(t, npmReportJSON, "npm", "-level", "moderate", all); code != 1 || !strings.Contains(out, "GHSA-952p") {
		t.Fatalf("code %d, output %q; want the moderate one at -level moderate", code, out)
	}
}

func TestNPMCleanUnavailableAndGarbage(t *testing.T) {
	list := writeList(t, "")
	clean := `{"auditReportVersion": 2, "vulnerabilities": {}, "metadata": {"vulnerabilities": {"total": 0}}}`
	if code, out := runCmd(t, clean, "npm", list); code != 0 {
		t.Errorf("clean report: code %d, %q", code, out)
	}
	unavailable := `{"message": "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk", "error": {"summary": "", "detail": ""}}`
	if code, out := runCmd(t, unavailable, "npm", list); code != 3 || !strings.Contains(out, "405") {
		t.Errorf("unavailable: code %d, %q; want 3", code, out)
	}
	for _, bad := range []string{"", "not json", `{"auditReportVersion": 1}`, `[]`} {
		if code, out := runCmd(t, bad, "npm", list); code != 2 {
			t.Errorf("report %q: code %d, %q; want 2", bad, code, out)
		}
	}
}

const govulnReport = `{"config":{"protocol_version":"v1.0.0","scanner_name":"govulncheck"}}
{"progress":{"message":"Scanning your code..."}}
{"osv":{"id":"GO-2026-0001","aliases":["CVE-2026-1111","GHSA-aaaa-bbbb-cccc"],"summary":"Panic in parser"}}
{"osv":{"id":"GO-2026-0002","aliases":["CVE-2026-2222"],"summary":"Only imported"}}
{"finding":{"osv":"GO-2026-0001","fixed_version":"v1.2.4","trace":[{"module":"example.com/x","version":"v1.2.3","package":"example.com/x/p","function":"Parse"}]}}
{"finding":{"osv":"GO-2026-0001","fixed_version":"v1.2.4","trace":[{"module":"example.com/x","version":"v1.2.3","package":"example.com/x/p","function":"Parse"},{"module":"main","package":"main","function":"main"}]}}
{"finding":{"osv":"GO-2026-0002","fixed_version":"v0.9.0","trace":[{"module":"example.com/y","version":"v0.8.0","package":"example.com/y"}]}}
`

func TestGovulncheckCalledOnlyAndAliases(t *testing.T) {
	code, out := runCmd(t, govulnReport, "govulncheck", writeList(t, ""))
	if code != 1 || !strings.Contains(out, "GO-2026-0001") || strings.Contains(out, "govulncheck: GO-2026-0002") {
		t.Fatalf("code %d, output %q; want only the called GO-2026-0001", code, out)
	}
	if !strings.Contains(out, "1 findings") {
		t.Errorf("a vulnerability with two traces counted twice: %q", out)
	}
	byAlias := writeList(t, "govulncheck:\n  - id: CVE-2026-1111\n    statement: the parser only sees our own config\n    expired_at: 2027-01-01\n")
	if code, out := runCmd(t, govulnReport, "govulncheck", byAlias); code != 0 {
		t.Fatalf("code %d, output %q; an alias must match", code, out)
	}
	if code, out := runCmd(t, `{"progress":{}}`, "govulncheck", byAlias); code != 2 {
		t.Errorf("report without config: code %d, %q; want 2", code, out)
	}
}

func TestBadEntryFailsFilterEvenWhenClean(t *testing.T) {
	list := writeList(t, "npm:\n  - id: GHSA-a\n    expired_at: 2027-01-01\n")
	clean := `{"auditReportVersion": 2, "vulnerabilities": {}, "metadata": {}}`
	if code, out := runCmd(t, clean, "npm", list); code != 1 || !strings.Contains(out, "no statement") {
		t.Errorf("code %d, %q; an invalid allow-list must fail the scan", code, out)
	}
}

func FuzzReports(f *testing.F) {
	f.Add([]byte(npmReportJSON))
	f.Add([]byte(govulnReport))
	f.Add([]byte(`{"auditReportVersion":2,"vulnerabilities":{"a":{"via":[{"url":"/"}]}},"metadata":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = npmFindings(bytes.NewReader(b), "high")
		_, _ = govulnFindings(bytes.NewReader(b))
		_, _ = parseAllowList(bytes.NewReader(b))
	})
}
