package link

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

type vectors struct {
	DestPrivateKey  string `json:"dest_private_key"`
	DestHash        string `json:"dest_hash"`
	InitiatorX25519 string `json:"initiator_x25519_private"`
	ResponderX25519 string `json:"responder_x25519_private"`
	ResponderPublic string `json:"responder_x25519_public"`
	Links           []struct {
		MTU        int    `json:"mtu"`
		RequestRaw string `json:"request_raw"`
		LinkID     string `json:"link_id"`
		Shared     string `json:"shared"`
		DerivedKey string `json:"derived_key"`
		ProofData  string `json:"proof_data"`
		Token      string `json:"token"`
		Plaintext  string `json:"plaintext"`
	} `json:"links"`
	Msgpack []struct {
		Name   string `json:"name"`
		Packed string `json:"packed"`
	} `json:"msgpack"`
	Path           string `json:"path"`
	PathHash       string `json:"path_hash"`
	Advertisements []struct {
		Name   string `json:"name"`
		Packed string `json:"packed"`
		T      int64  `json:"t"`
		D      int64  `json:"d"`
		N      int    `json:"n"`
		H      string `json:"h"`
		R      string `json:"r"`
		O      string `json:"o"`
		I      int    `json:"i"`
		L      int    `json:"l"`
		Q      string `json:"q"`
		F      uint8  `json:"f"`
		M      string `json:"m"`
	} `json:"advertisements"`
	HashmapMaxLen int `json:"hashmap_max_len"`
	LinkMDU       int `json:"link_mdu"`
}

func loadVectors(t *testing.T) *vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/link-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	v := new(vectors)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectorsHandshake(t *testing.T) {
	v := loadVectors(t)
	if v.HashmapMaxLen != hashmapMaxLen || v.LinkMDU != wire.LinkMDU {
		t.Fatalf("constants: hashmap %d/%d mdu %d/%d", v.HashmapMaxLen, hashmapMaxLen, v.LinkMDU, wire.LinkMDU)
	}
	destID, err := identity.FromPrivateKey(unhex(t, v.DestPrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ecdh.X25519().NewPrivateKey(unhex(t, v.ResponderX25519))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.PublicKey().Bytes(), unhex(t, v.ResponderPublic)) {
		t.Fatal("responder public key differs")
	}
	for _, lv := range v.Links {
		p, err := wire.Unmarshal(unhex(t, lv.RequestRaw))
		if err != nil {
			t.Fatal(err)
		}
		if p.DestinationHash.String() != v.DestHash || p.PacketType != wire.LinkRequest {
			t.Fatal("request header differs")
		}
		id := wire.LinkID(p)
		if hex.EncodeToString(id[:]) != lv.LinkID {
			t.Fatalf("mtu %d: link id %x, want %s", lv.MTU, id, lv.LinkID)
		}
		peer, err := ecdh.X25519().NewPublicKey(p.Data[:keyHalf])
		if err != nil {
			t.Fatal(err)
		}
		shared, err := resp.ECDH(peer)
		if err != nil || !bytes.Equal(shared, unhex(t, lv.Shared)) {
			t.Fatalf("shared secret differs: %v", err)
		}
		key, err := DeriveKey(shared, id)
		if err != nil || !bytes.Equal(key, unhex(t, lv.DerivedKey)) {
			t.Fatalf("derived key differs: %v", err)
		}
		tok, err := identity.NewToken(key)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := tok.Decrypt(unhex(t, lv.Token))
		if err != nil || !bytes.Equal(pt, unhex(t, lv.Plaintext)) {
			t.Fatalf("token from the reference does not decrypt: %v", err)
		}
		mtu := lv.MTU
		if mtu == 0 {
			mtu = wire.MTU
		}
		sb, err := wire.LinkSignalling(mtu, modeDefault)
		if err != nil {
			t.Fatal(err)
		}
		proof, err := proofData(destID, id, resp.PublicKey().Bytes(), sb)
		if err != nil || !bytes.Equal(proof, unhex(t, lv.ProofData)) {
			t.Fatalf("mtu %d: proof differs: %v", lv.MTU, err)
		}
	}
}

func TestVectorsMsgpack(t *testing.T) {
	v := loadVectors(t)
	if ph := PathHash(v.Path); hex.EncodeToString(ph[:]) != v.PathHash {
		t.Fatal("path hash differs")
	}
	// The link layer's own packings, built with the codec, match the
	// reference byte for byte.
	ph := PathHash(v.Path)
	rid := sha256.Sum256([]byte("request id"))
	built := map[string][]byte{
		"rtt":              msgpack.Float(0.0123456).Encode(),
		"request":          msgpack.Array(msgpack.Float(1700000000.25), msgpack.Bin(ph[:]), msgpack.Bin([]byte("request data"))).Encode(),
		"request nil data": msgpack.Array(msgpack.Float(1700000000.25), msgpack.Bin(ph[:]), msgpack.Nil()).Encode(),
		"response":         msgpack.Array(msgpack.Bin(rid[:16]), msgpack.Bin(bytes.Repeat([]byte("x"), 300))).Encode(),
		"map":              msgpack.Map(msgpack.KV{Key: msgpack.Str("n"), Value: msgpack.Int(20000)}).Encode(),
	}
	hm := sha256.Sum256([]byte("hm"))
	built["hashmap update"] = msgpack.Array(msgpack.Int(3), msgpack.Bin(bytes.Repeat(hm[:], 9))).Encode()
	for _, m := range v.Msgpack {
		want, ok := built[m.Name]
		if !ok {
			continue
		}
		if !bytes.Equal(want, unhex(t, m.Packed)) {
			t.Errorf("%s: built\n%x\nwant\n%s", m.Name, want, m.Packed)
		}
		delete(built, m.Name)
	}
	if len(built) != 0 {
		t.Fatalf("vectors missing: %v", built)
	}
}

func TestVectorsAdvertisement(t *testing.T) {
	v := loadVectors(t)
	for _, av := range v.Advertisements {
		t.Run(av.Name, func(t *testing.T) {
			a := &Advertisement{
				TransferSize: av.T, DataSize: av.D, Parts: av.N, SegmentIndex: av.I, TotalSegments: av.L,
				Flags: av.F, Hashmap: unhex(t, av.M),
			}
			copy(a.Hash[:], unhex(t, av.H))
			copy(a.RandomHash[:], unhex(t, av.R))
			copy(a.OriginalHash[:], unhex(t, av.O))
			if av.Q != "" {
				a.RequestID = unhex(t, av.Q)
			}
			b := a.Marshal()
			if hex.EncodeToString(b) != av.Packed {
				t.Fatalf("packed\n%x\nwant\n%s", b, av.Packed)
			}
			got, err := ParseAdvertisement(unhex(t, av.Packed))
			if err != nil {
				t.Fatal(err)
			}
			again := got.Marshal()
			if !bytes.Equal(again, b) {
				t.Fatal("parse/marshal round trip differs")
			}
			if got.IsResponse() != (av.F&flagResponse != 0) || got.IsRequest() != (av.F&flagRequest != 0) || got.Compressed() != (av.F&flagCompressed != 0) {
				t.Fatal("flags differ")
			}
		})
	}
}

func readVectors() (*vectors, error) {
	b, err := os.ReadFile("testdata/link-vectors.json")
	if err != nil {
		return nil, err
	}
	v := new(vectors)
	return v, json.Unmarshal(b, v)
}

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }

