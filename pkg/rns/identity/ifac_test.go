package identity

import (
	"bytes"
	"errors"
	"testing"
)

func TestIFACVectors(t *testing.T) {
	v := loadVectors(t)
	for i, iv := range v.IFAC {
		c, err := NewIFAC(iv.Netname, iv.Netkey, iv.Size)
		if err != nil {
			t.Fatalf("ifac %d: %v", i, err)
		}
		if !bytes.Equal(c.Key(), unhex(t, iv.IFACKey)) || !bytes.Equal(c.Signature(), unhex(t, iv.IFACSignature)) {
			t.Errorf("ifac %d: key or signature differs", i)
		}
		raw, masked := unhex(t, iv.Raw), unhex(t, iv.Masked)
		got, err := c.Apply(raw)
		if err != nil || !bytes.Equal(got, masked) {
			t.Errorf("ifac %d (%d bytes): masked frame differs (%v)", i, len(raw), err)
		}
		back, err := c.Remove(masked)
		if err != nil || !bytes.Equal(back, raw) {
			t.Errorf("ifac %d: unmasked frame differs (%v)", i, err)
		}
		for _, pos := range []int{0, 1, 2, len(masked) - 1} {
			bad := bytes.Clone(masked)
			bad[pos] ^= 0x01
			if _, err := c.Remove(bad); !errors.Is(err, ErrIFACInvalid) {
				t.Errorf("ifac %d: flipped byte %d: %v", i, pos, err)
			}
		}
		other, _ := NewIFAC(iv.Netname+"x", iv.Netkey, iv.Size)
		if _, err := other.Remove(masked); !errors.Is(err, ErrIFACInvalid) {
			t.Errorf("ifac %d: another network's key accepted the frame: %v", i, err)
		}
	}
}

func TestIFACErrors(t *testing.T) {
	if _, err := NewIFAC("", "", 16); !errors.Is(err, ErrIFACConfig) {
		t.Errorf("no name or key: %v", err)
	}
	for _, n := range []int{0, 65} {
		if _, err := NewIFAC("n", "k", n); !errors.Is(err, ErrIFACSize) {
			t.Errorf("size %d: %v", n, err)
		}
	}
	c, err := NewIFAC("n", "k", 8)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size() != 8 {
		t.Errorf("size %d", c.Size())
	}
	if _, err := c.Remove(append([]byte{0x00, 0x00}, make([]byte, 30)...)); !errors.Is(err, ErrIFACMissing) {
		t.Errorf("flag not set: %v", err)
	}
	if _, err := c.Remove(append([]byte{0x80, 0x00}, make([]byte, 8)...)); !errors.Is(err, ErrIFACMissing) {
		t.Errorf("too short: %v", err)
	}
	if _, err := c.Apply([]byte{0x00, 0x00}); err == nil {
		t.Error("two-byte frame accepted")
	}
}
