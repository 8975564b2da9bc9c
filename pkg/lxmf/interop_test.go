package lxmf

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// requirePythonLXMF returns the python3 path if the reference (lxmf) imports,
// else skips the test, or fails it when RETICLE_REQUIRE_EXTERNAL=1.
func requirePythonLXMF(t *testing.T) string {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("RETICLE_REQUIRE_EXTERNAL") == "1" {
			t.Fatalf("python reference required: %s", why)
		}
		t.Skipf("python reference not available (%s); pip install rns==1.5.7 lxmf==1.2.1", why)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		missing("no python3")
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", "import LXMF; print(LXMF.__version__)").Output()
	if err != nil {
		missing("import LXMF failed")
		return ""
	}
	if v := string(out); v != "1.2.1\n" {
		t.Logf("python reference is lxmf %q, vectors pin 1.2.1", v)
	}
	return py
}

// interopCheck runs in the reference: it unpacks, verifies, validates stamps
// and decrypts what the Go side produced, and reports what it found.
const interopCheck = `
import json, os, sys, tempfile, base64
import RNS, LXMF
import RNS.vendor.umsgpack as msgpack
import LXMF.LXStamper as LXStamper
from LXMF.LXMessage import LXMessage
d = json.load(open(sys.argv[1]))
cfg = tempfile.mkdtemp()
open(os.path.join(cfg, "config"), "w").write("[reticulum]\n  enable_transport = No\n  share_instance = No\n[logging]\n  loglevel = 0\n[interfaces]\n")
RNS.Reticulum(configdir=cfg, loglevel=0)
src_pub = bytes.fromhex(d["source_public"])
src = RNS.Identity(create_keys=False); src.load_public_key(src_pub)
RNS.Identity.remember(os.urandom(32), RNS.Destination.hash(src, "lxmf", "delivery"), src_pub)
dst = RNS.Identity.from_bytes(bytes.fromhex(d["destination_private"]))
def check(packed, e):
    m = LXMessage.unpack_from_bytes(packed)
    r = {"id": m.hash.hex(), "sig": bool(m.signature_validated), "title": m.title.hex(),
         "content": m.content.hex(), "fields": msgpack.packb(m.fields).hex(), "timestamp": m.timestamp}
    if e.get("cost") is not None:
        r["stamp_valid"] = bool(m.validate_stamp(e["cost"], tickets=[bytes.fromhex(t) for t in e.get("tickets", [])]))
        r["stamp_value"] = m.stamp_value
    return r
out = {"messages": [], "opportunistic": [], "propagated": [], "paper": [], "app_data": []}
for e in d["messages"]:
    out["messages"].append(check(bytes.fromhex(e["packed"]), e))
for e in d["opportunistic"]:
    out["opportunistic"].append(check(bytes.fromhex(e["dest"]) + bytes.fromhex(e["data"]), e))
for e in d["propagated"]:
    c = msgpack.unpackb(bytes.fromhex(e["container"]))
    v = LXStamper.validate_pn_stamps(c[1], e["pn_cost"])
    r = {"valid": len(v) == len(c[1])}
    if r["valid"]:
        tid, data, value, stamp = v[0]
        plain = dst.decrypt(data[16:])
        r.update({"transient_id": tid.hex(), "value": value, "msg": check(data[:16] + plain, {})})
    out["propagated"].append(r)
for e in d["paper"]:
    data = base64.urlsafe_b64decode(e["uri"].replace("lxm://", "").replace("/", "") + "==")
    out["paper"].append(check(data[:16] + dst.decrypt(data[16:]), {}))
for e in d["app_data"]:
    a = bytes.fromhex(e)
    out["app_data"].append([LXMF.display_name_from_app_data(a), LXMF.stamp_cost_from_app_data(a),
                            LXMF.compression_support_from_app_data(a)])
print(json.dumps(out))
sys.stdout.flush()
os._exit(0)
`

type interopResult struct {
	ID         string  `json:"id"`
	Sig        bool    `json:"sig"`
	Title      string  `json:"title"`
	Content    string  `json:"content"`
	Fields     string  `json:"fields"`
	Timestamp  float64 `json:"timestamp"`
	StampValid *bool   `json:"stamp_valid"`
	StampValue *int    `json:"stamp_value"`
}

