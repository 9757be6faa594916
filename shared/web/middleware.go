package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/gateway"
)

// requestInfo is what the log line of a request carries; requireSession
// fills in the organisation once it is known.
type requestInfo struct {
	ID  string
	Org string
}

type infoKey struct{}

func info(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// logger returns log with the request id and organisation of ctx.
func logger(log *slog.Logger, ctx context.Context) *slog.Logger {
	ri := info(ctx)
	return log.With("request_id", ri.ID, "org", ri.Org)
}

// Security headers of every response. Only our own origin may load
// anything; the page can never be framed.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// withRequest gives each request an id (API Gateway's in Lambda), sets the
// security headers, recovers panics as a generic 500, and logs one line per
// request: never a body, cookie or query string.
func withRequest(log *slog.Logger, hsts bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{ID: gateway.RequestID(r.Context())}
		if ri.ID == "" {
			ri.ID = newRequestID()
		}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Request-Id", ri.ID)
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				logger(log, r.Context()).Error("panic", "panic", p, "method", r.Method, "path", r.URL.Path)
				if !sw.wrote {
					http.Error(sw, "Internal error.", http.StatusInternalServerError)
				}
			}
			logger(log, r.Context()).Info("request", "method", r.Method, "path", r.URL.Path,
				"status", sw.status(), "duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// statusWriter remembers the status a handler wrote, for the log.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// crossOrigin refuses any unsafe request (POST, …) that a browser reports
// as coming from another origin, with the standard library's protection.
// The public origin publicURL is trusted: behind CloudFront the Host is the
// execute-api domain, so a browser that sends Origin but no Sec-Fetch-Site
// would otherwise be refused on its own site.
func crossOrigin(log *slog.Logger, publicURL string, next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	if publicURL != "" {
		if err := cop.AddTrustedOrigin(strings.TrimRight(publicURL, "/")); err != nil && log != nil {
			log.Error("PUBLIC_URL is not an origin; it is not trusted for forms", "public_url", publicURL, "error", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		renderError(w, r, log, billing.Errorf(billing.EFORBIDDEN, "This request came from another site, so it was refused. Nothing was changed."))
	}))
	return cop.Handler(next)
}

// requireSession lets a request through only with a live session (a valid
// cookie whose session was not signed out or removed), which it puts in the
// context with its current role, together with sessions for the flash
// messages. Without one, a GET is sent to sign in and anything else is
// refused; when the session cannot be checked, the request gets the error
// page.
func requireSession(sessions *auth.Sessions, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := sessions.Live(r)
		if errors.Is(err, auth.ErrNoSession) {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/auth/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			renderError(w, r, log, errUnauthorized)
			return
		}
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		info(r.Context()).Org = s.OrgID
		ctx := context.WithValue(auth.WithSession(r.Context(), s), sessionsKey{}, sessions)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type sessionsKey struct{}

// sessionsOf returns the sessions requireSession put in ctx, if any.
func sessionsOf(ctx context.Context) (*auth.Sessions, bool) {
	m, ok := ctx.Value(sessionsKey{}).(*auth.Sessions)
	return m, ok
}

var errUnauthorized = &billing.Error{Code: codeUnauthorized, Message: "Your session has ended. Sign in again; nothing was changed."}

// codeUnauthorized is the web layer's own code for a missing session.
const codeUnauthorized = "unauthorized"

// adminForChanges refuses any unsafe method to a member who is not an admin.
func adminForChanges(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if s, _ := auth.FromContext(r.Context()); !s.Role.CanChange() {
				renderError(w, r, log, billing.Errorf(billing.EFORBIDDEN,
					"Viewers can see billing but not change it. Ask an admin of your organisation to make this change. Nothing was changed."))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// notFound answers requests no route matches with the 404 page. A path that
// a route serves with another method is left to the mux, which answers 405
// with an Allow header.
func notFound(mux *http.ServeMux, sessions *auth.Sessions, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" && !routedOtherwise(mux, r) {
			if s, err := sessions.Live(r); err == nil {
				r = r.WithContext(auth.WithSession(r.Context(), s))
			}
			renderError(w, r, log, billing.Errorf(billing.ENOTFOUND, "There is no page at this address."))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// routedOtherwise reports whether a route serves r's path with another
// method: the mux reports no pattern for both 404 and 405.
func routedOtherwise(mux *http.ServeMux, r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		other := r.Clone(r.Context())
		other.Method = m
		if _, pattern := mux.Handler(other); pattern != "" {
			return true
		}
	}
	return false
}
