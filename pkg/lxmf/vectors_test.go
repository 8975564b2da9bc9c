package lxmf

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
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

// pyResult is {"value": x} or {"error": "ExceptionName"} from the script.
type pyResult struct {
	Value json.RawMessage `json:"value"`
	Error string          `json:"error"`
}

type vectorIdentity struct {
	PrivateKey   hexb `json:"private_key"`
	PublicKey    hexb `json:"public_key"`
	Hash         hexb `json:"hash"`
	DeliveryHash hexb `json:"delivery_hash"`
}

type lxmfVectors struct {
	Timestamp  float64          `json:"timestamp"`
	Identities []vectorIdentity `json:"identities"`
	Messages   []struct {
		Name           string  `json:"name"`
		Source         int     `json:"source"`
		Destination    int     `json:"destination"`
		Timestamp      float64 `json:"timestamp"`
		Title          hexb    `json:"title"`
		Content        hexb    `json:"content"`
		FieldsPacked   hexb    `json:"fields_packed"`
		Packed         hexb    `json:"packed"`
		MessageID      hexb    `json:"message_id"`
		Signature      hexb    `json:"signature"`
		Method         int     `json:"method"`
		Representation int     `json:"representation"`
	} `json:"messages"`
	Stamped []struct {
		Kind        string  `json:"kind"`
		Cost        int     `json:"cost"`
		Timestamp   float64 `json:"timestamp"`
		Content     hexb    `json:"content"`
		Source      int     `json:"source"`
		Destination int     `json:"destination"`
		Ticket      hexb    `json:"ticket"`
		Packed      hexb    `json:"packed"`
		MessageID   hexb    `json:"message_id"`
		Signature   hexb    `json:"signature"`
		Stamp       hexb    `json:"stamp"`
		StampValue  int     `json:"stamp_value"`
	} `json:"stamped"`
	Propagated []struct {
		Method                string `json:"method"`
		Source                int    `json:"source"`
		Destination           int    `json:"destination"`
		PropagationCost       *int   `json:"propagation_cost"`
		PropagationPacked     hexb   `json:"propagation_packed"`
		TransientID           hexb   `json:"transient_id"`
		PropagationStamp      hexb   `json:"propagation_stamp"`
		PropagationStampValue *int   `json:"propagation_stamp_value"`
		PaperPacked           hexb   `json:"paper_packed"`
		URI                   string `json:"uri"`
		Packed                hexb   `json:"packed"`
		MessageID             hexb   `json:"message_id"`
	} `json:"propagated"`
	Workblocks []struct {
		Material hexb `json:"material"`
		Rounds   int  `json:"rounds"`
		Length   int  `json:"length"`
		SHA256   hexb `json:"sha256"`
		Head     hexb `json:"head"`
		Stamps   []struct {
			Stamp hexb            `json:"stamp"`
			Value int             `json:"value"`
			Valid map[string]bool `json:"valid"`
		} `json:"stamps"`
	} `json:"workblocks"`
	PeeringKeys []struct {
		PeeringID           hexb `json:"peering_id"`
		Key                 hexb `json:"key"`
		Cost                int  `json:"cost"`
		Value               int  `json:"value"`
		Valid               bool `json:"valid"`
		ValidAtValuePlusOne bool `json:"valid_at_value_plus_one"`
	} `json:"peering_keys"`
	DeliveryAppData []struct {
		DisplayName *string `json:"display_name"`
		StampCost   *int    `json:"stamp_cost"`
		AppData     hexb    `json:"app_data"`
	} `json:"delivery_app_data"`
	AppDataParse []struct {
		AppData     hexb     `json:"app_data"`
		DisplayName pyResult `json:"display_name"`
		StampCost   pyResult `json:"stamp_cost"`
		Compression pyResult `json:"compression"`
	} `json:"app_data_parse"`
	PNAppData []struct {
		AppData   hexb     `json:"app_data"`
		Valid     bool     `json:"valid"`
		Name      pyResult `json:"name"`
		StampCost pyResult `json:"stamp_cost"`
	} `json:"pn_app_data"`
	Unpack []struct {
		Name            string          `json:"name"`
		Packed          hexb            `json:"packed"`
		SignedMessageID hexb            `json:"signed_message_id"`
		OK              bool            `json:"ok"`
		Error           string          `json:"error"`
		MessageID       hexb            `json:"message_id"`
		SignatureValid  bool            `json:"signature_valid"`
		Stamp           json.RawMessage `json:"stamp"`
	} `json:"unpack"`
}

func loadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}

