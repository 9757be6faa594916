package web

import (
	"errors"
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

// spendAmounts are the rules of the budget and the email threshold: whole
// cents up to $1,000,000, or empty for none.
var spendAmounts = []struct {
	field string
	rule  amountRule
}{
	{"daily_budget", amountRule{min: money.Cent, max: money.Dollars(1_000_000), below: "leave the field empty for no daily budget."}},
	{"email_threshold", amountRule{min: money.Cent, max: money.Dollars(1_000_000), below: "leave the field empty for no email."}},
}

// spendFrom reads the Spend Management form's values: the settings, and
// the error of every bad field joined (the webhook URL is checked apart).
func spendFrom(values map[string]string) (billing.SpendSettings, error) {
	sp := billing.SpendSettings{Enabled: values["enabled"] == "on"}
	dst := map[string]*money.Money{"daily_budget": &sp.DailyBudget, "email_threshold": &sp.EmailThreshold}
	var errs []error
	for _, a := range spendAmounts {
		m, err := a.rule.read(a.field, values[a.field])
		errs = append(errs, err)
		*dst[a.field] = m
	}
	return sp, errors.Join(errs...)
}

// thresholdWarning warns when the email threshold is at or above the
// daily budget, or is "". It is a warning, not an error: such settings
// save. They are not wrong, only unhelpful (the budget blocks usage at
// the threshold or before it, so the email comes with the budget's
// notification or never), and refusing them would make lowering the
// budget for a day a two-field chore.
func thresholdWarning(sp billing.SpendSettings) string {
	if !sp.Enabled || sp.DailyBudget <= 0 || sp.EmailThreshold < sp.DailyBudget {
		return ""
	}
	return "This threshold is at or above your daily budget of " + sp.DailyBudget.Display() +
		": usage is blocked at the budget, so this email comes with the budget notification or never. Set it below the budget to be warned first."
}

// handleSpend shows the Spend Management page.
func handleSpend(s *store.Store, n *notify.Notifier, now func() time.Time, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		props, err := spendView(w, r, s, n, now())
		if err != nil {
			return nil, err
		}
		props.Values = spendValues(props.Settings, props.WebhookURL)
		props.ThresholdWarning = thresholdWarning(props.Settings)
		return html.SpendPage(props), nil
	})
}

// handleSaveSpend saves the settings. A field the form does not send (the
// page disables the fields while the switch is off, and browsers send no
// disabled field) keeps its saved value; a field sent empty clears it.
// Every bad field gets its message at once, and nothing is saved. The
// webhook URL is checked here (https, not a private address) and again
// when dialling. A first webhook URL gets a signing secret, which admins
// reveal on the page.
func handleSaveSpend(s *store.Store, n *notify.Notifier, local bool, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		values := map[string]string{"enabled": r.PostFormValue("enabled")}
		var secret, warning string
		var changes billing.Changes
		err := func() error {
			old, err := s.Account(r.Context(), sess.OrgID, now())
			if err != nil {
				return err
			}
			oldHook, err := s.Webhook(r.Context(), sess.OrgID)
			if err != nil {
				return err
			}
			saved := spendValues(old.Spend, oldHook.URL)
			for _, k := range []string{"daily_budget", "email_threshold", "webhook_url"} {
				values[k] = saved[k]
				if _, sent := r.PostForm[k]; sent {
					values[k] = strings.TrimSpace(r.PostFormValue(k))
				}
			}
			sp, err := spendFrom(values)
			if values["webhook_url"] != "" {
				err = errors.Join(err, notify.ValidateWebhookURL(values["webhook_url"], local))
			}
			if err != nil {
				return err
			}
			if err := s.SetSpendSettings(r.Context(), sess.OrgID, sp); err != nil {
				return err
			}
			warning = thresholdWarning(sp)
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
			if sp, perr := spendFrom(values); perr == nil {
				props.ThresholdWarning = thresholdWarning(sp)
			}
			return html.SpendPage(props), err
		}) {
			return
		}
		msg := "Spend Management is saved."
		if secret != "" {
			msg += " Your webhook has a signing secret: reveal it under Webhook to copy it."
		}
		if warning != "" {
			msg += " Note: your email threshold is at or above your daily budget (see the note at the field)."
		}
		redirect(w, r, "/billing/spend-management", "success", msg)
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
