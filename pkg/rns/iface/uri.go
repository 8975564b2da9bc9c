package iface

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Kind names an interface type as it appears in a URI scheme.
type Kind string

// Supported interface kinds.
const (
	KindTCPClient Kind = "tcp-client"
	KindTCPServer Kind = "tcp-server"
)

// Spec is a parsed, validated interface URI.
type Spec struct {
	// Kind is the URI scheme.
	Kind Kind
	// Host is a host name or IP literal (no brackets); for servers the
	// address to listen on.
	Host string
	// Port is the TCP port, 1..65535 (0 allowed only for servers: any free port).
	Port int
	// Name is the optional "name" query parameter; Parse fills a default.
	Name string
	// NetworkName and Passphrase are the optional interface access code
	// settings ("network_name", "passphrase"), as in the reference's
	// interface config. Transport applies them; this package only carries them.
	NetworkName, Passphrase string
	// IFACSize is the access code size in bytes ("ifac_size" in bits, as in
	// the reference config); 0 means the default for IP interfaces (16).
	IFACSize int
}

// HasIFAC reports whether interface access codes are configured.
func (s Spec) HasIFAC() bool { return s.NetworkName != "" || s.Passphrase != "" }

// Redacted returns String with the passphrase replaced, for logs and UIs.
func (s Spec) Redacted() string {
	if s.Passphrase != "" {
		s.Passphrase = "xxxxx"
	}
	return s.String()
}

// Address returns host:port suitable for net.Dial or net.Listen.
func (s Spec) Address() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// String returns the canonical URI form of s.
func (s Spec) String() string {
	u := url.URL{Scheme: string(s.Kind), Host: s.Address()}
	q := url.Values{}
	if s.Name != "" && s.Name != s.defaultName() {
		q.Set("name", s.Name)
	}
	if s.NetworkName != "" {
		q.Set("network_name", s.NetworkName)
	}
	if s.Passphrase != "" {
		q.Set("passphrase", s.Passphrase)
	}
	if s.IFACSize != 0 {
		q.Set("ifac_size", strconv.Itoa(s.IFACSize*8))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (s Spec) defaultName() string { return string(s.Kind) + "/" + s.Address() }

// Bounds of URI parameters.
const (
	maxNameLen   = 64
	maxSecretLen = 256
)

// Parse validates an interface URI such as "tcp-client://host:4242" or
// "tcp-server://0.0.0.0:4242?name=public". Errors wrap ErrBadURI and name the
// problem in one line.
func Parse(uri string) (Spec, error) {
	bad := func(format string, a ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("%w %q: %s", ErrBadURI, uri, fmt.Sprintf(format, a...))
	}
	if strings.TrimSpace(uri) != uri || uri == "" {
		return bad("empty or surrounded by spaces")
	}
	u, err := url.Parse(uri)
	if err != nil {
		return bad("%v", err)
	}
	var s Spec
	switch Kind(strings.ToLower(u.Scheme)) {
	case KindTCPClient:
		s.Kind = KindTCPClient
	case KindTCPServer:
		s.Kind = KindTCPServer
	case "":
		return bad("missing scheme, want tcp-client:// or tcp-server://")
	default:
		return bad("unsupported scheme %q, want tcp-client or tcp-server", u.Scheme)
	}
	if u.Opaque != "" {
		return bad("want %s://HOST:PORT", s.Kind)
	}
	if u.User != nil {
		return bad("user info is not allowed")
	}
	if u.Path != "" && u.Path != "/" {
		return bad("path %q is not allowed", u.Path)
	}
	if u.Fragment != "" {
		return bad("fragment is not allowed")
	}
	host, portStr, err := net.SplitHostPort(u.Host)
	if err != nil {
		return bad("want HOST:PORT, got %q", u.Host)
	}
	if host == "" {
		return bad("missing host")
	}
	if strings.ContainsAny(host, " /%") {
		return bad("invalid host %q", host)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return bad("invalid port %q", portStr)
	}
	if port == 0 && s.Kind == KindTCPClient {
		return bad("port 0 is only valid for servers")
	}
	s.Host, s.Port = host, port
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	for k, v := range q {
		switch k {
		case "name":
			if len(v) != 1 || v[0] == "" || len(v[0]) > maxNameLen {
				return bad("name must be 1..%d characters", maxNameLen)
			}
			s.Name = v[0]
		case "network_name", "passphrase":
			if len(v) != 1 || v[0] == "" || len(v[0]) > maxSecretLen {
				return bad("%s must be 1..%d characters", k, maxSecretLen)
			}
			if k == "network_name" {
				s.NetworkName = v[0]
			} else {
				s.Passphrase = v[0]
			}
		case "ifac_size":
			bits, err := strconv.Atoi(v[0])
			if len(v) != 1 || err != nil || bits < 8 || bits > 512 || bits%8 != 0 {
				return bad("ifac_size must be a multiple of 8 from 8 to 512 bits")
			}
			s.IFACSize = bits / 8
		default:
			return bad("unknown parameter %q", k)
		}
	}
	if s.IFACSize != 0 && !s.HasIFAC() {
		return bad("ifac_size needs network_name or passphrase")
	}
	if s.Name == "" {
		s.Name = s.defaultName()
	}
	return s, nil
}