func loadVectors(t testing.TB) (*lxmfVectors, []*identity.Identity) {
	t.Helper()
	var v lxmfVectors
	loadJSON(t, "testdata/lxmf-1.2.1-vectors.json", &v)
	ids := make([]*identity.Identity, len(v.Identities))
	for i, vi := range v.Identities {
		id, err := identity.FromPrivateKey(vi.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(id.PublicKey(), vi.PublicKey) {
			t.Fatalf("identity %d public key differs", i)
		}
		if dh := DeliveryHash(id); !bytes.Equal(dh[:], vi.DeliveryHash) {
			t.Fatalf("identity %d delivery hash %x, want %x", i, dh, vi.DeliveryHash)
		}
		ids[i] = id
	}
	return &v, ids
}

// typedFields builds the fields of the named vector cases with the typed
// helpers, so the helpers are checked against the reference's bytes.
func typedFields(v *lxmfVectors, name string) (Fields, bool) {
	var f Fields
	seeded := func(label string, n int) []byte { return seededBytes(label, n) }
	switch name {
	case "attachments":
		f.SetAttachments([]Attachment{{"a.txt", []byte("attachment bytes")}, {"b.bin", seeded("bin", 300)}})
	case "image":
		f.SetImage(Image{"webp", seeded("img", 200)})
	case "audio":
		f.SetAudio(Audio{AudioOpusOgg, seeded("aud", 120)})
	case "ticket_field":
		f.SetTicket(Ticket{v.Timestamp + 21*24*60*60, seeded("ticket", 16)})
	case "all_typed":
		f.SetAttachments([]Attachment{{"a.txt", []byte("attachment bytes")}})
		f.SetImage(Image{"png", []byte("\x89PNG")})
		f.SetAudio(Audio{AudioCodec2_1200, make([]byte, 10)})
	case "renderer_thread":
		f.Set(FieldRenderer, msgpack.Int(RendererMarkdown))
		f.Set(FieldThread, msgpack.Bin(seeded("thread", 32)))
		f.Set(FieldReplyTo, msgpack.Bin(seeded("reply", 32)))
	default:
		return nil, false
	}
	return f, true
}

func TestMessageVectors(t *testing.T) {
	v, ids := loadVectors(t)
	for _, c := range v.Messages {
		t.Run(c.Name, func(t *testing.T) {
			dv, err := msgpack.DecodeValue(c.FieldsPacked, msgpack.Limits{})
			if err != nil {
				t.Fatalf("decode fields: %v", err)
			}
			if got := dv.Encode(); !bytes.Equal(got, c.FieldsPacked) {
				t.Fatalf("fields re-encode\n got %x\nwant %x", got, c.FieldsPacked)
			}
			fields, err := FieldsFromValue(dv)
			if err != nil {
				t.Fatal(err)
			}
			if tf, ok := typedFields(v, c.Name); ok {
				if got := tf.Value().Encode(); !bytes.Equal(got, c.FieldsPacked) {
					t.Fatalf("typed fields\n got %x\nwant %x", got, c.FieldsPacked)
				}
				fields = tf
			}
			m := &Message{Destination: DeliveryHash(ids[c.Destination]), Timestamp: c.Timestamp,
				Title: c.Title, Content: c.Content, Fields: fields}
			if err := m.Pack(ids[c.Source]); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.Packed, c.Packed) {
				t.Fatalf("packed\n got %x\nwant %x", m.Packed, c.Packed)
			}
			if !bytes.Equal(m.ID[:], c.MessageID) || !bytes.Equal(m.Signature, c.Signature) {
				t.Fatalf("id %x sig %x", m.ID, m.Signature)
			}
			desired := MethodDirect
			if c.Method == int(MethodOpportunistic) || c.Name == "opportunistic_large" {
				desired = MethodOpportunistic
			}
			meth, rep, err := m.Plan(desired)
			if err != nil || int(meth) != c.Method || int(rep) != c.Representation {
				t.Fatalf("plan %d: %d %d %v, want %d %d", desired, meth, rep, err, c.Method, c.Representation)
			}

			u, err := Unpack(c.Packed, msgpack.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if u.ID != m.ID || !bytes.Equal(u.Title, c.Title) || !bytes.Equal(u.Content, c.Content) ||
				u.Timestamp != c.Timestamp || u.Stamp != nil {
				t.Fatalf("unpacked %+v", u)
			}
			if err := u.Verify(ids[c.Source]); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if got := u.Fields.Value().Encode(); !bytes.Equal(got, c.FieldsPacked) {
				t.Fatalf("unpacked fields re-encode differ")
			}
			opp, _ := m.Opportunistic()
			o, err := UnpackOpportunistic(opp, m.Destination, msgpack.Limits{})
			if err != nil || o.ID != m.ID || o.Verify(ids[c.Source]) != nil {
				t.Fatalf("opportunistic round trip: %v", err)
			}
		})
	}
}

func TestStampedVectors(t *testing.T) {
	v, ids := loadVectors(t)
	for _, c := range v.Stamped {
		t.Run(c.Kind, func(t *testing.T) {
			u, err := Unpack(c.Packed, msgpack.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(u.ID[:], c.MessageID) || !bytes.Equal(u.Stamp, c.Stamp) {
				t.Fatalf("id %x stamp %x", u.ID, u.Stamp)
			}
			if err := u.Verify(ids[c.Source]); err != nil {
				t.Fatal(err)
			}
			m := &Message{Destination: DeliveryHash(ids[c.Destination]), Source: DeliveryHash(ids[c.Source]),
				Timestamp: c.Timestamp, Content: c.Content}
			switch c.Kind {
			case "pow":
				if val, ok := u.ValidateStamp(c.Cost, nil); !ok || val != c.StampValue {
					t.Fatalf("validate: %d %v, want %d", val, ok, c.StampValue)
				}
				if _, ok := u.ValidateStamp(c.StampValue+1, nil); ok {
					t.Fatal("stamp valid above its value")
				}
				m.Stamp = c.Stamp
			case "ticket":
				other := seededBytes("other", 16)
				if val, ok := u.ValidateStamp(c.Cost, [][]byte{other, c.Ticket}); !ok || val != CostTicket {
					t.Fatalf("ticket validate: %d %v", val, ok)
				}
				if _, ok := u.ValidateStamp(c.Cost, [][]byte{other}); ok {
					t.Fatal("ticket stamp valid without the ticket")
				}
				if err := m.ApplyTicket(c.Ticket); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Pack(ids[c.Source]); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.Packed, c.Packed) || !bytes.Equal(m.Signature, c.Signature) {
				t.Fatalf("packed\n got %x\nwant %x", m.Packed, c.Packed)
			}
		})
	}
}

func TestPropagatedVectors(t *testing.T) {
	v, ids := loadVectors(t)
	for _, c := range v.Propagated {
		t.Run(c.Method, func(t *testing.T) {
			var data []byte
			switch c.Method {
			case "propagated":
				_, entries, err := UnpackPropagationContainer(c.PropagationPacked, msgpack.Limits{})
				if err != nil || len(entries) != 1 {
					t.Fatalf("container: %v %d", err, len(entries))
				}
				data = entries[0]
				if c.PropagationCost != nil {
					e, err := ValidatePropagationStamp(data, *c.PropagationCost)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(e.Stamp, c.PropagationStamp) || e.StampValue != *c.PropagationStampValue {
						t.Fatalf("pn stamp %x value %d", e.Stamp, e.StampValue)
					}
					if _, err := ValidatePropagationStamp(data, e.StampValue+1); !errors.Is(err, ErrStampInvalid) {
						t.Fatalf("pn stamp above value: %v", err)
					}
					data = e.LXMFData
				}
				if tid := wire.SHA256(data); !bytes.Equal(tid[:], c.TransientID) {
					t.Fatalf("transient id %x", tid)
				}
			case "paper":
				var err error
				if data, err = ParsePaperURI(c.URI); err != nil || !bytes.Equal(data, c.PaperPacked) {
					t.Fatalf("parse uri: %v", err)
				}
				if uri, err := PaperURI(c.PaperPacked); err != nil || uri != c.URI {
					t.Fatalf("uri %q %v", uri, err)
				}
			}
			packed, idx, err := DecryptPropagated(data, ids[c.Destination], nil, false)
			if err != nil || idx != -1 || !bytes.Equal(packed, c.Packed) {
				t.Fatalf("decrypt: %v %d", err, idx)
			}
			if _, _, err := DecryptPropagated(data, ids[c.Source], nil, false); !errors.Is(err, ErrDestinationMismatch) {
				t.Fatalf("decrypt with wrong identity: %v", err)
			}
			u, err := Unpack(packed, msgpack.Limits{})
			if err != nil || !bytes.Equal(u.ID[:], c.MessageID) || u.Verify(ids[c.Source]) != nil {
				t.Fatalf("unpack: %v", err)
			}
		})
	}
}

func TestWorkblockVectors(t *testing.T) {
	v, _ := loadVectors(t)
	for _, w := range v.Workblocks {
		wb, err := StampWorkblock(w.Material, w.Rounds)
		if err != nil {
			t.Fatal(err)
		}
		if sum := wire.SHA256(wb); len(wb) != w.Length || !bytes.Equal(sum[:], w.SHA256) || !bytes.Equal(wb[:64], w.Head) {
			t.Fatalf("workblock %d rounds: len %d head %x", w.Rounds, len(wb), wb[:64])
		}
		for _, s := range w.Stamps {
			if got := StampValue(wb, s.Stamp); got != s.Value {
				t.Errorf("value %d, want %d", got, s.Value)
			}
			for cost, want := range s.Valid {
				var c int
				if err := json.Unmarshal([]byte(cost), &c); err != nil {
					t.Fatal(err)
				}
				if got := StampValid(s.Stamp, c, wb); got != want {
					t.Errorf("valid at %d: %v, want %v", c, got, want)
				}
			}
		}
	}
	for _, p := range v.PeeringKeys {
		if got := ValidatePeeringKey(p.PeeringID, p.Key, p.Cost); got != p.Valid {
			t.Errorf("peering key valid %v", got)
		}
		if got := ValidatePeeringKey(p.PeeringID, p.Key, p.Value+1); got != p.ValidAtValuePlusOne {
			t.Errorf("peering key at value+1 %v", got)
		}
	}
}

func TestUnpackCraftedVectors(t *testing.T) {
	v, ids := loadVectors(t)
	for _, c := range v.Unpack {
		t.Run(c.Name, func(t *testing.T) {
			u, err := Unpack(c.Packed, msgpack.Limits{})
			if !c.OK {
				if err == nil {
					t.Fatalf("reference fails (%s), Unpack accepted", c.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("reference accepts, Unpack: %v", err)
			}
			if !bytes.Equal(u.ID[:], c.MessageID) {
				t.Fatalf("id %x, want %x", u.ID, c.MessageID)
			}
			verr := u.Verify(ids[0])
			if c.SignatureValid != (verr == nil) || (verr != nil && !errors.Is(verr, ErrSignatureInvalid)) {
				t.Fatalf("verify %v, reference valid=%v", verr, c.SignatureValid)
			}
			var stampHex string
			if json.Unmarshal(c.Stamp, &stampHex) == nil {
				if hex.EncodeToString(u.Stamp) != stampHex {
					t.Fatalf("stamp %x, want %s", u.Stamp, stampHex)
				}
			} else if u.Stamp != nil {
				t.Fatalf("stamp %x from a non-bytes element", u.Stamp)
			}
		})
	}
}

// TestSharedVectors checks the project's first vectors (LXMF 1.0.1).
func TestSharedVectors(t *testing.T) {
	var v struct {
		Identities []vectorIdentity `json:"identities"`
		Messages   []struct {
			SourceIdentity      int     `json:"source_identity"`
			DestinationIdentity int     `json:"destination_identity"`
			Content             string  `json:"content"`
			Title               string  `json:"title"`
			Timestamp           float64 `json:"timestamp"`
			Packed              hexb    `json:"packed"`
			MessageID           hexb    `json:"message_id"`
			Signature           hexb    `json:"signature"`
		} `json:"lxmf_messages"`
	}
	loadJSON(t, "testdata/reference-vectors.json", &v)
	if len(v.Messages) != 4 {
		t.Fatalf("%d messages", len(v.Messages))
	}
	ids := make([]*identity.Identity, len(v.Identities))
	for i, vi := range v.Identities {
		id, err := identity.FromPrivateKey(vi.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	for i, c := range v.Messages {
		var f Fields
		switch i {
		case 2:
			f.SetAttachments([]Attachment{{"a.txt", []byte("attachment bytes")}})
		case 3:
			f.Set(FieldCustomType, msgpack.Bin([]byte{1, 2}))
		}
		m := &Message{Destination: DeliveryHash(ids[c.DestinationIdentity]), Timestamp: c.Timestamp,
			Title: []byte(c.Title), Content: []byte(c.Content), Fields: f}
		if err := m.Pack(ids[c.SourceIdentity]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.Packed, c.Packed) || !bytes.Equal(m.ID[:], c.MessageID) || !bytes.Equal(m.Signature, c.Signature) {
			t.Fatalf("message %d\n got %x\nwant %x", i, m.Packed, c.Packed)
		}
		u, err := Unpack(c.Packed, msgpack.Limits{})
		if err != nil || u.ID != m.ID || u.Verify(ids[c.SourceIdentity]) != nil {
			t.Fatalf("message %d unpack: %v", i, err)
		}
	}
}
