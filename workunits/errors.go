package workunits

import (
	"errors"
	"fmt"
)

// Code classifies an Error so the edges (HTTP, CLI) can map it once.
type Code string

const (
	EINVALID      Code = "invalid"      // the request is malformed or breaks a rule
	EUNAUTHORIZED Code = "unauthorized" // missing or unknown credentials
	EFORBIDDEN    Code = "forbidden"    // credentials valid, action not allowed
	ENOTFOUND     Code = "not_found"    // no such thing (or not visible to the caller)
	ECONFLICT     Code = "conflict"     // the action clashes with stored state
	ETOOLARGE     Code = "too_large"    // a body or a field is over its limit
	EINSUFFICIENT Code = "insufficient_funds"
	EGONE         Code = "gone" // existed, but its data was deleted for good
	EINTERNAL     Code = "internal"

	ETOOMANY Code = "too_many_requests" // rate limited: wait and try again
)

// Error is the one error type callers can act on. Message is safe to show
// to the client; anything else stays wrapped in Err for the logs.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
