package integrity

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Default file names and places of the release files.
const (
	// ManifestName is the file name of the manifest.
	ManifestName = "manifest.json"
	// BundleSuffix is appended to the manifest path to name its signature bundle.
	BundleSuffix = ".sigstore.json"
	// SystemDir is where the release image puts manifest.json and its bundle.
	SystemDir = "/usr/share/reticle"
)

// Status is the outcome of a check.
type Status string

// Verification statuses.
const (
	// StatusVerified means the signature and every listed file checked out.
	StatusVerified Status = "verified"
	// StatusUnsignedDev means a development build without manifest and bundle.
	StatusUnsignedDev Status = "unsigned-dev"
	// StatusWarning means the check failed in warn mode; Reticle runs anyway.
	StatusWarning Status = "warning"
	// StatusFailed means the check failed in enforce mode; the caller must refuse to start.
	StatusFailed Status = "failed"
	// StatusSkipped means the mode is off.
	StatusSkipped Status = "skipped"
)

// File check results.
const (
	FileOK         = "ok"
	FileMismatch   = "mismatch"
	FileMissing    = "missing"
	FileUnreadable = "unreadable"
)

// Options configure [Verify]. Only PublicKeyPEM is required.
type Options struct {
	// Mode is enforce, warn or off; empty means enforce.
	Mode Mode
	// ManifestPath overrides the search for manifest.json (see [DefaultManifestPaths]).
	ManifestPath string
	// BundlePath overrides the bundle path; default ManifestPath + ".sigstore.json".
	BundlePath string
	// PublicKeyPEM is the trusted key (the embedded cosign.pub).
	PublicKeyPEM []byte
	// Root is the directory manifest paths are relative to; default the manifest's directory.
	Root string
	// ExePath is the file checked for [ExecutableEntry]; default /proc/self/exe, else os.Executable.
	ExePath string
	// DevBuild says this binary is a development build (buildinfo.IsDev). A development build without
	// manifest and bundle is reported as StatusUnsignedDev, even in enforce mode; a release build
	// without them fails in enforce mode.
	DevBuild bool
	// Logger receives one line with the outcome; nil discards.
	Logger *slog.Logger
}

// FileResult is the check of one manifest entry.
type FileResult struct {
	Path     string `json:"path"`
	Status   string `json:"status"`
	Expected string `json:"expected_sha256"`
	Actual   string `json:"actual_sha256,omitempty"`
	Size     int64  `json:"size"`
	Detail   string `json:"detail,omitempty"`
}

// Report is the outcome of [Verify], suitable for logs, `reticle verify` and the UI.
type Report struct {
	Status       Status       `json:"status"`
	Mode         Mode         `json:"mode"`
	Message      string       `json:"message"`
	ManifestPath string       `json:"manifest_path,omitempty"`
	BundlePath   string       `json:"bundle_path,omitempty"`
	Files        []FileResult `json:"files,omitempty"`
	// Err is the failure (nil when verified, unsigned-dev or skipped); it wraps one sentinel.
	Err error `json:"-"`
}

// DefaultManifestPaths lists where [Verify] looks for manifest.json when no path is given, in order:
// ../share/reticle/ next to the executable, then /usr/share/reticle/.
func DefaultManifestPaths() []string {
	var out []string
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		out = append(out, filepath.Join(filepath.Dir(exe), "..", "share", "reticle", ManifestName))
	}
	sys := filepath.Join(SystemDir, ManifestName)
	if len(out) == 0 || filepath.Clean(out[0]) != sys {
		out = append(out, sys)
	}
	return out
}

// Verify checks the release signature and files. It returns an error only in enforce mode when the check
// fails (Report.Status is then StatusFailed); the caller then exits non-zero printing err, which is one
// line naming the failing file or signature. In warn mode a failure gives StatusWarning and a nil error.
func Verify(opts Options) (Report, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mode := opts.Mode
	if mode == "" {
		mode = ModeEnforce
	}
	if _, err := ParseMode(string(mode)); err != nil {
		return Report{Status: StatusFailed, Mode: mode, Message: err.Error(), Err: err}, err
	}
	if mode == ModeOff {
		log.Warn("integrity self-verification is off", "integrity_mode", string(mode))
		return Report{Status: StatusSkipped, Mode: mode, Message: "self-verification is off"}, nil
	}
	rep := check(opts)
	rep.Mode = mode
	switch {
	case rep.Err == nil && rep.Status == StatusUnsignedDev:
		log.Warn("unsigned development build: release manifest not checked", "integrity_mode", string(mode))
	case rep.Err == nil:
		log.Info("integrity verified", "manifest", rep.ManifestPath, "files", len(rep.Files))
	case mode == ModeWarn:
		rep.Status = StatusWarning
		log.Warn("integrity check failed; continuing in warn mode", "error", rep.Message, "manifest", rep.ManifestPath)
	default:
		rep.Status = StatusFailed
		log.Error("integrity check failed", "error", rep.Message, "manifest", rep.ManifestPath)
		return rep, rep.Err
	}
	return rep, nil
}

