package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

func TestServe(t *testing.T) {
	in := strings.Join([]string{
		`{"id":"1","command":"sha256","params":{"data":"616263"}}`,
		`{"id":"2","command":"no_such_command","params":{}}`,
		`not json`,
		`{"id":"3","command":"packet_unpack","params":{"raw":"00"}}`,
		`{"id":"4","command":"name_hash","params":{"name":"lxmf.delivery"}}`,
		`{"id":"5","command":"identity_from_private_key","params":{"private_key":"zz"}}`,
	}, "\n")
	var out strings.Builder
	if err := serve(strings.NewReader(in), &out, newBridge()); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	if !sc.Scan() || sc.Text() != "READY" {
		t.Fatalf("first line %q, want READY", sc.Text())
	}
	var got []response
	for sc.Scan() {
		var r response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("answer %q: %v", sc.Text(), err)
		}
		got = append(got, r)
	}
	if len(got) != 6 {
		t.Fatalf("%d answers, want 6", len(got))
	}
	want := []struct {
		id string
		ok bool
	}{{"1", true}, {"2", false}, {"parse_error", false}, {"3", true}, {"4", true}, {"5", false}}
	for i, w := range want {
		if got[i].ID != w.id || got[i].Success != w.ok {
			t.Errorf("answer %d: %+v, want id %s success %v", i, got[i], w.id, w.ok)
		}
	}
	if got[0].Result["hash"] != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("sha256: %v", got[0].Result)
	}
	if got[3].Result["unpacked"] != false {
		t.Errorf("one-byte packet unpacked: %v", got[3].Result)
	}
	if got[4].Result["hash"] != "6ec60bc318e2c0f0d908" {
		t.Errorf("name hash: %v", got[4].Result)
	}
}

func TestPacketBuildRoundTrip(t *testing.T) {
	b := newBridge()
	for _, dt := range []string{"plain", "single", "group"} {
		res, err := b.commands["packet_build"](params{"dest_type": dt, "data": "0102030405", "hops": float64(3)})
		if err != nil {
			t.Fatalf("%s: %v", dt, err)
		}
		back, err := b.commands["packet_unpack"](params{"raw": res["raw"]})
		if err != nil || back["unpacked"] != true || back["hash"] != res["hash"] || back["hops"] != 3 {
			t.Fatalf("%s: %v %v", dt, back, err)
		}
		if dt == "plain" && res["data"] != "0102030405" {
			t.Errorf("plain data %v", res["data"])
		}
		if dt != "plain" && res["data"] == "0102030405" {
			t.Errorf("%s data not encrypted", dt)
		}
	}
}
