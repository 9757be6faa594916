package web

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

func notificationsPage(w http.ResponseWriter, r *http.Request, values, errs map[string]string) g.Node {
	return html.NotificationsPage(html.NotificationsProps{Page: pageProps(w, r, "/billing/notifications"), Values: values, Errors: errs})
}

// handleNotifications shows the Invoice Notifications form with the stored
// billing email.
func handleNotifications(s *store.Store, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sess, _ := auth.FromContext(r.Context())
		p, err := s.Profile(r.Context(), sess.OrgID)
		if err != nil {
			return nil, err
		}
		return notificationsPage(w, r, map[string]string{"email": p.BillingEmail}, nil), nil
	})
}

// handleSaveNotifications validates and saves the billing email (where
// notifications and invoices go), records the change in the audit trail,
// then sets it as the payment customer's email when the organisation has a
// customer. Bad input answers 422 with the message at the field, the input
// kept and nothing saved. A failed customer update leaves the local save
// in place and says so; saving again retries it.
func handleSaveNotifications(s *store.Store, cu customerUpdater, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		values := map[string]string{"email": strings.TrimSpace(r.PostFormValue("email"))}
		if errs, ok := fieldErrors(billing.ValidateEmail("email", values["email"])); ok {
			renderStatus(w, r, log, http.StatusUnprocessableEntity, notificationsPage(w, r, values, errs))
			return
		}
		p, err := s.Profile(r.Context(), sess.OrgID)
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		var changes billing.Changes
		if changes.Field("Billing email", p.BillingEmail, values["email"]); len(changes) > 0 {
			if err := s.SetBillingEmail(r.Context(), sess.OrgID, p.BillingEmail, values["email"], auditEntry(sess, auditNotifications, changes)); err != nil {
				renderError(w, r, log, err)
				return
			}
		}
		if !syncCustomer(r, cu, log, p.CustomerID, payments.CustomerUpdate{Email: values["email"]}) {
			redirect(w, r, "/billing/notifications", "error", "Your billing email is saved here, and notifications go to it, but invoices from our payment provider "+
				"still go to the old address: updating it there failed. Save again in a few minutes to retry.")
			return
		}
		redirect(w, r, "/billing/notifications", "success", "Your billing email is saved. Invoices and other billing notifications will be sent to "+values["email"]+".")
	})
}
