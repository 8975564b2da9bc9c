// Package config builds Reticle's one Config from defaults, RETICLE_* environment variables and command-line
// flags (flags win over the environment, the environment over defaults), reads *_FILE secrets, and
// validates it with one-line errors that name the bad value. It imports only the standard library.
package config

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid configuration")

// Verify modes for startup self-verification.
const (
	VerifyEnforce = "enforce"
	VerifyWarn    = "warn"
	VerifyOff     = "off"
)

// InterfaceSchemes are the URI schemes `--interface` accepts; the mesh layer validates the rest of the URI.
var InterfaceSchemes = []string{"tcp-client", "tcp-server", "udp", "auto", "shared-instance"}

// Config is the whole runtime configuration of `reticle serve`.
type Config struct {
	Listen         string         // address the web server listens on, host:port
	DataDir        string         // where the database, identities, snapshots and integrity state live
	LogLevel       string         // debug, info, warn or error
	LogFormat      string         // text or json
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For / X-Real-IP / X-Forwarded-Proto are believed
	Interfaces     []string       // mesh interface URIs, e.g. tcp-client://host:4242
	Verify         string         // enforce, warn or off
	ManifestPath   string         // release manifest; empty means the default locations
	BundlePath     string         // cosign bundle of the manifest; empty means next to the manifest
	Transport      bool           // run the mesh node as a transport (routing) node
	DisplayName    string         // name announced with the LXMF delivery destination; empty: "Reticle" + address prefix
	// AnnounceInterval re-announces the delivery destination (and a hosted propagation node); 0 is off.
	AnnounceInterval time.Duration
	// SyncInterval is how often the node syncs with its propagation node; 0 is off (sync when asked).
	SyncInterval time.Duration
	// SnapshotInterval is how often the node snapshots its data into snapshots/; 0 is off.
	SnapshotInterval time.Duration
	// SnapshotKeep is how many scheduled snapshots are kept.
	SnapshotKeep int
	// PropagationNode makes this instance an LXMF propagation node (store and forward for others).
	PropagationNode      bool
	PropagationStorageMB int      // storage limit of the hosted propagation node
	PropagationStampCost int      // proof-of-work cost the hosted node requires of uploads
	PropagationPeers     []string // lxmf.propagation addresses (hex) the hosted node peers with
	// MaxMessageMB bounds an inbound LXMF message (with attachments) received over a link, and any
	// inbound Reticulum resource; larger ones are refused before they are transferred.
	MaxMessageMB int
	// MaxInboundPerMinute bounds opportunistic and direct messages accepted from one source per minute.
	MaxInboundPerMinute int
	// InitialPassword provisions the owner password on first start (from RETICLE_INITIAL_PASSWORD_FILE).
	InitialPassword string
	// Database is empty for SQLite in the data dir, or a PostgreSQL URL (postgres://...) for the store on
	// a database server. It carries the password: never log it (show it through the store's MaskDSN).
	Database string
	// InboundBudgetMB caps the stored bytes of all inbound messages; 0 means the default: 1024 MB or a
	// tenth of the data dir's free space at start, whichever is smaller.
	InboundBudgetMB int
	// PeerBudgetMBHour and PeerBudgetMBDay cap what one non-contact peer may have stored per hour and
	// per 24 hours.
	PeerBudgetMBHour, PeerBudgetMBDay int
	// MinFreeMB is the low-disk watermark: below it inbound messages and sends are refused (507
	// storage_full), logins and reads keep working.
	MinFreeMB int
}

// Default returns the configuration a development build uses when nothing is set: the UI on
// 127.0.0.1:8000, the data in ./reticle-data and --verify=warn. See [DefaultFor] for release builds.
func Default() Config { return DefaultFor(true) }

// DefaultFor returns the defaults for a development build (dev true) or a release build, whose version
// was stamped in at link time (dev false). The two differ only in the verify mode: a release build
// defaults to enforce, so a binary with a missing, foreign-key or tampered manifest refuses to start
// unless the owner asks for warn; only development builds, which carry no manifest, default to warn.
func DefaultFor(dev bool) Config {
	verify := VerifyEnforce
	if dev {
		verify = VerifyWarn
	}
	return Config{
		Listen:           "127.0.0.1:8000",
		DataDir:          "reticle-data",
		LogLevel:         "info",
		LogFormat:        "text",
		Verify:           verify,
		AnnounceInterval: 6 * time.Hour,
		SyncInterval:     time.Hour,
		SnapshotInterval: 12 * time.Hour,
		SnapshotKeep:     5,

		PropagationStorageMB: 500,
		PropagationStampCost: 16,
		MaxMessageMB:         8,
		MaxInboundPerMinute:  60,
		PeerBudgetMBHour:     32,
		PeerBudgetMBDay:      128,
		MinFreeMB:            64,
	}
}

