package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/recharge"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// handleOverview serves the Billing Overview with two reads of the store:
// the account, profile and recent days in one batch, and the last settings
// changes. With auto-recharge on it reads the engine's state too (and,
// after a failed charge, the last attempt), for the banner that says when
// auto-recharge cannot charge.
func handleOverview(s *store.Store, now func() time.Time, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sess, _ := auth.FromContext(r.Context())
		at := now()
		acct, profile, daily, err := s.OverviewWithDays(r.Context(), sess.OrgID, at)
		if err != nil {
			return nil, err
		}
		changes, err := s.RecentChanges(r.Context(), sess.OrgID, 5)
		if err != nil {
			return nil, err
		}
		status, err := rechargeStatus(r.Context(), s, acct, profile)
		if err != nil {
			return nil, err
		}
		props := pageProps(w, r, "/billing")
		props.OrgName = acct.Name
		figures := acct.Figures()
		return html.OverviewPage(html.OverviewProps{Page: props, Account: acct, Figures: figures, Profile: profile, Changes: changes,
			Forecast: billing.ForecastAt(figures.Remaining, daily, at), Recharge: status,
			NextInvoice: invoicing.NextClose(at), Estimate: invoicing.Compute(acct.UsagePeriod, acct.Ledger)}), nil
	})
}

// rechargeStatus is what the Overview says about auto-recharge while it
// is on: nil when it is off. The Overview function has no access to the
// payment provider, so "no card" is known for certain only while the
// organisation has no payment customer at all; a card removed later shows
// as the engine's failed attempt ("there is no default card").
func rechargeStatus(ctx context.Context, s *store.Store, acct billing.Account, profile billing.Profile) (*html.RechargeStatus, error) {
	if !acct.AutoRecharge.Enabled {
		return nil, nil
	}
	st, err := s.RechargeState(ctx, acct.OrgID)
	if err != nil {
		return nil, err
	}
	rs := &html.RechargeStatus{Settings: acct.AutoRecharge, NoCard: profile.CustomerID == "", Failures: st.Failures,
		MaxFailures: recharge.MaxFailures, NextAttempt: st.NextAttempt, PendingPayment: st.PendingPayment}
	if st.Failures > 0 {
		last, err := s.RechargeAttempts(ctx, acct.OrgID, 1)
		if err != nil {
			return nil, err
		}
		if len(last) > 0 {
			rs.Last = &last[0]
		}
	}
	return rs, nil
}
