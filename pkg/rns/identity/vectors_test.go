package identity

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

var (
	// vectorFile is produced by test/vectors/make_rns_vectors.py with RNS 1.5.7.
	vectorFile = filepath.Join("..", "..", "..", "testdata", "rns-1.5.7-vectors.json")
	// legacyVectorFile was produced with RNS 1.4.2 (see testdata/README.md).
	legacyVectorFile = filepath.Join("..", "..", "..", "testdata", "reference-vectors.json")
)

type identityVector struct {
	PrivateKey string `json:"private_key"`
	PublicKey  string `json:"public_key"`
	Hash       string `json:"hash"`
}

type tokenVector struct {
	Identity       int    `json:"identity"`
	Key            string `json:"key"`
	RatchetPrivate string `json:"ratchet_private"`
	RatchetPublic  string `json:"ratchet_public"`
	RatchetID      string `json:"ratchet_id"`
	Plaintext      string `json:"plaintext"`
	Token          string `json:"token"`
}

type announceVector struct {
	Identity        int    `json:"identity"`
	Name            string `json:"name"`
	DestinationHash string `json:"destination_hash"`
	NameHash        string `json:"name_hash"`
	AppData         string `json:"app_data"`
	RatchetPublic   string `json:"ratchet_public"`
	RatchetPrivate  string `json:"ratchet_private"`
	RatchetID       string `json:"ratchet_id"`
	Timestamp       int64  `json:"timestamp"`
	TimeMin         int64  `json:"time_min"`
	TimeMax         int64  `json:"time_max"`
	Packet          string `json:"packet"`
}

type ifacVector struct {
	Netname       string `json:"netname"`
	Netkey        string `json:"netkey"`
	Size          int    `json:"size"`
	IFACKey       string `json:"ifac_key"`
	IFACSignature string `json:"ifac_signature"`
	Raw           string `json:"raw"`
	Masked        string `json:"masked"`
}

type vectors struct {
	Reference struct {
		RNS string `json:"rns"`
	} `json:"reference"`
	Identities   []identityVector `json:"identities"`
	Destinations []struct {
		App      string   `json:"app"`
		Aspects  []string `json:"aspects"`
		Identity int      `json:"identity"`
		Name     string   `json:"name"`
		NameHash string   `json:"name_hash"`
		Hash     string   `json:"hash"`
	} `json:"destinations"`
	Announces      []announceVector `json:"announces"`
	ExactAnnounces []struct {
		Identity       int      `json:"identity"`
		App            string   `json:"app"`
		Aspects        []string `json:"aspects"`
		AppData        string   `json:"app_data"`
		Random         string   `json:"random"`
		Time           int64    `json:"time"`
		PathResponse   bool     `json:"path_response"`
		RatchetPublic  string   `json:"ratchet_public"`
		RatchetPrivate string   `json:"ratchet_private"`
		Packet         string   `json:"packet"`
	} `json:"exact_announces"`
	InvalidAnnounces []struct {
		Name   string `json:"name"`
		Packet string `json:"packet"`
	} `json:"invalid_announces"`
	Tokens struct {
		Identity []tokenVector `json:"identity"`
		Ratchet  []tokenVector `json:"ratchet"`
		Group    []tokenVector `json:"group"`
	} `json:"tokens"`
	HKDF []struct {
		Length int    `json:"length"`
		IKM    string `json:"ikm"`
		Salt   string `json:"salt"`
		Info   string `json:"info"`
		OKM    string `json:"okm"`
	} `json:"hkdf"`
	IFAC   []ifacVector `json:"ifac"`
	Proofs []struct {
		Identity   int    `json:"identity"`
		PacketHash string `json:"packet_hash"`
		Signature  string `json:"signature"`
	} `json:"proofs"`
}

type legacyVectors struct {
	Reference struct {
		RNS string `json:"rns"`
	} `json:"reference"`
	Identities []identityVector `json:"identities"`
	NameHashes []struct {
		Name     string `json:"name"`
		NameHash string `json:"name_hash"`
	} `json:"name_hashes"`
	DestinationHashes []struct {
		Identity int      `json:"identity"`
		App      string   `json:"app"`
		Aspects  []string `json:"aspects"`
		Hash     string   `json:"hash"`
	} `json:"destination_hashes"`
	PlainDestinationHashes []struct {
		App     string   `json:"app"`
		Aspects []string `json:"aspects"`
		Hash    string   `json:"hash"`
	} `json:"plain_destination_hashes"`
	Signatures []struct {
		Identity  int    `json:"identity"`
		Message   string `json:"message"`
		Signature string `json:"signature"`
	} `json:"signatures"`
	IdentityEncrypt []tokenVector `json:"identity_encrypt"`
	Announces       []struct {
		Identity        int    `json:"identity"`
		DestinationHash string `json:"destination_hash"`
		AppData         string `json:"app_data"`
		Packet          string `json:"packet"`
	} `json:"announces"`
}

func readJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read vectors: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("decode %s: %v", path, err)
	}
}

func loadVectors(tb testing.TB) *vectors {
	tb.Helper()
	var v vectors
	readJSON(tb, vectorFile, &v)
	if v.Reference.RNS != "1.5.7" || len(v.Identities) == 0 || len(v.Tokens.Ratchet) == 0 || len(v.IFAC) == 0 ||
		len(v.ExactAnnounces) == 0 {
		tb.Fatalf("vector file incomplete or from rns %q", v.Reference.RNS)
	}
	return &v
}

func loadLegacyVectors(tb testing.TB) *legacyVectors {
	tb.Helper()
	var v legacyVectors
	readJSON(tb, legacyVectorFile, &v)
	if len(v.Identities) == 0 || len(v.Announces) == 0 {
		tb.Fatal("legacy vector file incomplete")
	}
	return &v
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func vectorIdentities(tb testing.TB, ivs []identityVector) []*Identity {
	tb.Helper()
	out := make([]*Identity, len(ivs))
	for i, iv := range ivs {
		id, err := FromPrivateKey(unhex(tb, iv.PrivateKey))
		if err != nil {
			tb.Fatalf("identity %d: %v", i, err)
		}
		out[i] = id
	}
	return out
}
