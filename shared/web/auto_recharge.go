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
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/recharge"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// autoRechargeView gathers what the Auto Recharge page shows.
func autoRechargeView(w http.ResponseWriter, r *http.Request, s *store.Store, pay *payments.Service, now func() time.Time) (html.AutoRechargeProps, error) {
	sess, _ := auth.FromContext(r.Context())
	props := html.AutoRechargeProps{Page: pageProps(w, r, "/billing/auto-recharge")}
	acct, _, err := s.Overview(r.Context(), sess.OrgID, now())
	if err != nil {
		return props, err
	}
	props.Settings = acct.AutoRecharge
	cards, err := pay.Cards(r.Context(), sess.OrgID)
	if err != nil {
		return props, err
	}
	for i := range cards {
		if cards[i].Default {
			props.Card = &cards[i]
		}
	}
	st, err := s.RechargeState(r.Context(), sess.OrgID)
	if err != nil {
		return props, err
	}
	if st.PendingPayment != "" {
		// The engine clears it on its next run; until then a payment the
		// customer has confirmed already is not offered again.
		p, err := pay.TopUpPayment(r.Context(), sess.OrgID, st.PendingPayment)
		if err != nil && billing.ErrorCode(err) != billing.ENOTFOUND {
			return props, err
		}
		if err == nil && payments.NeedsCustomer(p) {
			props.PendingPayment = st.PendingPayment
		}
	}
	props.Attempts, err = s.RechargeAttempts(r.Context(), sess.OrgID, 10)
	return props, err
}

func rechargeValues(a billing.AutoRechargeSettings) map[string]string {
	v := map[string]string{"threshold": a.Threshold.String(), "amount": a.Amount.String()}
	if a.Enabled {
		v["enabled"] = "on"
	}
	if a.Threshold == 0 {
		v["threshold"] = ""
	}
	if a.Amount == 0 {
		v["amount"] = ""
	}
	if a.MonthlyCap > 0 {
		v["monthly_cap"] = a.MonthlyCap.String()
	}
	return v
}

// handleAutoRecharge shows the Auto Recharge settings and last attempts.
func handleAutoRecharge(s *store.Store, pay *payments.Service, now func() time.Time, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		props, err := autoRechargeView(w, r, s, pay, now)
		if err != nil {
			return nil, err
		}
		props.Values = rechargeValues(props.Settings)
		return html.AutoRechargePage(props), nil
	})
}

// handleSaveAutoRecharge saves the settings. Turning it on needs a default
// card; when Remaining Credits are already below the threshold, the engine
// runs at once.
func handleSaveAutoRecharge(s *store.Store, pay *payments.Service, engine *recharge.Engine, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		values := map[string]string{"enabled": r.PostFormValue("enabled")}
		for _, k := range []string{"threshold", "amount", "monthly_cap"} {
			values[k] = strings.TrimSpace(r.PostFormValue(k))
		}
		var changes billing.Changes
		err := func() error {
			a := billing.AutoRechargeSettings{Enabled: values["enabled"] == "on"}
			for _, f := range []struct {
				field string
				dst   *money.Money
			}{{"threshold", &a.Threshold}, {"amount", &a.Amount}, {"monthly_cap", &a.MonthlyCap}} {
				field, dst := f.field, f.dst
				if values[field] == "" {
					continue
				}
				m, err := money.ParseInput(values[field])
				if err != nil {
					return billing.FieldError(field, "Enter an amount in dollars, e.g. 25 or 25.50.")
				}
				*dst = m
			}
			if a.Enabled {
				if err := a.Validate(); err != nil {
					return err
				}
				cards, err := pay.Cards(r.Context(), sess.OrgID)
				if err != nil {
					return err
				}
				if !hasDefault(cards) {
					return billing.FieldError("enabled", "Add a card and make it your default before you turn on auto-recharge.")
				}
			}
			old, err := s.Account(r.Context(), sess.OrgID, now())
			if err != nil {
				return err
			}
			if err := s.SetAutoRecharge(r.Context(), sess.OrgID, a); err != nil {
				return err
			}
			changes.Field("Auto Recharge", onOff(old.AutoRecharge.Enabled), onOff(a.Enabled))
			if a.Enabled { // the amounts are saved only with auto-recharge on
				changes.Field("Threshold", moneyLabel(old.AutoRecharge.Threshold), moneyLabel(a.Threshold))
				changes.Field("Amount", moneyLabel(old.AutoRecharge.Amount), moneyLabel(a.Amount))
				changes.Field("Monthly cap", moneyLabel(old.AutoRecharge.MonthlyCap), moneyLabel(a.MonthlyCap))
			}
			return nil
		}()
		recordChanges(r, s, log, auditAutoRecharge, changes)
		if formFailed(w, r, log, err, func(errs map[string]string) (g.Node, error) {
			props, err := autoRechargeView(w, r, s, pay, now)
			props.Values, props.Errors = values, errs
			return html.AutoRechargePage(props), err
		}) {
			return
		}
		msg := "Auto-recharge is off."
		if values["enabled"] == "on" {
			msg = "Auto-recharge is on."
			res, err := engine.Run(r.Context(), sess.OrgID)
			switch {
			case err != nil:
				logger(log, r.Context()).Error("auto-recharge after enabling", "error", err)
			case res.Outcome == recharge.OutcomeCharged:
				msg += " Your balance was below the threshold, so " + res.Payment.Amount.Display() + " was added."
			case res.Outcome == recharge.OutcomeActionRequired:
				msg += " Your balance is below the threshold, and your bank asks you to confirm the payment: use Confirm payment below."
			case res.Outcome == recharge.OutcomeFailed:
				msg += " Your balance is below the threshold, but the charge failed: " + strings.TrimSuffix(res.Reason, ".") + "."
			}
		}
		redirect(w, r, "/billing/auto-recharge", "success", msg)
	})
}

func hasDefault(cards []payments.Card) bool {
	for _, c := range cards {
		if c.Default {
			return true
		}
	}
	return false
}
