package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
)

// ipExtractor trusts X-Forwarded-For (then X-Real-IP) only when the direct peer is one of the configured
// proxies; otherwise the socket address is the client. Echo's own extractors trust loopback and private
// ranges by default, which is why they are not used here.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	return func(r *http.Request) string {
		direct := peerAddr(r)
		if !direct.IsValid() {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			return host
		}
		if !inPrefixes(direct, trusted) {
			return direct.String()
		}
		// Walk X-Forwarded-For from the right: the first address that is not a trusted proxy is the client.
		// When the header is present, X-Real-IP is never consulted: a proxy that appends to
		// X-Forwarded-For may pass a client's own X-Real-IP through untouched.
		if xff := r.Header.Values(echo.HeaderXForwardedFor); len(xff) > 0 {
			parts := strings.Split(strings.Join(xff, ","), ",")
			for i := len(parts) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
				if err != nil {
					break
				}
				a = a.Unmap()
				if !inPrefixes(a, trusted) {
					return a.String()
				}
			}
			return direct.String()
		}
		if xr := strings.TrimSpace(r.Header.Get(echo.HeaderXRealIP)); xr != "" {
			if a, err := netip.ParseAddr(xr); err == nil {
				return a.Unmap().String()
			}
		}
		return direct.String()
	}
}

// peerAddr is the direct TCP peer of the request.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// isHTTPS reports whether the client reached us over HTTPS: directly over TLS, or through a trusted proxy
// that says so in X-Forwarded-Proto. The header is ignored from anyone else.
func (s *Server) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if inPrefixes(peerAddr(r), s.opts.TrustedProxies) {
		return strings.EqualFold(strings.TrimSpace(r.Header.Get(echo.HeaderXForwardedProto)), "https")
	}
	return false
}
