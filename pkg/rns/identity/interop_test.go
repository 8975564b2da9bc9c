package identity

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// requirePythonRNS returns the python3 path if the reference (rns) imports,
// else skips the test, or fails it when RETICLE_REQUIRE_EXTERNAL=1.
func requirePythonRNS(t *testing.T) string {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("RETICLE_REQUIRE_EXTERNAL") == "1" {
			t.Fatalf("python reference required: %s", why)
		}
		t.Skipf("python reference not available (%s); pip install rns==1.5.7", why)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		missing("no python3")
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", "import RNS; print(RNS.__version__)").Output()
	if err != nil {
		missing("import RNS failed")
		return ""
	}
	if v := string(out); v != "1.5.7\n" {
		t.Logf("python reference is rns %q, vectors pin 1.5.7", v)
	}
	return py
}

// TestInteropWithReference has the Python reference accept what this package
// produces: identity files, announces (with and without ratchet), identity
// and ratchet tokens, group tokens.
func TestInteropWithReference(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the python reference")
	}
	py := requirePythonRNS(t)
	dir := t.TempDir()
	h := hex.EncodeToString
	type entry = map[string]any
	doc := map[string][]entry{}

	for i := range 3 {
		id, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("id%d", i))
		if err := id.Save(path); err != nil {
			t.Fatal(err)
		}
		doc["identity_files"] = append(doc["identity_files"], entry{"path": path, "public_key": h(id.PublicKey()), "hash": id.Hash().String()})

		r, err := GenerateRatchet()
		if err != nil {
			t.Fatal(err)
		}
		nh, err := NameHash("reticle", "interop", fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		opts := AnnounceOptions{NameHash: nh, Time: time.Unix(1_750_000_000+int64(i), 0)}
		if i > 0 {
			opts.AppData = []byte(fmt.Sprintf("app data %d", i))
		}
		if i == 2 {
			opts.Ratchet = r.PublicKey()
		}
		p, err := id.NewAnnounce(opts)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		doc["announces"] = append(doc["announces"], entry{"packet": h(raw), "public_key": h(id.PublicKey()),
			"app_data": h(opts.AppData), "ratchet": h(opts.Ratchet), "timestamp": opts.Time.Unix()})

		prv, _ := id.PrivateKey()
		msg := []byte(fmt.Sprintf("message %d %s", i, string(make([]byte, i*20))))
		tok, err := id.Encrypt(msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		doc["tokens"] = append(doc["tokens"], entry{"private_key": h(prv), "ratchets": []string{}, "token": h(tok), "plaintext": h(msg)})
		tok, err = id.Encrypt(msg, r.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		doc["tokens"] = append(doc["tokens"], entry{"private_key": h(prv), "ratchets": []string{h(r.Bytes())}, "token": h(tok), "plaintext": h(msg)})

		key := make([]byte, []int{64, 32, 64}[i])
		copy(key, msg)
		gt, err := NewToken(key)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := gt.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		doc["group_tokens"] = append(doc["group_tokens"], entry{"key": h(key), "token": h(ct), "plaintext": h(msg)})
	}

	in := filepath.Join(dir, "artifacts.json")
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join("..", "..", "..", "test", "vectors", "check_go_artifacts.py"), in)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference check failed: %v\n%s", err, out)
	}
	var res struct {
		Checked  int      `json:"checked"`
		Failures []string `json:"failures"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("reference output %q: %v", out, err)
	}
	want := 0
	for _, v := range doc {
		want += len(v)
	}
	if res.Checked != want || len(res.Failures) != 0 {
		t.Fatalf("reference checked %d of %d, failures %v", res.Checked, want, res.Failures)
	}
}
