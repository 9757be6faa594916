package web

import (
	"errors"

	"github.com/acme/billing/shared/billing"
)

// fieldErrors returns the form errors (field → message) of err: every
// EINVALID error tied to a field in its chain, including those joined
// with errors.Join; the first message of a field wins.
func fieldErrors(err error) (map[string]string, bool) {
	errs := map[string]string{}
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*billing.Error); ok {
			if _, seen := errs[e.Field]; e.Code == billing.EINVALID && e.Field != "" && !seen {
				errs[e.Field] = e.Message
			}
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if next := errors.Unwrap(err); next != nil {
			walk(next)
		}
	}
	if err != nil {
		walk(err)
	}
	return errs, len(errs) > 0
}
