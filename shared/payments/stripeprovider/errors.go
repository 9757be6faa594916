package stripeprovider

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// wrap adds the operation to an error from stripe-go. A *stripe.Error
// stays reachable with errors.As, but its text is cut down to type, code,
// HTTP status, request id and message: stripe-go's own text is the whole
// error as JSON, which can embed a PaymentIntent with its client secret.
// No error text carries the secret key, which stripe-go sends only in the
// Authorization header.
func wrap(op string, err error) error {
	if se, ok := errors.AsType[*stripe.Error](err); ok {
		return fmt.Errorf("stripe: %s: %w", op, &apiError{se})
	}
	return fmt.Errorf("stripe: %s: %w", op, err)
}

// apiError is a *stripe.Error with a short text fit for logs.
type apiError struct {
	err *stripe.Error
}

// Error implements the error interface.
func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(string(e.err.Type))
	if e.err.Code != "" {
		fmt.Fprintf(&b, " %s", e.err.Code)
	}
	if e.err.DeclineCode != "" {
		fmt.Fprintf(&b, " (%s)", e.err.DeclineCode)
	}
	fmt.Fprintf(&b, " status=%d", e.err.HTTPStatusCode)
	if e.err.RequestID != "" {
		fmt.Fprintf(&b, " request=%s", e.err.RequestID)
	}
	if e.err.Param != "" {
		fmt.Fprintf(&b, " param=%s", e.err.Param)
	}
	fmt.Fprintf(&b, ": %s", e.err.Msg)
	return b.String()
}

// Unwrap returns the *stripe.Error.
func (e *apiError) Unwrap() error { return e.err }

// isMissing reports whether err is Stripe's resource_missing: the object
// does not exist, or not in this account.
func isMissing(err error) bool {
	se, ok := errors.AsType[*stripe.Error](err)
	return ok && se.Code == stripe.ErrorCodeResourceMissing
}
