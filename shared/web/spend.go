package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// spendView gathers what the Spend Management page shows: settings, today
// and yesterday, 30 days for the chart, the webhook and its deliveries.
func spendView(w http.ResponseWriter, r *http.Request, s *store.Store, n *notify.Notifier, now time.Time) (html.SpendProps, error) {
	sess, _ := auth.FromContext(r.Context())
	props := html.SpendProps{Page: pageProps(w, r, "/billing/spend-management"), Day: now}
	acct, usage, hook, err := s.SpendView(r.Context(), sess.OrgID, now.AddDate(0, 0, -29), now)
	if err != nil {
		return props, err
	}
	props.Settings, props.Today, props.Usage = acct.Spend, acct.UsedToday, usage
	props.Yesterday = props.Usage[billing.Day(now.AddDate(0, 0, -1))]
	props.WebhookURL = hook.URL
	if sess.Role.CanChange() { // only admins may reveal the signing secret
		props.Secret = hook.Secret
		if len(hook.SigningSecrets(now)) > 1 {
			props.PreviousUntil = hook.PreviousUntil
		}
	}
	ds, err := n.Deliveries(r.Context(), sess.OrgID, 20)
	if err != nil {
		return props, err
	}
	for _, d := range ds {
		props.Deliveries = append(props.Deliveries, html.Delivery{Time: d.Updated, Type: d.Type, Channel: d.Channel, Status: d.Status,
			Code: d.StatusCode, Attempts: d.Attempts, Reason: d.Error})
	}
	return props, nil
}

func spendValues(sp billing.SpendSettings, url string) map[string]string {
	v := map[string]string{"webhook_url": url}
	if sp.Enabled {
		v["enabled"] = "on"
	}
	if sp.DailyBudget > 0 {
		v["daily_budget"] = sp.DailyBudget.String()
	}
	if sp.EmailThreshold > 0 {
		v["email_threshold"] = sp.EmailThreshold.String()
	}
	return v
}

// handleSpend shows the Spend Management page.
func handleSpend(s *store.Store, n *notify.Notifier, now func() time.Time, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		props, err := spendView(w, r, s, n, now())
		if err != nil {
			return nil, err
		}
		props.Values = spendValues(props.Settings, props.WebhookURL)
		return html.SpendPage(props), nil
	})
}

// handleSaveSpend saves the settings. The webhook URL is checked here
// (https, not a private address) and again when dialling. A first webhook
// URL gets a signing secret, which admins reveal on the page.
func handleSaveSpend(s *store.Store, n *notify.Notifier, local bool, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		values := map[string]string{"enabled": r.PostFormValue("enabled")}
		for _, k := range []string{"daily_budget", "email_threshold", "webhook_url"} {
			values[k] = strings.TrimSpace(r.PostFormValue(k))
		}
		var secret string
		var changes billing.Changes
		err := func() error {
			sp := billing.SpendSettings{Enabled: values["enabled"] == "on"}
			for _, f := range []struct {
				field string
				dst   *money.Money
			}{{"daily_budget", &sp.DailyBudget}, {"email_threshold", &sp.EmailThreshold}} {
				field, dst := f.field, f.dst
				if values[field] == "" {
					continue
				}
				m, err := money.ParseInput(values[field])
				if err != nil || m <= 0 || m%money.Cent != 0 || m > money.Dollars(1_000_000) {
					return billing.FieldError(field, "Enter an amount in dollars between $0.01 and $1,000,000, or leave it empty.")
				}
				*dst = m
			}
			if values["webhook_url"] != "" {
				if err := notify.ValidateWebhookURL(values["webhook_url"], local); err != nil {
					return err
				}
			}
			old, err := s.Account(r.Context(), sess.OrgID, now())
			if err != nil {
				return err
			}
			oldHook, err := s.Webhook(r.Context(), sess.OrgID)
			if err != nil {
				return err
			}
			if err := s.SetSpendSettings(r.Context(), sess.OrgID, sp); err != nil {
				return err
			}
			changes.Field("Spend Management", onOff(old.Spend.Enabled), onOff(sp.Enabled))
			changes.Field("Daily budget", moneyLabel(old.Spend.DailyBudget), moneyLabel(sp.DailyBudget))
			changes.Field("Email notification threshold", moneyLabel(old.Spend.EmailThreshold), moneyLabel(sp.EmailThreshold))
			secret, err = s.SetWebhookURL(r.Context(), sess.OrgID, values["webhook_url"])
			if err == nil {
				webhookChange(&changes, oldHook.URL, values["webhook_url"])
				if secret != "" {
					changes.Event("webhook signing secret created")
				}
			}
			return err
		}()
		recordChanges(r, s, log, auditSpend, changes)
		if formFailed(w, r, log, err, func(errs map[string]string) (g.Node, error) {
			props, err := spendView(w, r, s, n, now())
			props.Values, props.Errors = values, errs
			return html.SpendPage(props), err
		}) {
			return
		}
		if secret != "" {
			redirect(w, r, "/billing/spend-management", "success", "Spend Management is saved. Your webhook has a signing secret: reveal it under Webhook to copy it.")
			return
		}
		redirect(w, r, "/billing/spend-management", "success", "Spend Management is saved.")
	})
}

// handleRotateSecret replaces the webhook signing secret, and redirects so
// that reloading the page cannot rotate again. The old secret signs beside
// the new one for store.SecretOverlap.
func handleRotateSecret(s *store.Store, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		_, err := s.RotateWebhookSecret(r.Context(), sess.OrgID)
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			redirect(w, r, "/billing/spend-management", "error", billing.ErrorMessage(err))
			return
		}
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		recordChanges(r, s, log, auditSpend, billing.Changes{{What: "webhook signing secret rotated"}})
		until := now().Add(store.SecretOverlap).UTC().Format("Jan 2, 2006 15:04 UTC")
		redirect(w, r, "/billing/spend-management", "success", "The signing secret is rotated. Deliveries are signed with the new secret, and until "+until+" with the old one too, so your receiver can switch without losing events.")
	})
}

// handleTestWebhook sends a signed test event to the webhook now.
func handleTestWebhook(n *notify.Notifier, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		d, err := n.SendTest(r.Context(), sess.OrgID)
		if e, ok := fieldErrors(err); ok {
			redirect(w, r, "/billing/spend-management", "error", e["webhook_url"])
			return
		}
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			redirect(w, r, "/billing/spend-management", "error", billing.ErrorMessage(err))
			return
		}
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		if d.Status == notify.StatusDelivered {
			redirect(w, r, "/billing/spend-management", "success", "The test event was delivered.")
			return
		}
		msg := "The test event was not delivered"
		if d.Error != "" {
			msg += ": " + strings.TrimSuffix(d.Error, ".") // the error is a sentence; the message adds its own stop
		}
		redirect(w, r, "/billing/spend-management", "error", msg+". See Recent deliveries.")
	})
}
