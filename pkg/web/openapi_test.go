package web

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestOpenAPICoversRoutes checks that api/openapi.yaml documents every concrete route the server has
// (path and method), and documents nothing that does not exist.
func TestOpenAPICoversRoutes(t *testing.T) {
	f, err := os.Open("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	documented := map[string]bool{}
	inPaths, cur := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case inPaths && line != "" && !strings.HasPrefix(line, " "):
			inPaths = false
		case inPaths && strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			cur = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case inPaths && cur != "" && len(line) > 4 && line[:4] == "    " && line[4] != ' ' && strings.HasSuffix(line, ":"):
			m := strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(line), ":"))
			switch m {
			case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD":
				documented[m+" "+cur] = true
			}
		}
	}
	if len(documented) < 10 {
		t.Fatalf("parsed only %d operations from openapi.yaml", len(documented))
	}
	e := newAuthEnv(t, Options{}, nil)
	served := map[string]bool{}
	for _, r := range e.srv.e.Routes() {
		if strings.Contains(r.Path, "*") || r.Path == "/api/v1" {
			continue // catch-alls: the UI and the JSON 404 for unknown API paths
		}
		p := r.Path
		segs := strings.Split(p, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, ":") {
				segs[i] = "{" + s[1:] + "}"
			}
		}
		key := r.Method + " " + strings.Join(segs, "/")
		served[key] = true
		if !documented[key] {
			t.Errorf("route %s is not in api/openapi.yaml", key)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("api/openapi.yaml documents %s, which the server does not serve", k)
		}
	}
}