// check runs the verification; a failure is in Report.Err and Report.Message.
func check(opts Options) Report {
	fail := func(r Report, err error) Report {
		r.Err = fmt.Errorf("integrity: %w", err)
		r.Message = r.Err.Error()
		return r
	}
	var rep Report
	if _, err := ParsePublicKeyPEM(opts.PublicKeyPEM); err != nil {
		return fail(rep, err)
	}
	manifestPath, bundlePath := opts.ManifestPath, opts.BundlePath
	if manifestPath == "" {
		candidates := DefaultManifestPaths()
		for _, c := range candidates {
			if exists(c) {
				manifestPath = c
				break
			}
		}
		if manifestPath == "" && bundlePath == "" {
			if opts.DevBuild {
				rep.Status = StatusUnsignedDev
				rep.Message = "unsigned development build (no manifest in " + strings.Join(candidates, ", ") + ")"
				return rep
			}
			return fail(rep, fmt.Errorf("%w: looked in %s", ErrNoManifest, strings.Join(candidates, ", ")))
		}
	}
	if bundlePath == "" {
		bundlePath = manifestPath + BundleSuffix
	}
	rep.ManifestPath, rep.BundlePath = manifestPath, bundlePath
	haveManifest, haveBundle := manifestPath != "" && exists(manifestPath), exists(bundlePath)
	switch {
	case !haveManifest && !haveBundle:
		return fail(rep, fmt.Errorf("%w: %s and %s do not exist", ErrNoManifest, manifestPath, bundlePath))
	case !haveManifest:
		return fail(rep, fmt.Errorf("%w: %s (its bundle %s exists)", ErrManifestMissing, orUnset(manifestPath), bundlePath))
	case !haveBundle:
		return fail(rep, fmt.Errorf("%w: %s (manifest %s is unsigned)", ErrBundleMissing, bundlePath, manifestPath))
	}
	manifestBytes, err := readLimited(manifestPath, MaxManifestSize)
	if err != nil {
		return fail(rep, fmt.Errorf("%w: %s: %s", ErrManifestMalformed, manifestPath, oneLine(err.Error())))
	}
	bundleBytes, err := readLimited(bundlePath, MaxBundleSize)
	if err != nil {
		return fail(rep, fmt.Errorf("%w: %s: %s", ErrBundleMalformed, bundlePath, oneLine(err.Error())))
	}
	if err := VerifyBundle(manifestBytes, bundleBytes, opts.PublicKeyPEM); err != nil {
		return fail(rep, fmt.Errorf("%w (manifest %s, bundle %s)", err, manifestPath, bundlePath))
	}
	m, err := ParseManifest(manifestBytes)
	if err != nil {
		return fail(rep, fmt.Errorf("%w (%s)", err, manifestPath))
	}
	root := opts.Root
	if root == "" {
		root = filepath.Dir(manifestPath)
	}
	rep.Files, err = checkFiles(m, root, opts.ExePath)
	if err != nil {
		return fail(rep, err)
	}
	rep.Status = StatusVerified
	rep.Message = fmt.Sprintf("verified %s against %s", plural(len(rep.Files), "file"), manifestPath)
	return rep
}

// checkFiles hashes every entry; the error names the first failing file and counts the others.
func checkFiles(m *Manifest, root, exePath string) ([]FileResult, error) {
	r, rootErr := os.OpenRoot(root)
	if rootErr == nil {
		defer func() { _ = r.Close() }() // read-only
	}
	results := make([]FileResult, 0, len(m.Files))
	var first error
	failed := 0
	for _, e := range m.Files {
		res := FileResult{Path: e.Path, Expected: e.SHA256, Size: e.Size, Status: FileOK}
		var f *os.File
		var err error
		switch {
		case e.Path == ExecutableEntry:
			f, err = openExecutable(exePath)
		case rootErr != nil:
			err = rootErr
		default:
			f, err = r.Open(filepath.FromSlash(e.Path))
		}
		var ferr error
		if err == nil {
			var size int64
			res.Actual, size, err = hashRegular(f)
			_ = f.Close()
			if err == nil && (res.Actual != e.SHA256 || size != e.Size) {
				res.Status = FileMismatch
				res.Detail = fmt.Sprintf("expected sha256 %s size %d, got sha256 %s size %d", e.SHA256, e.Size, res.Actual, size)
				ferr = fmt.Errorf("%w: %s: %s", ErrFileMismatch, e.Path, res.Detail)
			}
		}
		if err != nil {
			res.Status, res.Detail = FileUnreadable, oneLine(err.Error())
			sentinel := ErrFileUnreadable
			if errors.Is(err, fs.ErrNotExist) {
				res.Status, res.Detail, sentinel = FileMissing, "does not exist", ErrFileMissing
			}
			ferr = fmt.Errorf("%w: %s (%s)", sentinel, e.Path, res.Detail)
		}
		if ferr != nil {
			failed++
			if first == nil {
				first = ferr
			}
		}
		results = append(results, res)
	}
	if failed > 1 {
		first = fmt.Errorf("%w (and %s failed)", first, plural(failed-1, "more file"))
	}
	return results, first
}

func openExecutable(p string) (*os.File, error) {
	if p != "" {
		return os.Open(p)
	}
	if f, err := os.Open("/proc/self/exe"); err == nil {
		return f, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate executable: %w", err)
	}
	return os.Open(exe)
}

func readLimited(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

func orUnset(p string) string {
	if p == "" {
		return "(no manifest path given)"
	}
	return p
}

// plural formats "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
