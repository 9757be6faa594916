package web

import (
	"log/slog"
	"net/http"
	"net/url"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// Pages named in the audit trail.
const (
	auditAddress        = "Invoice Address"
	auditNotifications  = "Invoice Notifications"
	auditSpend          = "Spend Management"
	auditAutoRecharge   = "Auto Recharge"
	auditPaymentMethods = "Payment Methods"
	auditTax            = "Tax Settings"
)

// recordChanges adds a save's changes, made by the signed-in member, to the
// organisation's audit trail. The change itself is saved already, so a
// failure to record it is logged, not shown.
func recordChanges(r *http.Request, s *store.Store, log *slog.Logger, page string, changes billing.Changes) {
	if len(changes) == 0 {
		return
	}
	sess, _ := auth.FromContext(r.Context())
	if err := s.AddAudit(r.Context(), sess.OrgID, auditEntry(sess, page, changes)); err != nil {
		logger(log, r.Context()).Error("record settings change", "page", page, "error", err)
	}
}

// auditEntry is an audit entry of the member's change; the store dates it.
func auditEntry(sess auth.Session, page string, changes billing.Changes) billing.AuditEntry {
	return billing.AuditEntry{Actor: sess.Email, Page: page, Changes: changes}
}

func onOff(on bool) string {
	if on {
		return "On"
	}
	return "Off"
}

// moneyLabel is an amount for the audit trail; "" for none set.
func moneyLabel(m money.Money) string {
	if m == 0 {
		return ""
	}
	return m.Display()
}

// webhookChange adds the change of the webhook URL, showing only its
// scheme and host: a path or query may carry a token.
func webhookChange(cs *billing.Changes, before, after string) {
	if before == after {
		return
	}
	o, n := redactURL(before), redactURL(after)
	if o == n {
		cs.Event("Webhook URL changed (" + n + ")")
		return
	}
	cs.Field("Webhook URL", o, n)
}

// redactURL is u's scheme and host, with "/…" when it has more.
func redactURL(u string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "(hidden)"
	}
	out := p.Scheme + "://" + p.Host
	if (p.Path != "" && p.Path != "/") || p.RawQuery != "" || p.Fragment != "" || p.User != nil {
		out += "/…"
	}
	return out
}