// Load parses args (without the program and subcommand names) over the environment given by getenv,
// starting from the development-build defaults ([Default]). Errors are one line and name the bad flag
// or variable.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	return LoadFor(true, args, getenv, stderr)
}

// DefaultDataDir is the data directory a command uses when --data-dir is not given: RETICLE_DATA_DIR
// from getenv when set (the image sets it to /data), else the built-in default. `reticle serve`,
// `backup`, `restore` and `admin` all start from it, so in the container each of them finds the same
// data without a flag.
func DefaultDataDir(getenv func(string) string) string {
	if v := getenv("RETICLE_DATA_DIR"); v != "" {
		return v
	}
	return Default().DataDir
}

// LoadFor is [Load] starting from [DefaultFor](dev): `reticle serve` passes whether the running binary
// is a development build.
func LoadFor(dev bool, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := DefaultFor(dev)
	var proxies, ifaces listFlag
	var rawProxies []string
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)

	envStr := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Listen, "listen", envStr("RETICLE_LISTEN", c.Listen), "web UI/API address host:port (RETICLE_LISTEN)")
	fs.StringVar(&c.DataDir, "data-dir", envStr("RETICLE_DATA_DIR", c.DataDir), "data directory (RETICLE_DATA_DIR)")
	fs.StringVar(&c.LogLevel, "log-level", envStr("RETICLE_LOG_LEVEL", c.LogLevel), "debug|info|warn|error (RETICLE_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", envStr("RETICLE_LOG_FORMAT", c.LogFormat), "text|json (RETICLE_LOG_FORMAT)")
	fs.StringVar(&c.Verify, "verify", envStr("RETICLE_VERIFY", c.Verify), "startup self-verification enforce|warn|off (RETICLE_VERIFY)")
	fs.StringVar(&c.DisplayName, "display-name", envStr("RETICLE_DISPLAY_NAME", c.DisplayName), "name announced to LXMF peers (RETICLE_DISPLAY_NAME)")
	fs.StringVar(&c.ManifestPath, "manifest", envStr("RETICLE_MANIFEST", ""), "release manifest.json path (RETICLE_MANIFEST)")
	// No environment default here: --help prints defaults, and this one holds a password.
	fs.StringVar(&c.Database, "database", "", "empty: SQLite in the data dir; postgres://user:pass@host/db: PostgreSQL (RETICLE_DATABASE, or the URL in RETICLE_DATABASE_FILE)")
	fs.StringVar(&c.BundlePath, "bundle", envStr("RETICLE_BUNDLE", ""), "cosign bundle of the manifest (RETICLE_BUNDLE)")
	fs.Var(&proxies, "trusted-proxy", "CIDR or IP of a reverse proxy to trust, repeatable (RETICLE_TRUSTED_PROXY, comma-separated)")
	fs.Var(&ifaces, "interface", "mesh interface URI, repeatable (RETICLE_INTERFACE, comma-separated)")
	envBool := func(name string) (bool, error) {
		v := getenv(name)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("%w: %s=%q is not a boolean", ErrInvalid, name, v)
		}
		return b, nil
	}
	envInt := func(name string, def int) (int, error) {
		v := getenv(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%w: %s=%q is not a whole number", ErrInvalid, name, v)
		}
		return n, nil
	}
	transportDefault, err := envBool("RETICLE_TRANSPORT")
	if err != nil {
		return c, err
	}
	fs.BoolVar(&c.Transport, "transport", transportDefault, "act as a Reticulum transport (routing) node (RETICLE_TRANSPORT)")
	propDefault, err := envBool("RETICLE_PROPAGATION_NODE")
	if err != nil {
		return c, err
	}
	fs.BoolVar(&c.PropagationNode, "propagation-node", propDefault, "act as an LXMF propagation node (RETICLE_PROPAGATION_NODE)")
	storageDefault, err := envInt("RETICLE_PROPAGATION_STORAGE_MB", c.PropagationStorageMB)
	if err != nil {
		return c, err
	}
	fs.IntVar(&c.PropagationStorageMB, "propagation-storage-mb", storageDefault, "storage limit of the hosted propagation node in MB (RETICLE_PROPAGATION_STORAGE_MB)")
	costDefault, err := envInt("RETICLE_PROPAGATION_STAMP_COST", c.PropagationStampCost)
	if err != nil {
		return c, err
	}
	fs.IntVar(&c.PropagationStampCost, "propagation-stamp-cost", costDefault, "stamp cost the hosted propagation node requires, 1-32 (RETICLE_PROPAGATION_STAMP_COST)")
	maxMsgDefault, err := envInt("RETICLE_MAX_MESSAGE_MB", c.MaxMessageMB)
	if err != nil {
		return c, err
	}
	fs.IntVar(&c.MaxMessageMB, "max-message-mb", maxMsgDefault, "largest inbound message or resource in MB, 1-256 (RETICLE_MAX_MESSAGE_MB)")
	perMinDefault, err := envInt("RETICLE_MAX_INBOUND_PER_MINUTE", c.MaxInboundPerMinute)
	if err != nil {
		return c, err
	}
	fs.IntVar(&c.MaxInboundPerMinute, "max-inbound-per-minute", perMinDefault, "messages accepted from one peer per minute, 1-100000 (RETICLE_MAX_INBOUND_PER_MINUTE)")
	if err := budgetFlags(fs, &c, getenv); err != nil {
		return c, err
	}
	annDefault := c.AnnounceInterval
	if v := getenv("RETICLE_ANNOUNCE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("%w: RETICLE_ANNOUNCE_INTERVAL=%q is not a duration like 6h", ErrInvalid, v)
		}
		annDefault = d
	}
	fs.DurationVar(&c.AnnounceInterval, "announce-interval", annDefault, "re-announce interval with random jitter, 0 = off (RETICLE_ANNOUNCE_INTERVAL)")
	syncDefault := c.SyncInterval
	if v := getenv("RETICLE_SYNC_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("%w: RETICLE_SYNC_INTERVAL=%q is not a duration like 1h", ErrInvalid, v)
		}
		syncDefault = d
	}
	fs.DurationVar(&c.SyncInterval, "sync-interval", syncDefault, "sync with the propagation node this often, with random jitter, 0 = only when asked (RETICLE_SYNC_INTERVAL)")
	snapDefault := c.SnapshotInterval
	if v := getenv("RETICLE_SNAPSHOT_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("%w: RETICLE_SNAPSHOT_INTERVAL=%q is not a duration like 12h", ErrInvalid, v)
		}
		snapDefault = d
	}
	fs.DurationVar(&c.SnapshotInterval, "snapshot-interval", snapDefault, "scheduled snapshot interval, 0 = off (RETICLE_SNAPSHOT_INTERVAL)")
	keepDefault := c.SnapshotKeep
	if v := getenv("RETICLE_SNAPSHOT_KEEP"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("%w: RETICLE_SNAPSHOT_KEEP=%q is not a number", ErrInvalid, v)
		}
		keepDefault = n
	}
	fs.IntVar(&c.SnapshotKeep, "snapshot-keep", keepDefault, "scheduled snapshots kept, 1-1000 (RETICLE_SNAPSHOT_KEEP)")
	var peers listFlag
	fs.Var(&peers, "propagation-peer", "propagation node address (32 hex digits) to peer with, repeatable (RETICLE_PROPAGATION_PEER, comma-separated)")

	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", ErrInvalid, fs.Arg(0))
	}
	rawProxies = proxies
	if len(rawProxies) == 0 {
		rawProxies = splitList(getenv("RETICLE_TRUSTED_PROXY"))
	}
	c.Interfaces = ifaces
	if len(c.Interfaces) == 0 {
		c.Interfaces = splitList(getenv("RETICLE_INTERFACE"))
	}
	c.PropagationPeers = peers
	if len(c.PropagationPeers) == 0 {
		c.PropagationPeers = splitList(getenv("RETICLE_PROPAGATION_PEER"))
	}
	for _, p := range rawProxies {
		pfx, err := parsePrefix(p)
		if err != nil {
			return c, fmt.Errorf("%w: --trusted-proxy %q is not a CIDR or IP address", ErrInvalid, p)
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx)
	}
	if c.Database == "" {
		if c.Database, err = DatabaseFromEnv(getenv); err != nil {
			return c, err
		}
	}
	if f := getenv("RETICLE_INITIAL_PASSWORD_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return c, fmt.Errorf("%w: RETICLE_INITIAL_PASSWORD_FILE: %w", ErrInvalid, err)
		}
		c.InitialPassword = strings.TrimRight(string(b), "\r\n")
		if c.InitialPassword == "" {
			return c, fmt.Errorf("%w: RETICLE_INITIAL_PASSWORD_FILE %q is empty", ErrInvalid, f)
		}
	}
	return c, c.Validate()
}