func TestCompressedResourceFromReference(t *testing.T) {
	var raw struct {
		BZ2 struct {
			PlainSHA256 string `json:"plain_sha256"`
			PlainSize   int    `json:"plain_size"`
			Compressed  string `json:"compressed"`
			Bomb        string `json:"bomb"`
		} `json:"bz2"`
	}
	b, _ := os.ReadFile("testdata/link-vectors.json")
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("reticle compressible payload "), 4000)
	if sum := sha256.Sum256(plain); hex.EncodeToString(sum[:]) != raw.BZ2.PlainSHA256 {
		t.Fatal("test text differs from the vector's")
	}
	send := func(t *testing.T, p *pair, la *Link, data, compressed []byte) *Resource {
		la.mu.Lock()
		r, err := la.startOutgoingLocked(data, nil, false, p.clock.Now(), func(r *Resource) { r.compressed = compressed })
		la.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		p.pump()
		return r
	}
	t.Run("decompressed intact", func(t *testing.T) {
		var got []*Resource
		n := 0
		p := newPair(t, 500, Options{}, acceptAll(&got, &n))
		la, _ := p.open(Callbacks{})
		r := send(t, p, la, plain, unhex(t, raw.BZ2.Compressed))
		if r.Err() != nil || len(got) != 1 || !bytes.Equal(got[0].Data(), plain) {
			t.Fatalf("compressed resource: sender %v, received %d", r.Err(), len(got))
		}
	})
	t.Run("decompression bomb refused", func(t *testing.T) {
		var got []*Resource
		n := 0
		p := newPair(t, 500, Options{MaxResourceSize: 1 << 20}, acceptAll(&got, &n))
		la, _ := p.open(Callbacks{})
		r := send(t, p, la, []byte("tiny claim"), unhex(t, raw.BZ2.Bomb))
		if !errors.Is(r.Err(), ErrRejected) || len(got) != 1 || !errors.Is(got[0].Err(), ErrTooLarge) || got[0].Data() != nil {
			t.Fatalf("bomb: sender %v, receiver %v", r.Err(), got)
		}
		if la.Status() != StatusActive {
			t.Fatal("link harmed")
		}
	})
}
