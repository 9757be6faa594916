package billing

import (
	"errors"
	"fmt"
)

// Error codes. The web layer maps each to one HTTP status in one place.
const (
	EINVALID   = "invalid"   // bad input; the message is safe to show next to the field
	ENOTFOUND  = "not_found" // the thing does not exist for this organisation
	ECONFLICT  = "conflict"  // the change clashes with the current state (e.g. already exists)
	EFORBIDDEN = "forbidden" // the caller may not do this (e.g. a viewer changing settings)
	EINTERNAL  = "internal"  // anything else; never shown to customers in detail
)

// Error is a domain error whose Message is safe to show to a customer.
type Error struct {
	Code    string
	Field   string // the form field the message belongs to, if any
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("billing error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("billing error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted customer-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID *Error attached to a form field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the customer-safe message of err: the message of the
// first *Error in its chain, or "Internal error." for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "Internal error."
}