// Validate checks every field and returns the first problem as one line naming the bad value.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("%w: --listen %q must be host:port", ErrInvalid, c.Listen)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%w: --listen %q has a bad port", ErrInvalid, c.Listen)
	}
	if host != "" && host != "localhost" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%w: --listen %q must use an IP address or localhost", ErrInvalid, c.Listen)
		}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return fmt.Errorf("%w: --data-dir must not be empty", ErrInvalid)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("%w: --log-level %q must be debug, info, warn or error", ErrInvalid, c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("%w: --log-format %q must be text or json", ErrInvalid, c.LogFormat)
	}
	switch c.Verify {
	case VerifyEnforce, VerifyWarn, VerifyOff:
	default:
		return fmt.Errorf("%w: --verify %q must be enforce, warn or off", ErrInvalid, c.Verify)
	}
	if n := len(c.DisplayName); n > 128 || !utf8.ValidString(c.DisplayName) {
		return fmt.Errorf("%w: --display-name must be at most 128 bytes of UTF-8", ErrInvalid)
	}
	if c.AnnounceInterval != 0 && (c.AnnounceInterval < time.Minute || c.AnnounceInterval > 7*24*time.Hour) {
		return fmt.Errorf("%w: --announce-interval %s must be 0 (off) or between 1m and 168h", ErrInvalid, c.AnnounceInterval)
	}
	if c.SyncInterval != 0 && (c.SyncInterval < time.Minute || c.SyncInterval > 7*24*time.Hour) {
		return fmt.Errorf("%w: --sync-interval %s must be 0 (off) or between 1m and 168h", ErrInvalid, c.SyncInterval)
	}
	if c.SnapshotInterval != 0 && (c.SnapshotInterval < time.Minute || c.SnapshotInterval > 90*24*time.Hour) {
		return fmt.Errorf("%w: --snapshot-interval %s must be 0 (off) or between 1m and 2160h", ErrInvalid, c.SnapshotInterval)
	}
	if c.SnapshotKeep < 1 || c.SnapshotKeep > 1000 {
		return fmt.Errorf("%w: --snapshot-keep %d must be between 1 and 1000", ErrInvalid, c.SnapshotKeep)
	}
	if c.PropagationStorageMB < 1 || c.PropagationStorageMB > 1<<20 {
		return fmt.Errorf("%w: --propagation-storage-mb %d must be between 1 and 1048576", ErrInvalid, c.PropagationStorageMB)
	}
	if c.MaxInboundPerMinute < 1 || c.MaxInboundPerMinute > 100000 {
		return fmt.Errorf("%w: --max-inbound-per-minute %d must be between 1 and 100000", ErrInvalid, c.MaxInboundPerMinute)
	}
	if c.MaxMessageMB < 1 || c.MaxMessageMB > 256 {
		return fmt.Errorf("%w: --max-message-mb %d must be between 1 and 256", ErrInvalid, c.MaxMessageMB)
	}
	if err := checkDatabase(c.Database); err != nil {
		return err
	}
	if err := c.validateBudget(); err != nil {
		return err
	}
	if c.PropagationStampCost < 1 || c.PropagationStampCost > 32 {
		return fmt.Errorf("%w: --propagation-stamp-cost %d must be between 1 and 32", ErrInvalid, c.PropagationStampCost)
	}
	for _, p := range c.PropagationPeers {
		if b, err := hex.DecodeString(p); err != nil || len(b) != 16 {
			return fmt.Errorf("%w: --propagation-peer %q must be 32 hex digits", ErrInvalid, p)
		}
	}
	for _, raw := range c.Interfaces {
		if err := checkInterfaceURI(raw); err != nil {
			return fmt.Errorf("%w: --interface %q: %w", ErrInvalid, raw, err)
		}
	}
	return nil
}

