package repo

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	digestRef = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	latestTag = regexp.MustCompile(`(?i):latest\b`)
)

// dockerfileProblems lists what breaks the image's hardening rules in a Dockerfile's text.
func dockerfileProblems(src string) []string {
	var probs []string
	stages := map[string]bool{"scratch": true}
	args := map[string]string{}
	var user, health, expose, volume bool
	for _, raw := range strings.Split(src, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if latestTag.MatchString(line) {
			probs = append(probs, "uses a latest tag: "+line)
		}
		f := strings.Fields(line)
		switch strings.ToUpper(f[0]) {
		case "ARG":
			if k, v, ok := strings.Cut(f[1], "="); ok {
				args[k] = v
			}
		case "FROM":
			ref := ""
			for i := 1; i < len(f); i++ {
				if !strings.HasPrefix(f[i], "--") {
					ref = f[i]
					if i+2 < len(f) && strings.EqualFold(f[i+1], "AS") {
						stages[f[i+2]] = true
					}
					break
				}
			}
			if m := regexp.MustCompile(`^\$\{?(\w+)\}?$`).FindStringSubmatch(ref); m != nil {
				ref = args[m[1]]
			}
			if !stages[ref] && !digestRef.MatchString(ref) {
				probs = append(probs, "base image not pinned by @sha256 digest: "+line)
			}
		case "USER":
			user = len(f) > 1 && (f[1] == "65532" || f[1] == "65532:65532")
		case "HEALTHCHECK":
			health = len(f) > 1 && !strings.EqualFold(f[1], "NONE")
		case "EXPOSE":
			expose = expose || strings.Contains(line, "8000")
		case "VOLUME":
			volume = volume || strings.Contains(line, "/data")
		}
	}
	if !user {
		probs = append(probs, "the final USER is not 65532 (or 65532:65532)")
	}
	if !health {
		probs = append(probs, "no HEALTHCHECK")
	}
	if !expose {
		probs = append(probs, "no EXPOSE 8000")
	}
	if !volume {
		probs = append(probs, "no VOLUME /data")
	}
	return probs
}

func TestDockerfileProblemsCatchesViolations(t *testing.T) {
	good := "ARG B=gcr.io/distroless/static-debian12:nonroot@sha256:" + strings.Repeat("a", 64) + "\n" +
		"FROM golang:1.26@sha256:" + strings.Repeat("b", 64) + " AS build\nFROM ${B}\nCOPY --from=build /x /x\n" +
		"USER 65532:65532\nVOLUME /data\nEXPOSE 8000\nHEALTHCHECK CMD [\"/x\"]\n"
	if p := dockerfileProblems(good); len(p) != 0 {
		t.Fatalf("good Dockerfile: %v", p)
	}
	for name, bad := range map[string]string{
		"latest":       strings.Replace(good, "FROM ${B}", "FROM alpine:latest", 1),
		"tag only":     strings.Replace(good, "FROM ${B}", "FROM alpine:3.20", 1),
		"root user":    strings.Replace(good, "USER 65532:65532", "USER 0", 1),
		"no health":    strings.Replace(good, "HEALTHCHECK CMD [\"/x\"]", "HEALTHCHECK NONE", 1),
		"no volume":    strings.Replace(good, "VOLUME /data", "", 1),
		"unpinned arg": strings.Replace(good, "@sha256:"+strings.Repeat("a", 64), "", 1),
	} {
		if len(dockerfileProblems(bad)) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}

func TestDockerfileHardening(t *testing.T) {
	root := repoRoot(t)
	for _, p := range dockerfileProblems(readFile(t, filepath.Join(root, "Dockerfile"))) {
		t.Error("Dockerfile: " + p)
	}
}

func TestNoLatestTagInDeploymentFiles(t *testing.T) {
	root := repoRoot(t)
	for _, f := range []string{"docker/compose.yaml", "docker/reticle.container", "docker/container-reticle.service"} {
		for i, line := range strings.Split(readFile(t, filepath.Join(root, f)), "\n") {
			if latestTag.MatchString(line) && !strings.HasPrefix(strings.TrimSpace(line), "#") {
				t.Errorf("%s:%d: latest tag: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}

func TestDockerignoreKeepsWhatTheDockerfileNeeds(t *testing.T) {
	root := repoRoot(t)
	ignore := readFile(t, filepath.Join(root, ".dockerignore"))
	for _, l := range strings.Split(ignore, "\n") {
		l = strings.TrimSpace(l)
		switch l {
		case "docker", "docker/", "docker/README.md", "ui", "ui/", "ui/dist", "cmd", "pkg", "go.mod", "go.sum", "*.md", "**/*.md":
			t.Errorf(".dockerignore excludes %q, which the Dockerfile build needs", l)
		}
	}
	if !strings.Contains(ignore, ".git") || !strings.Contains(ignore, "*.key") {
		t.Error(".dockerignore must exclude .git and private keys (*.key)")
	}
}
