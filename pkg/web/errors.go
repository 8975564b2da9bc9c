package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// apiError is the JSON body of every error: {"error": {"code": ..., "message": ...}}.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is an error a handler returns to answer with a given status, stable code and safe message.
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter int // seconds; sets Retry-After when > 0
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// errorHandler writes every error as JSON. Internal error text never reaches the client; it is logged
// with the request id instead.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var (
		status = http.StatusInternalServerError
		body   = apiErrorBody{Code: "internal", Message: "internal server error"}
		ae     *Error
		he     *echo.HTTPError
	)
	if se, ok := storageError(err); ok {
		err = errors.Join(se, err) // the client sees storage_full, the log keeps the cause
	}
	switch {
	case errors.As(err, &ae):
		status, body = ae.Status, apiErrorBody{Code: ae.Code, Message: ae.Message}
		if ae.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
		}
	case errors.As(err, &he):
		status = he.Code
		body = apiErrorBody{Code: codeFor(status), Message: strings.ToLower(http.StatusText(status))}
	}
	if status >= 500 {
		s.log.Error("request failed", "err", err, "path", c.Path(), "request_id", requestID(c))
	}
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(status)
	} else {
		err = c.JSON(status, apiError{Error: body})
	}
	if err != nil {
		s.log.Warn("writing error response", "err", err)
	}
}

func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "unavailable"
	case http.StatusInsufficientStorage:
		return "storage_full"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}
