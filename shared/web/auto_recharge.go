package web

import (
	"errors"
	"log/slog"
	"math"
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
	// One BatchGetItem for the settings, the customer and the engine's
	// state, and one query of the attempts: two round trips.
	ov, err := s.ReadOverview(r.Context(), sess.OrgID, now())
	if err != nil {
		return props, err
	}
	props.Settings = ov.Account.AutoRecharge
	cards, err := pay.CustomerCards(r.Context(), ov.Profile.CustomerID)
	if err != nil {
		return props, err
	}
	for i := range cards {
		if cards[i].Default {
			props.Card = &cards[i]
		}
	}
	if st := ov.Recharge; st.PendingPayment != "" {
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

// maxMonthlyCap is the largest monthly cap the form accepts: 200
// recharges of the largest amount.
const maxMonthlyCap = 200 * 5000 * money.Dollar

// rechargeFrom reads the Auto Recharge form: the settings, and the error
// of every bad amount at once. While the switch is on, the threshold and
// the amount are required, from $5 to $5,000, and a monthly cap, when
// given, is at least the amount; while it is off any amounts in whole
// cents are kept as typed, so that auto-recharge can always be turned off.
func rechargeFrom(values map[string]string) (billing.AutoRechargeSettings, error) {
	a := billing.AutoRechargeSettings{Enabled: values["enabled"] == "on"}
	limit := func(required string) amountRule {
		if !a.Enabled {
			return amountRule{min: math.MinInt64, max: math.MaxInt64}
		}
		return amountRule{min: billing.MinRecharge, max: billing.MaxRecharge, required: required}
	}
	capRule := limit("")
	if a.Enabled {
		capRule = amountRule{min: money.Cent, max: maxMonthlyCap, below: "leave the field empty for no cap."}
	}
	var errs []error
	for _, f := range []struct {
		field string
		dst   *money.Money
		rule  amountRule
	}{
		{"threshold", &a.Threshold, limit("Enter a threshold between $5 and $5,000: when Remaining Credits fall below it, your card is charged.")},
		{"amount", &a.Amount, limit("Enter the amount to add each time, between $5 and $5,000.")},
		{"monthly_cap", &a.MonthlyCap, capRule},
	} {
		m, err := f.rule.read(f.field, values[f.field])
		errs = append(errs, err)
		*f.dst = m
	}
	if err := errors.Join(errs...); err != nil {
		return a, err
	}
	if a.Enabled && a.MonthlyCap > 0 && a.MonthlyCap < a.Amount {
		return a, billing.FieldError("monthly_cap", "%s is below the recharge amount of %s: leave the cap empty, or enter at least %s.",
			a.MonthlyCap.Display(), a.Amount.Display(), a.Amount.Display())
	}
	return a, nil
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
// card; a missing card and every bad amount get their messages at once,
// and nothing is saved. When Remaining Credits are already below the
// threshold, the engine runs at once.
func handleSaveAutoRecharge(s *store.Store, pay *payments.Service, engine *recharge.Engine, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		values := map[string]string{"enabled": r.PostFormValue("enabled")}
		for _, k := range []string{"threshold", "amount", "monthly_cap"} {
			values[k] = strings.TrimSpace(r.PostFormValue(k))
		}
		var changes billing.Changes
		err := func() error {
			a, err := rechargeFrom(values)
			if a.Enabled {
				cards, cerr := pay.Cards(r.Context(), sess.OrgID)
				if cerr != nil {
					return cerr
				}
				if !hasDefault(cards) {
					err = errors.Join(billing.FieldError("enabled", "Add a card and make it your default before you turn on auto-recharge."), err)
				}
			}
			if err != nil {
				return err
			}
			if err := a.Validate(); err != nil {
				return err
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
