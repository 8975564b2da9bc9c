package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"filippo.io/age"
)

// A snapshot holds the node's private keys. One that leaves the machine (a download, `reticle backup
// --passphrase-file`) can be sealed with a passphrase: the archive is encrypted to age's scrypt
// recipient, the format `age -p` writes, so an owner can also open it with the age tool. Opening
// checks the passphrase before anything else: a wrong one is ErrWrongKey, a truncated or altered
// file is ErrInvalid, and nothing is staged from either.

// sealedMagic starts every age file.
var sealedMagic = []byte("age-encryption.org/v1\n")

const (
	// sealWorkFactor is the scrypt cost this package seals with: 2^15, about 32 MiB and a tenth of a
	// second here, so a Raspberry Pi can open its own backups.
	sealWorkFactor = 15
	// maxOpenWorkFactor bounds the scrypt cost of an archive we agree to open (the age tool's default
	// is 18): a hostile file asking for more would make us spend gigabytes.
	maxOpenWorkFactor = 18
	// MinPassphrase is the shortest passphrase Seal accepts, in characters.
	MinPassphrase = 10
	maxPassphrase = 1024
)

var (
	// ErrSealed means the archive is sealed and no passphrase was given.
	ErrSealed = fmt.Errorf("%w: the archive is sealed with a passphrase; give the passphrase to open it", ErrInvalid)
	// ErrWrongKey means the passphrase does not open the sealed archive.
	ErrWrongKey = fmt.Errorf("%w: wrong passphrase: the archive was sealed with a different one", ErrInvalid)
	// ErrBadPassphrase means a passphrase is too short or too long to seal with.
	ErrBadPassphrase = fmt.Errorf("passphrase must be %d to %d characters", MinPassphrase, maxPassphrase)
)

// IsSealedFile reports whether the file at path is a sealed (age) archive.
func IsSealedFile(path string) (bool, error) {
	f, err := os.Open(path) //nolint:gosec // G304: an archive path the owner gave
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	head := make([]byte, len(sealedMagic))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return bytes.Equal(head[:n], sealedMagic), nil
}

// CheckPassphrase says whether p may seal an archive.
func CheckPassphrase(p string) error {
	if n := utf8.RuneCountInString(p); n < MinPassphrase || len(p) > maxPassphrase {
		return ErrBadPassphrase
	}
	return nil
}

// Seal copies the plain archive src to dst, encrypted with passphrase.
func Seal(dst io.Writer, src io.Reader, passphrase string) error {
	if err := CheckPassphrase(passphrase); err != nil {
		return err
	}
	rcp, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	rcp.SetWorkFactor(sealWorkFactor)
	w, err := age.Encrypt(dst, rcp)
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	if _, err := io.Copy(w, src); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	return nil
}

// SealFile writes the plain archive src to out, sealed with passphrase, through a temp name that is
// fsynced and renamed (out either does not exist or is complete).
func SealFile(src, out, passphrase string) error {
	if err := CheckPassphrase(passphrase); err != nil {
		return err
	}
	in, err := os.Open(src) //nolint:gosec // G304: the archive this process just wrote
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	return writeAtomic(out, func(f *os.File) error { return Seal(f, in, passphrase) })
}

// Unseal decrypts the sealed archive src into dst, at most limit bytes. A wrong passphrase is
// ErrWrongKey; a file that is not sealed, truncated, altered or too large is ErrInvalid.
func Unseal(dst io.Writer, src io.Reader, passphrase string, limit int64) error {
	if passphrase == "" {
		return ErrSealed
	}
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWrongKey, err)
	}
	id.SetMaxWorkFactor(maxOpenWorkFactor)
	r, err := age.Decrypt(src, id)
	var nomatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &nomatch):
		// The scrypt stanza's work factor over our bound lands here as well; say so rather than
		// blaming the passphrase.
		for _, e := range nomatch.Errors {
			if !errors.Is(e, age.ErrIncorrectIdentity) {
				return fmt.Errorf("%w: sealed archive refused: %w", ErrInvalid, e)
			}
		}
		return ErrWrongKey
	case err != nil:
		return fmt.Errorf("%w: sealed archive: %w", ErrInvalid, err)
	}
	n, err := io.Copy(dst, io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("%w: sealed archive: %w", ErrInvalid, err)
	}
	if n > limit {
		return fmt.Errorf("%w: sealed archive holds over %d bytes", ErrInvalid, limit)
	}
	return nil
}

// UnsealFile decrypts the sealed archive at path into a new 0600 temp file in dir and returns its
// name; the caller removes it. Nothing is left behind on failure.
func UnsealFile(path, dir, passphrase string, limits Limits) (string, error) {
	limits = limits.norm()
	in, err := os.Open(path) //nolint:gosec // G304: an archive path the owner gave
	if err != nil {
		return "", err
	}
	defer func() { _ = in.Close() }()
	f, err := os.CreateTemp(dir, ".unsealed-*")
	if err != nil {
		return "", err
	}
	err = Unseal(f, in, passphrase, limits.MaxArchive)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
