package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8000" || c.DataDir != "reticle-data" || c.Verify != VerifyWarn {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.DBPath() != filepath.Join("reticle-data", "reticle.db") {
		t.Fatalf("DBPath = %q", c.DBPath())
	}
}

func TestFlagsWinOverEnv(t *testing.T) {
	e := env(map[string]string{
		"RETICLE_LISTEN":        "0.0.0.0:9000",
		"RETICLE_DATA_DIR":      "/data",
		"RETICLE_TRUSTED_PROXY": "10.0.0.0/8, 127.0.0.1",
		"RETICLE_INTERFACE":     "tcp-client://127.0.0.1:4242",
		"RETICLE_LOG_FORMAT":    "json",
		"RETICLE_TRANSPORT":     "true",
	})
	c, err := Load([]string{"--listen", "127.0.0.1:8001", "--trusted-proxy", "::1"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8001" {
		t.Errorf("flag should win: %q", c.Listen)
	}
	if c.DataDir != "/data" || c.LogFormat != "json" || !c.Transport {
		t.Errorf("env not applied: %+v", c)
	}
	if len(c.TrustedProxies) != 1 || c.TrustedProxies[0].String() != "::1/128" {
		t.Errorf("flag list should replace env list: %v", c.TrustedProxies)
	}
	if len(c.Interfaces) != 1 || c.Interfaces[0] != "tcp-client://127.0.0.1:4242" {
		t.Errorf("interfaces from env: %v", c.Interfaces)
	}
	c2, err := Load(nil, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.TrustedProxies) != 2 || c2.TrustedProxies[1].String() != "127.0.0.1/32" {
		t.Errorf("env proxies: %v", c2.TrustedProxies)
	}
}

func TestInvalidConfigNamesTheValue(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"listen no port", []string{"--listen", "localhost"}, nil, `--listen "localhost"`},
		{"listen bad port", []string{"--listen", "127.0.0.1:99999"}, nil, "bad port"},
		{"listen hostname", []string{"--listen", "example.org:80"}, nil, "IP address"},
		{"log level", []string{"--log-level", "loud"}, nil, `--log-level "loud"`},
		{"log format", nil, map[string]string{"RETICLE_LOG_FORMAT": "xml"}, `--log-format "xml"`},
		{"proxy", []string{"--trusted-proxy", "10.0.0.0/33"}, nil, `--trusted-proxy "10.0.0.0/33"`},
		{"verify", []string{"--verify", "maybe"}, nil, `--verify "maybe"`},
		{"iface scheme", []string{"--interface", "http://x:1"}, nil, `unknown scheme "http"`},
		{"iface port", []string{"--interface", "tcp-client://host"}, nil, "needs host:port"},
		{"transport env", nil, map[string]string{"RETICLE_TRANSPORT": "perhaps"}, "RETICLE_TRANSPORT"},
		{"unknown flag", []string{"--nope"}, nil, "nope"},
		{"stray arg", []string{"extra"}, nil, `unexpected argument "extra"`},
		{"empty data dir", []string{"--data-dir", " "}, nil, "--data-dir"},
		{"inbound rate", []string{"--max-inbound-per-minute", "0"}, nil, "--max-inbound-per-minute 0"},
		{"max message", []string{"--max-message-mb", "0"}, nil, "--max-message-mb 0"},
		{"storage", []string{"--propagation-storage-mb", "0"}, nil, "--propagation-storage-mb 0"},
		{"stamp cost", nil, map[string]string{"RETICLE_PROPAGATION_STAMP_COST": "40"}, "--propagation-stamp-cost 40"},
		{"stamp cost not a number", nil, map[string]string{"RETICLE_PROPAGATION_STAMP_COST": "lots"}, "RETICLE_PROPAGATION_STAMP_COST"},
		{"prop node env", nil, map[string]string{"RETICLE_PROPAGATION_NODE": "sometimes"}, "RETICLE_PROPAGATION_NODE"},
		{"prop peer", []string{"--propagation-peer", "abcd"}, nil, `--propagation-peer "abcd"`},
		{"long display name", []string{"--display-name", strings.Repeat("n", 129)}, nil, "--display-name"},
		{"short announce interval", []string{"--announce-interval", "10s"}, nil, "--announce-interval"},
		{"bad announce interval env", nil, map[string]string{"RETICLE_ANNOUNCE_INTERVAL": "often"}, "RETICLE_ANNOUNCE_INTERVAL"},
		{"bad sync interval env", nil, map[string]string{"RETICLE_SYNC_INTERVAL": "often"}, "RETICLE_SYNC_INTERVAL"},
		{"sync interval too short", []string{"--sync-interval", "10s"}, nil, "--sync-interval"},
		{"long display name", nil, map[string]string{"RETICLE_DISPLAY_NAME": strings.Repeat("x", 129)}, "--display-name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.args, env(tc.env), io.Discard)
			if err == nil {
				t.Fatal("expected an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error should wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q should be one line containing %q", err, tc.want)
			}
		})
	}
}

func TestPropagationOptions(t *testing.T) {
	peer := "0123456789abcdef0123456789abcdef"
	c, err := Load([]string{"--propagation-node", "--propagation-storage-mb", "64"},
		env(map[string]string{"RETICLE_PROPAGATION_PEER": peer, "RETICLE_PROPAGATION_STAMP_COST": "8"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.PropagationNode || c.PropagationStorageMB != 64 || c.PropagationStampCost != 8 ||
		len(c.PropagationPeers) != 1 || c.PropagationPeers[0] != peer {
		t.Fatalf("propagation options: %+v", c)
	}
	d := Default()
	if d.PropagationNode || d.PropagationStorageMB != 500 || d.PropagationStampCost != 16 {
		t.Fatalf("defaults: %+v", d)
	}
}

func TestInitialPasswordFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(nil, env(map[string]string{"RETICLE_INITIAL_PASSWORD_FILE": p}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.InitialPassword != "correct horse battery" {
		t.Fatalf("password = %q", c.InitialPassword)
	}
	if _, err := Load(nil, env(map[string]string{"RETICLE_INITIAL_PASSWORD_FILE": p + ".missing"}), io.Discard); err == nil {
		t.Fatal("missing secret file must be an error")
	}
}

func TestVerifyDefaultByBuild(t *testing.T) {
	tests := []struct {
		name string
		dev  bool
		env  map[string]string
		args []string
		want string
	}{
		{name: "release build enforces", dev: false, want: VerifyEnforce},
		{name: "dev build warns", dev: true, want: VerifyWarn},
		{name: "release build, env asks warn", dev: false, env: map[string]string{"RETICLE_VERIFY": "warn"}, want: VerifyWarn},
		{name: "release build, flag asks off", dev: false, args: []string{"--verify", "off"}, want: VerifyOff},
		{name: "dev build, env asks enforce", dev: true, env: map[string]string{"RETICLE_VERIFY": "enforce"}, want: VerifyEnforce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultFor(tc.dev).Verify; tc.env == nil && tc.args == nil && got != tc.want {
				t.Fatalf("DefaultFor(%v).Verify = %q, want %q", tc.dev, got, tc.want)
			}
			c, err := LoadFor(tc.dev, tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.Verify != tc.want {
				t.Fatalf("Verify = %q, want %q", c.Verify, tc.want)
			}
		})
	}
	if Default().Verify != VerifyWarn {
		t.Fatalf("Default (development build) verify = %q", Default().Verify)
	}
}
