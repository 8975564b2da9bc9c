package msgpack

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// hexb is a JSON hex string.
type hexb []byte

func (h *hexb) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

// codecVectors is testdata/umsgpack-vectors.json (see testdata/README.md).
type codecVectors struct {
	Msgpack []hexb `json:"msgpack"`
	Repack  []struct {
		In    hexb   `json:"in"`
		Out   hexb   `json:"out"`
		Error string `json:"error"`
	} `json:"msgpack_repack"`
	LXMFSeeds []hexb `json:"lxmf_seeds"`
}

func loadVectors(t testing.TB) *codecVectors {
	t.Helper()
	const path = "testdata/umsgpack-vectors.json"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var v codecVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return &v
}
