package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/acme/billing/shared/billing"
	g "maragu.dev/gomponents"
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

// formFailed answers a form whose save failed with err, and reports
// whether it did (false when err is nil): the form's page again, 422,
// with the field errors next to their fields when err carries any (view
// builds it), else the error page.
func formFailed(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, view func(errs map[string]string) (g.Node, error)) bool {
	if err == nil {
		return false
	}
	errs, ok := fieldErrors(err)
	if !ok {
		renderError(w, r, log, err)
		return true
	}
	n, verr := view(errs)
	if verr != nil {
		renderError(w, r, log, verr)
		return true
	}
	renderStatus(w, r, log, http.StatusUnprocessableEntity, n)
	return true
}
