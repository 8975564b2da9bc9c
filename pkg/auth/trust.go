package auth

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// trustSkew tolerates a marker issued slightly in the future (clock steps).
const trustSkew = 5 * time.Minute

// issueTrustMarker returns a signed marker "id.issued_unix.mac" for a browser that just logged in.
func (s *Service) issueTrustMarker(ctx context.Context, now time.Time) (string, error) {
	_, key, err := s.keys(ctx)
	if err != nil {
		return "", err
	}
	id, err := randomToken(12)
	if err != nil {
		return "", err
	}
	payload := id + "." + strconv.FormatInt(now.Unix(), 10)
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(key, "trust", payload)), nil
}

// TrustID checks a trusted-client marker cookie value and returns its id, or "" when the marker is
// missing, forged, from before the last password reset, or older than TrustTTL.
func (s *Service) TrustID(ctx context.Context, marker string) string {
	if marker == "" || len(marker) > 128 {
		return ""
	}
	parts := strings.Split(marker, ".")
	if len(parts) != 3 || parts[0] == "" {
		return ""
	}
	_, key, err := s.keys(ctx)
	if err != nil {
		return ""
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac(key, "trust", parts[0]+"."+parts[1])) {
		return ""
	}
	issued, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return ""
	}
	at := time.Unix(issued, 0)
	now := s.now()
	if at.After(now.Add(trustSkew)) || now.Sub(at) >= s.opts.TrustTTL {
		return ""
	}
	return parts[0]
}

// TrustTTL is how long a trust marker stays valid, for the cookie's Max-Age.
func (s *Service) TrustTTL() time.Duration { return s.opts.TrustTTL }
