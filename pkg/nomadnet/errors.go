package nomadnet

import "errors"

// Errors returned by the client and server. Callers match them with
// errors.Is; the wrapped text says more.
var (
	// ErrBadPath means a request path is not a page or file path.
	ErrBadPath = errors.New("invalid nomadnet path")
	// ErrBadField means a form field key or value is not acceptable.
	ErrBadField = errors.New("invalid form field")
	// ErrNoPath means no path to the node was found in time.
	ErrNoPath = errors.New("no path to node")
	// ErrLinkFailed means the link to the node could not be established
	// or closed before the response arrived.
	ErrLinkFailed = errors.New("link to node failed")
	// ErrTimeout means the request did not conclude in time.
	ErrTimeout = errors.New("timed out")
	// ErrNotFound means the node sent nothing for the path. A NomadNet node
	// does not answer requests for paths it does not serve, so a request
	// that times out on a link that stays up is reported as not found.
	ErrNotFound = errors.New("no such page on node")
	// ErrNotAllowed means the node refused the request (its "Request Not
	// Allowed" page came back for a file request).
	ErrNotAllowed = errors.New("request not allowed by node")
	// ErrTooLarge means the response is above the configured cap.
	ErrTooLarge = errors.New("response too large")
	// ErrBadResponse means the response is not of the expected shape.
	ErrBadResponse = errors.New("invalid response")
	// ErrClosed means the client or server is closed.
	ErrClosed = errors.New("nomadnet closed")
)