// DBPath is the SQLite database file inside the data dir.
func (c Config) DBPath() string { return filepath.Join(c.DataDir, "reticle.db") }

// DatabaseFromEnv returns RETICLE_DATABASE, or else the contents of the file RETICLE_DATABASE_FILE
// names (the _FILE convention for secrets), or "" (SQLite). Subcommands use it as their --database default.
func DatabaseFromEnv(getenv func(string) string) (string, error) {
	if v := getenv("RETICLE_DATABASE"); v != "" {
		return v, nil
	}
	f := getenv("RETICLE_DATABASE_FILE")
	if f == "" {
		return "", nil
	}
	b, err := os.ReadFile(f) //nolint:gosec // G304: the operator names the secret file
	if err != nil {
		return "", fmt.Errorf("%w: RETICLE_DATABASE_FILE: %w", ErrInvalid, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%w: RETICLE_DATABASE_FILE %q is empty", ErrInvalid, f)
	}
	return v, checkDatabase(v)
}

// checkDatabase accepts an empty value or a postgres:// URL with a host. Its errors never repeat the
// value, which may hold a password.
func checkDatabase(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("%w: --database must be empty (SQLite in the data dir) or a postgres:// URL", ErrInvalid)
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return fmt.Errorf("%w: --database URL names no host", ErrInvalid)
	}
	return nil
}

func checkInterfaceURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URI")
	}
	known := false
	for _, s := range InterfaceSchemes {
		if u.Scheme == s {
			known = true
		}
	}
	if !known {
		return fmt.Errorf("unknown scheme %q (want one of %s)", u.Scheme, strings.Join(InterfaceSchemes, ", "))
	}
	if strings.HasPrefix(u.Scheme, "tcp-") && u.Port() == "" {
		return errors.New("needs host:port")
	}
	return nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
