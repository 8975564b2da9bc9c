package iface

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
)

// Kind names an interface type as it appears in a URI scheme.
type Kind string

// Supported interface kinds.
const (
	KindTCPClient Kind = "tcp-client"
	KindTCPServer Kind = "tcp-server"
	// KindUDP is "udp://LISTEN_HOST:PORT?forward=HOST:PORT", the
	// reference's UDPInterface.
	KindUDP Kind = "udp"
	// KindAuto is "auto://?group_id=...&devices=...", the reference's
	// AutoInterface (IPv6 link-local multicast discovery).
	KindAuto Kind = "auto"
	// KindShared is "shared-instance://NAME?type=unix|tcp&port=..&role=..",
	// the reference's local shared instance (RNS/Interfaces/LocalInterface.py):
	// offer one to local programs, attach to one, or (role=auto, the
	// default) attach if one is running and offer one otherwise.
	KindShared Kind = "shared-instance"
)

// Shared instance socket types and roles, see Spec.
const (
	SharedUnix = "unix"
	SharedTCP  = "tcp"

	RoleAuto   = "auto"
	RoleServer = "server"
	RoleClient = "client"
)

// Reference defaults (RNS/Reticulum.py, RNS/Interfaces/AutoInterface.py).
const (
	DefaultSharedPort    = 37428
	DefaultControlPort   = 37429
	DefaultInstanceName  = "default"
	DefaultAutoGroupID   = "reticulum"
	DefaultDiscoveryPort = 29716
	DefaultAutoDataPort  = 42671
)

// defaultSharedType is "unix" where the reference uses abstract Unix
// sockets (platformutils.use_af_unix: Linux and Android) and "tcp"
// elsewhere.
func defaultSharedType() string {
	if runtime.GOOS == "linux" || runtime.GOOS == "android" {
		return SharedUnix
	}
	return SharedTCP
}

// Spec is a parsed, validated interface URI.
type Spec struct {
	// Kind is the URI scheme.
	Kind Kind
	// Host is a host name or IP literal (no brackets); for servers and UDP
	// the address to listen on; for shared instances the instance name.
	Host string
	// Port is the TCP or UDP port, 1..65535 (0 allowed only for listeners:
	// any free port); for shared instances the TCP port of type=tcp.
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

	// Forward is the UDP destination host:port ("forward"); empty means
	// receive only.
	Forward string

	// GroupID, Devices and IgnoredDevices configure auto:// ("group_id",
	// comma-separated "devices" and "ignored_devices"); DiscoveryPort and
	// DataPort default to the reference's 29716 and 42671.
	GroupID, Devices, IgnoredDevices string
	DiscoveryPort, DataPort          int

	// SharedType is "unix" (abstract socket \0rns/NAME, the reference's
	// default on Linux) or "tcp" (127.0.0.1:Port); Role is "auto",
	// "server" or "client"; ControlPort is the RPC port of type=tcp;
	// RPCKey is an optional hex RPC key (the reference's rpc_key); empty
	// means derived from the transport identity as the reference does.
	SharedType, Role, RPCKey string
	ControlPort              int
}

// HasIFAC reports whether interface access codes are configured.
func (s Spec) HasIFAC() bool { return s.NetworkName != "" || s.Passphrase != "" }

// Redacted returns String with the passphrase and RPC key replaced, for
// logs and UIs.
func (s Spec) Redacted() string {
	if s.Passphrase != "" {
		s.Passphrase = "xxxxx"
	}
	if s.RPCKey != "" {
		s.RPCKey = "xxxxx"
	}
	return s.String()
}

