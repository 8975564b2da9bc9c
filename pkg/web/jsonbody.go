package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// errNotUTF8 answers a JSON body that is not valid UTF-8 or escapes a lone UTF-16 surrogate: Go's
// decoder would silently replace such text with U+FFFD, so it is refused before decoding.
var errNotUTF8 = &Error{Status: http.StatusBadRequest, Code: "not_utf8", Message: "JSON strings must be valid UTF-8 text"}

// decodeJSON reads a small JSON body. Only application/json is accepted, which also keeps plain
// cross-site HTML forms away from the auth endpoints.
func decodeJSON(c echo.Context, v any) error {
	b, err := readJSONBody(c, maxAuthBody)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			// Auth bodies were always cut at the limit, which made them malformed JSON.
			return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "malformed JSON body"}
		}
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "malformed JSON body"}
	}
	return nil
}

// decodeStrictJSON reads one JSON object of at most limit bytes, refusing unknown fields so that a
// misspelt field is an error rather than silently ignored.
func decodeStrictJSON(c echo.Context, v any, limit int64) error {
	b, err := readJSONBody(c, limit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "request body too large"}
		}
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "malformed JSON body or unknown field"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "one JSON object expected"}
	}
	return nil
}

// readJSONBody checks the media type, reads at most limit bytes (a longer body gives an
// *http.MaxBytesError) and refuses text that is not valid UTF-8 with [errNotUTF8]. Every JSON route
// reads its body through here.
func readJSONBody(c echo.Context, limit int64) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send application/json"}
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "unreadable request body"}
	}
	if !validJSONText(b) {
		return nil, errNotUTF8
	}
	return b, nil
}

// validJSONText reports whether b is valid UTF-8 and every \u escape in it that names a UTF-16
// surrogate is part of a high-low pair, i.e. whether the strings decode without replacement
// characters. Backslashes occur in JSON only inside strings, so no string tracking is needed; a body
// that is otherwise malformed is left to the decoder.
func validJSONText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 >= len(b) {
			return true // malformed; the decoder says so
		}
		if b[i+1] != 'u' {
			i++ // skip the escaped character, e.g. the second \ of \\
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			return true // malformed; the decoder says so
		}
		i += 5
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // low surrogate without a high one
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return false
			}
			lo, ok := hex4(b, i+3)
			if !ok || utf16.DecodeRune(r, lo) == utf8.RuneError {
				return false
			}
			i += 6
		}
	}
	return true
}

// hex4 parses the four hex digits at b[at:at+4].
func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
