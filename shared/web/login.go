package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/store"
)

// handleLogin serves the sign-in page. In AWS with OIDC configured it
// sends the visitor to the identity provider instead, keeping a safe
// ?next= path through the sign-in.
func handleLogin(local bool, oidc *auth.OIDC, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := safeNext(r.URL.Query().Get("next"))
		w.Header().Set("Cache-Control", "no-store")
		if !local && oidc != nil {
			to, err := oidc.Start(r.Context(), w, next)
			if err != nil {
				renderError(w, r, log, err)
				return
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = html.LoginPage(html.LoginProps{Local: local, Next: next}).Render(w)
	})
}

// handleCallback completes a sign-in with the identity provider: it
// verifies the state, PKCE and ID token, creates the organisation on its
// first sign-in, issues the session and returns to the ?next= path the
// sign-in started with. A refused sign-in gets the sign-in page saying why,
// and no session. Without OIDC it sends the visitor to /auth/login.
func handleCallback(oidc *auth.OIDC, s *store.Store, sessions *auth.Sessions, newOrg store.NewOrg, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if oidc == nil {
			http.Redirect(w, r, "/auth/login", http.StatusSeeOther)
			return
		}
		id, next, err := oidc.Finish(w, r)
		if code := billing.ErrorCode(err); code == billing.EINVALID || code == billing.EFORBIDDEN {
			logger(log, r.Context()).Warn("sign-in refused", "error", err)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(statusOf[code])
			_ = html.LoginPage(html.LoginProps{Next: safeNext(next), Error: billing.ErrorMessage(err), Retry: true}).Render(w)
			return
		}
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		info(r.Context()).Org = id.OrgID
		newOrg.Profile.BillingEmail = id.Email // a new organisation's billing email is its first member's
		name, err := ensureOrg(r, s, newOrg, id.OrgID, now())
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		if err := sessions.SignIn(r.Context(), w, auth.Session{OrgID: id.OrgID, OrgName: name, Email: id.Email, Role: id.Role}); err != nil {
			renderError(w, r, log, err)
			return
		}
		http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	})
}

// handleLogout ends the session: its record first, so that every copy of
// the cookie is refused, then the cookie. With OIDC it then ends the
// session at the identity provider too, when the provider has an
// end_session_endpoint; otherwise it returns to the sign-in page. When the
// record cannot be ended it shows the error page and keeps the cookie, so
// that signing out can be tried again.
func handleLogout(sessions *auth.Sessions, oidc *auth.OIDC, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := sessions.SignOut(w, r); err != nil {
			renderError(w, r, log, err)
			return
		}
		to := "/auth/login"
		if oidc != nil {
			switch end, err := oidc.LogoutURL(r.Context()); {
			case err != nil:
				logger(log, r.Context()).Error("sign out at the identity provider", "error", err)
			case end != "":
				to = end
			}
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

// handleDevLogin is the local development sign-in of DESIGN.md:
// GET /dev/login?org=<id>&email=<addr>&role=admin|viewer sets the session
// cookie and redirects to /billing (or a local ?next= path). A first
// sign-in creates the organisation. It is mounted only in local mode.
func handleDevLogin(s *store.Store, sessions *auth.Sessions, newOrg store.NewOrg, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sess := auth.Session{OrgID: q.Get("org"), Email: q.Get("email"), Role: billing.Role(q.Get("role"))}
		if sess.Role == "" {
			sess.Role = billing.RoleAdmin
		}
		next := safeNext(q.Get("next"))
		if err := sess.Validate(); err != nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			_ = html.LoginPage(html.LoginProps{Local: true, Next: next, Error: billing.ErrorMessage(err)}).Render(w)
			return
		}
		newOrg.Profile.BillingEmail = sess.Email // a new organisation's billing email is its first member's
		name, err := ensureOrg(r, s, newOrg, sess.OrgID, now())
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		sess.OrgName = name
		if err := sessions.SignIn(r.Context(), w, sess); err != nil {
			renderError(w, r, log, err)
			return
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}

// The store keeps the session records.
var _ auth.Records = (*store.Store)(nil)

// ensureOrg returns the name of the organisation signing in, creating it
// on its first sign-in with the configured trial credits and overage limit.
func ensureOrg(r *http.Request, s *store.Store, n store.NewOrg, orgID string, now time.Time) (string, error) {
	n.Org = billing.Org{ID: orgID, Name: orgID}
	err := s.CreateOrg(r.Context(), n)
	if err == nil {
		return n.Name, nil
	}
	if billing.ErrorCode(err) != billing.ECONFLICT {
		return "", err
	}
	acct, err := s.Account(r.Context(), orgID, now)
	return acct.Name, err
}

// safeNext returns next if it is a path of the Billing section, so the
// sign-in can never redirect to another site.
func safeNext(next string) string {
	if next == "/billing" || strings.HasPrefix(next, "/billing/") || strings.HasPrefix(next, "/billing?") {
		if !strings.Contains(next, "//") && !strings.Contains(next, "\\") {
			return next
		}
	}
	return "/billing"
}
