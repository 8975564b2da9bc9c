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
		{in: "udpx://h:4242", wantErr: true},
		{in: "udp://0.0.0.0:4242?forward=255.255.255.255:4242", want: Spec{Kind: KindUDP, Host: "0.0.0.0", Port: 4242, Forward: "255.255.255.255:4242", Name: "udp/0.0.0.0:4242"}},
		{in: "udp://[::1]:0?forward=[::1]:9&name=u", want: Spec{Kind: KindUDP, Host: "::1", Port: 0, Forward: "[::1]:9", Name: "u"}},
		{in: "udp://h:1?forward=h:0", wantErr: true},
		{in: "udp://h:1?forward=h", wantErr: true},
		{in: "udp://h:1?group_id=x", wantErr: true},
		{in: "auto://", want: Spec{Kind: KindAuto, GroupID: "reticulum", DiscoveryPort: 29716, DataPort: 42671, Name: "auto/reticulum"}},
		{in: "auto://?group_id=home&devices=eth0,wlan0&ignored_devices=docker0&discovery_port=1000&data_port=1001", want: Spec{Kind: KindAuto, GroupID: "home", Devices: "eth0,wlan0", IgnoredDevices: "docker0", DiscoveryPort: 1000, DataPort: 1001, Name: "auto/home"}},
		{in: "auto://h:1", wantErr: true},
		{in: "auto://?devices=a,,b", wantErr: true},
		{in: "auto://?data_port=0", wantErr: true},
		{in: "auto://?forward=h:1", wantErr: true},
		{in: "shared-instance://", want: Spec{Kind: KindShared, Host: "default", SharedType: defaultSharedType(), Role: "auto", Port: 37428, ControlPort: 37429, Name: "shared-instance/default"}},
		{in: "shared-instance://rt_1?type=tcp&port=4000&control_port=4001&role=client", want: Spec{Kind: KindShared, Host: "rt_1", SharedType: "tcp", Role: "client", Port: 4000, ControlPort: 4001, Name: "shared-instance/rt_1"}},
		{in: "shared-instance://x?rpc_key=00112233445566778899AABBCCDDEEFF", want: Spec{Kind: KindShared, Host: "x", SharedType: defaultSharedType(), Role: "auto", Port: 37428, ControlPort: 37429, RPCKey: "00112233445566778899aabbccddeeff", Name: "shared-instance/x"}},
		{in: "shared-instance://x?rpc_key=0011", wantErr: true},
		{in: "shared-instance://x?type=udp", wantErr: true},
		{in: "shared-instance://x?role=maybe", wantErr: true},
		{in: "shared-instance://x?passphrase=p", wantErr: true},
		{in: "shared-instance://x:1", wantErr: true},
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
	f.Add("udp://0.0.0.0:4242?forward=255.255.255.255:4242")
	f.Add("auto://?group_id=g&devices=eth0,eth1")
	f.Add("shared-instance://n?type=tcp&port=1&rpc_key=00112233445566778899aabbccddeeff")
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
	// As the reference: bits round down to bytes; below 8 bits means the
	// interface's default (0 here, 16 bytes for IP interfaces).
	for raw, want := range map[string]int{
		"tcp-client://h:1?passphrase=x&ifac_size=7":   0,
		"tcp-client://h:1?passphrase=x&ifac_size=0":   0,
		"tcp-client://h:1?passphrase=x&ifac_size=-8":  0,
		"tcp-client://h:1?passphrase=x&ifac_size=8":   1,
		"tcp-client://h:1?passphrase=x&ifac_size=15":  1,
		"tcp-client://h:1?passphrase=x&ifac_size=100": 12,
		"udp://0.0.0.0:1?passphrase=x&ifac_size=519":  64,
	} {
		s, err := Parse(raw)
		if err != nil || s.IFACSize != want {
			t.Errorf("Parse(%q) = size %d, %v; want %d", raw, s.IFACSize, err, want)
			continue
		}
		if again, err := Parse(s.String()); err != nil || again != s {
			t.Errorf("round trip of %q: %+v %v", raw, again, err)
		}
	}
	for _, bad := range []string{
		"tcp-client://h:1?ifac_size=64",
		"tcp-client://h:1?ifac_size=4",
		"tcp-client://h:1?passphrase=x&ifac_size=520",
		"tcp-client://h:1?passphrase=x&ifac_size=sixteen",
		"tcp-client://h:1?passphrase=x&ifac_size=",
		"tcp-client://h:1?passphrase=x&ifac_size=99999999999999999999999",
		"tcp-client://h:1?passphrase=",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestParseErrorsNeverEchoSecrets(t *testing.T) {
	for _, raw := range []string{
		"tcp-client://host?passphrase=hunter2",
		"tcp-client://h:1?network_name=n&passphrase=hunter2&ifac_size=999999",
		"bogus://x?rpc_key=hunter2#frag",
		" tcp-client://h:1?passphrase=hunter2",
	} {
		_, err := Parse(raw)
		if err == nil {
			t.Fatalf("%q: expected an error", raw)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the secret: %v", err)
		}
	}
}