// Address returns host:port suitable for net.Dial or net.Listen.
func (s Spec) Address() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// String returns the canonical URI form of s.
func (s Spec) String() string {
	u := url.URL{Scheme: string(s.Kind)}
	switch s.Kind {
	case KindAuto:
	case KindShared:
		u.Host = s.Host
	default:
		u.Host = s.Address()
	}
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
	if s.Forward != "" {
		q.Set("forward", s.Forward)
	}
	if s.Kind == KindAuto {
		if s.GroupID != DefaultAutoGroupID {
			q.Set("group_id", s.GroupID)
		}
		setNonEmpty(q, "devices", s.Devices)
		setNonEmpty(q, "ignored_devices", s.IgnoredDevices)
		if s.DiscoveryPort != DefaultDiscoveryPort {
			q.Set("discovery_port", strconv.Itoa(s.DiscoveryPort))
		}
		if s.DataPort != DefaultAutoDataPort {
			q.Set("data_port", strconv.Itoa(s.DataPort))
		}
	}
	if s.Kind == KindShared {
		if s.SharedType != defaultSharedType() {
			q.Set("type", s.SharedType)
		}
		if s.Role != RoleAuto {
			q.Set("role", s.Role)
		}
		if s.Port != DefaultSharedPort {
			q.Set("port", strconv.Itoa(s.Port))
		}
		if s.ControlPort != DefaultControlPort {
			q.Set("control_port", strconv.Itoa(s.ControlPort))
		}
		setNonEmpty(q, "rpc_key", s.RPCKey)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func setNonEmpty(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func (s Spec) defaultName() string {
	switch s.Kind {
	case KindAuto:
		return string(s.Kind) + "/" + s.GroupID
	case KindShared:
		return string(s.Kind) + "/" + s.Host
	default:
		return string(s.Kind) + "/" + s.Address()
	}
}

// Bounds of URI parameters.
const (
	maxNameLen   = 64
	maxSecretLen = 256
	maxListLen   = 512
	// maxIFACSize is the largest access code in bytes: the reference cuts
	// it from an Ed25519 signature (64 bytes).
	maxIFACSize = 64
)

// Parse validates an interface URI such as "tcp-client://host:4242",
// "tcp-server://0.0.0.0:4242?name=public", "udp://0.0.0.0:4242?forward=
// 255.255.255.255:4242", "auto://?group_id=home" or
// "shared-instance://default". Errors wrap ErrBadURI and name the problem in
// one line.
func Parse(uri string) (Spec, error) {
	bad := func(format string, a ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("%w %q: %s", ErrBadURI, redactRaw(uri), fmt.Sprintf(format, a...))
	}
	if strings.TrimSpace(uri) != uri || uri == "" {
		return bad("empty or surrounded by spaces")
	}
	u, err := url.Parse(uri)
	if err != nil {
		return bad("%v", err)
	}
	var s Spec
	switch k := Kind(strings.ToLower(u.Scheme)); k {
	case KindTCPClient, KindTCPServer, KindUDP, KindAuto, KindShared:
		s.Kind = k
	case "":
		return bad("missing scheme, want tcp-client, tcp-server, udp, auto or shared-instance")
	default:
		return bad("unsupported scheme %q, want tcp-client, tcp-server, udp, auto or shared-instance", u.Scheme)
	}
	if u.Opaque != "" {
		return bad("want %s://...", s.Kind)
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
	switch s.Kind {
	case KindAuto:
		if u.Host != "" {
			return bad("auto takes no host, use ?devices=")
		}
		s.GroupID, s.DiscoveryPort, s.DataPort = DefaultAutoGroupID, DefaultDiscoveryPort, DefaultAutoDataPort
	case KindShared:
		if u.Host == "" {
			u.Host = DefaultInstanceName
		}
		if len(u.Host) > maxNameLen || strings.ContainsAny(u.Host, " /%:[]@\\") {
			return bad("invalid instance name %q", u.Host)
		}
		s.Host, s.SharedType, s.Role = u.Host, defaultSharedType(), RoleAuto
		s.Port, s.ControlPort = DefaultSharedPort, DefaultControlPort
	default:
		host, port, msg := parseHostPort(u.Host, s.Kind != KindTCPClient)
		if msg != "" {
			return bad("%s", msg)
		}
		s.Host, s.Port = host, port
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	for k, v := range q {
		if msg := s.setParam(k, v); msg != "" {
			return bad("%s", msg)
		}
	}
	if q.Has("ifac_size") && !s.HasIFAC() {
		return bad("ifac_size needs network_name or passphrase")
	}
	if s.Kind == KindShared && s.HasIFAC() {
		return bad("access codes are not used on a shared instance")
	}
	if s.Name == "" {
		s.Name = s.defaultName()
	}
	return s, nil
}

// parseHostPort splits and checks HOST:PORT; it returns a problem message
// or "".
func parseHostPort(hp string, portZeroOK bool) (string, int, string) {
	host, portStr, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Sprintf("want HOST:PORT, got %q", hp)
	}
	if host == "" {
		return "", 0, "missing host"
	}
	if strings.ContainsAny(host, " /%") {
		return "", 0, fmt.Sprintf("invalid host %q", host)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Sprintf("invalid port %q", portStr)
	}
	if port == 0 && !portZeroOK {
		return "", 0, "port 0 is only valid for listeners"
	}
	return host, port, ""
}

// kindParams lists the query parameters a kind accepts besides name.
func kindParams(k Kind) string {
	const ifac = "network_name passphrase ifac_size"
	switch k {
	case KindUDP:
		return ifac + " forward"
	case KindAuto:
		return ifac + " group_id devices ignored_devices discovery_port data_port"
	case KindShared:
		return ifac + " type role port control_port rpc_key"
	default:
		return ifac
	}
}

// setParam applies one query parameter; it returns a problem message or "".
func (s *Spec) setParam(k string, v []string) string {
	if k != "name" && !strings.Contains(" "+kindParams(s.Kind)+" ", " "+k+" ") {
		return fmt.Sprintf("unknown parameter %q for %s", k, s.Kind)
	}
	if len(v) != 1 || v[0] == "" {
		return fmt.Sprintf("%s must be given once and not be empty", k)
	}
	val := v[0]
	port := func(dst *int) string {
		p, err := strconv.Atoi(val)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Sprintf("%s must be a port from 1 to 65535", k)
		}
		*dst = p
		return ""
	}
	switch k {
	case "name":
		if len(val) > maxNameLen {
			return fmt.Sprintf("name must be 1..%d characters", maxNameLen)
		}
		s.Name = val
	case "network_name", "passphrase":
		if len(val) > maxSecretLen {
			return fmt.Sprintf("%s must be 1..%d characters", k, maxSecretLen)
		}
		if k == "network_name" {
			s.NetworkName = val
		} else {
			s.Passphrase = val
		}
	case "ifac_size":
		// As the reference's config parsing: bits round down to bytes, and
		// below 8 bits the interface's default applies (0 here).
		bits, err := strconv.Atoi(val)
		if err != nil || bits >= (maxIFACSize+1)*8 {
			return fmt.Sprintf("ifac_size must be a number of bits below %d", (maxIFACSize+1)*8)
		}
		s.IFACSize = 0
		if bits >= 8 {
			s.IFACSize = bits / 8
		}
	case "forward":
		host, p, msg := parseHostPort(val, false)
		if msg != "" {
			return "forward: " + msg
		}
		s.Forward = net.JoinHostPort(host, strconv.Itoa(p))
	case "group_id":
		if len(val) > maxNameLen {
			return fmt.Sprintf("group_id must be 1..%d characters", maxNameLen)
		}
		s.GroupID = val
	case "devices", "ignored_devices":
		if len(val) > maxListLen || strings.ContainsAny(val, " /%") || strings.Contains(","+val+",", ",,") {
			return fmt.Sprintf("%s must be a comma-separated list of device names", k)
		}
		if k == "devices" {
			s.Devices = val
		} else {
			s.IgnoredDevices = val
		}
	case "discovery_port":
		return port(&s.DiscoveryPort)
	case "data_port":
		return port(&s.DataPort)
	case "port":
		return port(&s.Port)
	case "control_port":
		return port(&s.ControlPort)
	case "type":
		if val != SharedUnix && val != SharedTCP {
			return "type must be unix or tcp"
		}
		s.SharedType = val
	case "role":
		if val != RoleAuto && val != RoleServer && val != RoleClient {
			return "role must be auto, server or client"
		}
		s.Role = val
	case "rpc_key":
		b, err := hex.DecodeString(val)
		if err != nil || len(b) < 16 || len(b) > 64 {
			return "rpc_key must be 16 to 64 bytes in hex"
		}
		s.RPCKey = strings.ToLower(val)
	}
	return ""
}

// DeviceList splits a comma-separated device list ("" gives nil).
func DeviceList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// secretParams are query parameters whose values never appear in errors or logs.
var secretParams = []string{"passphrase=", "rpc_key="}

// redactRaw hides secret query values in a URI that may not even parse, so that an error about a bad
// interface URI never echoes its passphrase.
func redactRaw(uri string) string {
	out := uri
	for _, p := range secretParams {
		for i := 0; ; {
			j := strings.Index(out[i:], p)
			if j < 0 {
				break
			}
			start := i + j + len(p)
			end := strings.IndexAny(out[start:], "&#")
			if end < 0 {
				end = len(out) - start
			}
			out = out[:start] + "REDACTED" + out[start+end:]
			i = start + len("REDACTED")
		}
	}
	return out
}
