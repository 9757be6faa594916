package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	g "maragu.dev/gomponents"
)

// statusOf maps domain error codes to HTTP statuses: the one place this
// mapping lives.
var statusOf = map[string]int{
	billing.EINVALID:   http.StatusBadRequest,
	billing.ENOTFOUND:  http.StatusNotFound,
	billing.ECONFLICT:  http.StatusConflict,
	billing.EFORBIDDEN: http.StatusForbidden,
	codeUnauthorized:   http.StatusUnauthorized,
	billing.EINTERNAL:  http.StatusInternalServerError,
}

var headingOf = map[int]string{
	http.StatusBadRequest:          "That request could not be understood",
	http.StatusUnauthorized:        "Please sign in",
	http.StatusForbidden:           "Not allowed",
	http.StatusNotFound:            "Page not found",
	http.StatusConflict:            "That clashes with a change already made",
	http.StatusInternalServerError: "Something went wrong on our side",
}

// renderError writes the error page for err. Internal errors are logged
// and shown as a generic message; a customer never sees their text.
func renderError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := billing.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	msg := billing.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		logger(log, r.Context()).Error("internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		msg = "We could not complete this request. Nothing was lost; please try again in a moment."
	}
	s, signedIn := auth.FromContext(r.Context())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = html.ErrorPage(html.ErrorProps{
		Page: html.PageProps{Session: s}, Status: status, Heading: headingOf[status], Message: msg, SignedIn: signedIn,
	}).Render(w)
}

// page adapts a view function to an http.Handler: it renders the node the
// function returns with 200, or the error page for its error.
func page(log *slog.Logger, f func(w http.ResponseWriter, r *http.Request) (g.Node, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := f(w, r)
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		if err := n.Render(w); err != nil {
			logger(log, r.Context()).Error("render page", "path", r.URL.Path, "error", err)
		}
	})
}

// pageProps returns the layout props of the signed-in request, taking the
// flash message left by the previous redirect.
func pageProps(w http.ResponseWriter, r *http.Request, path string) html.PageProps {
	s, _ := auth.FromContext(r.Context())
	return html.PageProps{Path: path, Session: s, OrgName: s.OrgName, Flash: takeFlash(w, r)}
}

const flashCookie = "billing_flash"

// setFlash leaves a message for the next page the browser loads (the
// POST-redirect-GET of every form) in a cookie sealed for the request's
// session: the browser can neither read nor change it, it is Secure in AWS,
// and it lasts a minute. Without a session it leaves nothing.
func setFlash(w http.ResponseWriter, r *http.Request, f html.Flash) {
	sessions, ok := sessionsOf(r.Context())
	s, signedIn := auth.FromContext(r.Context())
	if !ok || !signedIn {
		return
	}
	value := sessions.SealFlash(s, []byte(f.Kind+":"+f.Message))
	if value == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: value, Path: "/billing",
		MaxAge: int(auth.FlashTTL / time.Second), HttpOnly: true, Secure: sessions.Secure(), SameSite: http.SameSiteLaxMode,
	})
}

// takeFlash returns the message setFlash left and clears it. A flash that
// was altered, forged, sealed for another session or too old shows
// nothing.
func takeFlash(w http.ResponseWriter, r *http.Request) html.Flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return html.Flash{}
	}
	sessions, ok := sessionsOf(r.Context())
	s, signedIn := auth.FromContext(r.Context())
	if !ok || !signedIn {
		return html.Flash{}
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/billing", MaxAge: -1, HttpOnly: true, Secure: sessions.Secure(), SameSite: http.SameSiteLaxMode})
	v, ok := sessions.OpenFlash(s, c.Value)
	if !ok {
		return html.Flash{}
	}
	kind, msg, _ := strings.Cut(string(v), ":")
	return html.Flash{Kind: kind, Message: msg}
}

// redirect leaves a flash message and sends the browser to path with 303:
// the POST-redirect-GET of every form.
func redirect(w http.ResponseWriter, r *http.Request, path, kind, msg string) {
	setFlash(w, r, html.Flash{Kind: kind, Message: msg})
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// renderStatus writes a page with status (e.g. 422 for a form with errors).
func renderStatus(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int, n g.Node) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if err := n.Render(w); err != nil {
		logger(log, r.Context()).Error("render page", "path", r.URL.Path, "error", err)
	}
}

// allowStripeJS widens the page's Content-Security-Policy for Stripe.js:
// its script and frames from js.stripe.com and its calls to api.stripe.com.
func allowStripeJS(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https://*.stripe.com; style-src 'self' 'unsafe-inline'; "+
		"script-src 'self' https://js.stripe.com; frame-src https://js.stripe.com https://hooks.stripe.com; connect-src 'self' https://api.stripe.com; "+
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
}
