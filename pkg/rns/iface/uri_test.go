package iface

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Spec
		wantErr bool
	}{
		{in: "tcp-client://127.0.0.1:4242", want: Spec{Kind: KindTCPClient, Host: "127.0.0.1", Port: 4242, Name: "tcp-client/127.0.0.1:4242"}},
		{in: "tcp-client://amsterdam.connect.reticulum.network:4965?name=ams", want: Spec{Kind: KindTCPClient, Host: "amsterdam.connect.reticulum.network", Port: 4965, Name: "ams"}},
		{in: "tcp-server://[::1]:4242", want: Spec{Kind: KindTCPServer, Host: "::1", Port: 4242, Name: "tcp-server/[::1]:4242"}},
		{in: "tcp-server://0.0.0.0:0", want: Spec{Kind: KindTCPServer, Host: "0.0.0.0", Port: 0, Name: "tcp-server/0.0.0.0:0"}},
		{in: "TCP-CLIENT://h:1", want: Spec{Kind: KindTCPClient, Host: "h", Port: 1, Name: "tcp-client/h:1"}},
		{in: "", wantErr: true},
		{in: " tcp-client://h:1", wantErr: true},
		{in: "h:4242", wantErr: true},
		{in: "udp://h:4242", wantErr: true},
		{in: "tcp-client://h", wantErr: true},
		{in: "tcp-client://:4242", wantErr: true},
		{in: "tcp-client://h:0", wantErr: true},
		{in: "tcp-client://h:65536", wantErr: true},
		{in: "tcp-client://h:-1", wantErr: true},
		{in: "tcp-client://h:x", wantErr: true},
		{in: "tcp-client://u:p@h:1", wantErr: true},
		{in: "tcp-client://h:1/path", wantErr: true},
		{in: "tcp-client://h:1#frag", wantErr: true},
		{in: "tcp-client://h:1?foo=bar", wantErr: true},
		{in: "tcp-client://h:1?name=", wantErr: true},
		{in: "tcp-client://h:1?name=a&name=b", wantErr: true},
		{in: "tcp-client:h:1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr {
				if err == nil || !errors.Is(err, ErrBadURI) {
					t.Fatalf("Parse(%q) = %+v, %v; want ErrBadURI", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			again, err := Parse(got.String())
			if err != nil || again != got {
				t.Fatalf("round trip %q -> %+v, %v", got.String(), again, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("tcp-client://127.0.0.1:4242?name=x")
	f.Add("tcp-server://[::]:0")
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(spec.String())
		if err != nil || again != spec {
			t.Fatalf("canonical form %q does not round trip: %+v %v", spec.String(), again, err)
		}
	})
}

func TestParseIFAC(t *testing.T) {
	s, err := Parse("tcp-client://h:1?network_name=mesh&passphrase=s3cret&ifac_size=64")
	if err != nil {
		t.Fatal(err)
	}
	if s.NetworkName != "mesh" || s.Passphrase != "s3cret" || s.IFACSize != 8 || !s.HasIFAC() {
		t.Fatalf("%+v", s)
	}
	if again, err := Parse(s.String()); err != nil || again != s {
		t.Fatalf("round trip %+v %v", again, err)
	}
	if r := s.Redacted(); strings.Contains(r, "s3cret") {
		t.Fatalf("redacted form leaks the passphrase: %s", r)
	}
	for _, bad := range []string{
		"tcp-client://h:1?ifac_size=64",
		"tcp-client://h:1?passphrase=x&ifac_size=7",
		"tcp-client://h:1?passphrase=x&ifac_size=520",
		"tcp-client://h:1?passphrase=",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}