// TestInteropWithReference has the Python reference accept what this
// package produces: signed messages with typed and unknown fields, stamps
// made here (proof of work and ticket), opportunistic, propagated (with a
// propagation stamp) and paper forms, and delivery announce app data.
func TestInteropWithReference(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the python reference")
	}
	py := requirePythonLXMF(t)
	src, dst := genIdentity(t), genIdentity(t)
	dstPrv, err := dst.PrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	h := hex.EncodeToString
	ctx := context.Background()
	type entry = map[string]any
	doc := map[string]any{"source_public": h(src.PublicKey()), "destination_private": h(dstPrv)}
	var msgs []*Message
	var msgEntries, oppEntries, propEntries, paperEntries []entry

	ticket := bytes.Repeat([]byte{0x42}, TicketLength)
	for i, kind := range []string{"plain", "pow", "ticket", "big"} {
		m := newTestMessage(dst, "interop "+kind)
		m.Fields.SetImage(Image{"webp", []byte{1, 2, 3}})
		m.Fields.SetAudio(Audio{AudioCodec2_1200, []byte{4, 5}})
		m.Timestamp += float64(i)
		m.Source = DeliveryHash(src)
		e := entry{}
		switch kind {
		case "pow":
			if _, err := m.GenerateStamp(ctx, 8, nil); err != nil {
				t.Fatal(err)
			}
			e["cost"] = 8
		case "ticket":
			if err := m.ApplyTicket(ticket); err != nil {
				t.Fatal(err)
			}
			e["cost"], e["tickets"] = 30, []string{h(ticket)}
		case "big":
			m.Content = bytes.Repeat([]byte("big "), 100000)
		}
		if err := m.Pack(src); err != nil {
			t.Fatal(err)
		}
		e["packed"] = h(m.Packed)
		msgEntries = append(msgEntries, e)
		msgs = append(msgs, m)
	}
	opp, _ := msgs[0].Opportunistic()
	oppEntries = append(oppEntries, entry{"dest": h(msgs[0].Destination[:]), "data": h(opp)})

	data, tid, err := msgs[1].EncryptFor(dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	pnStamp, _, err := GeneratePropagationStamp(ctx, tid, 6, nil)
	if err != nil {
		t.Fatal(err)
	}
	propEntries = append(propEntries, entry{"pn_cost": 6,
		"container": h(PackPropagationContainer(1750000000.5, append(data, pnStamp...)))})
	paper, _, err := msgs[0].EncryptFor(dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	uri, err := PaperURI(paper)
	if err != nil {
		t.Fatal(err)
	}
	paperEntries = append(paperEntries, entry{"uri": uri})
	appData := []string{
		h(DeliveryAppData{DisplayName: "Reticle ✓", HasDisplayName: true, StampCost: 12}.Pack()),
		h(DeliveryAppData{}.Pack()),
	}
	doc["messages"], doc["opportunistic"], doc["propagated"], doc["paper"], doc["app_data"] =
		msgEntries, oppEntries, propEntries, paperEntries, appData

	dir := t.TempDir()
	in := filepath.Join(dir, "in.json")
	b, _ := json.Marshal(doc)
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, py, "-c", interopCheck, in)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference: %v\n%s", err, out)
	}
	var res struct {
		Messages      []interopResult `json:"messages"`
		Opportunistic []interopResult `json:"opportunistic"`
		Propagated    []struct {
			Valid       bool          `json:"valid"`
			TransientID string        `json:"transient_id"`
			Msg         interopResult `json:"msg"`
		} `json:"propagated"`
		Paper   []interopResult `json:"paper"`
		AppData [][]any         `json:"app_data"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("reference output: %v\n%s", err, out)
	}
	same := func(what string, r interopResult, m *Message) {
		t.Helper()
		if r.ID != h(m.ID[:]) || !r.Sig || r.Content != h(m.Content) || r.Title != h(m.Title) ||
			r.Fields != h(m.Fields.Value().Encode()) || r.Timestamp != m.Timestamp {
			t.Errorf("%s: reference sees %+v", what, r)
		}
	}
	for i, r := range res.Messages {
		same("message "+msgEntries[i]["packed"].(string)[:8], r, msgs[i])
		if msgEntries[i]["cost"] != nil && (r.StampValid == nil || !*r.StampValid) {
			t.Errorf("message %d: reference rejects the stamp", i)
		}
	}
	same("opportunistic", res.Opportunistic[0], msgs[0])
	if p := res.Propagated[0]; !p.Valid || p.TransientID != h(tid[:]) {
		t.Errorf("propagated: reference sees %+v", p)
	} else {
		same("propagated", p.Msg, msgs[1])
	}
	same("paper", res.Paper[0], msgs[0])
	if a := res.AppData[0]; a[0] != "Reticle ✓" || a[1] != float64(12) || a[2] != true {
		t.Errorf("app data: reference sees %v", a)
	}
	if a := res.AppData[1]; a[0] != nil || a[1] != nil || a[2] != true {
		t.Errorf("empty app data: reference sees %v", a)
	}
}
