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
// the account, profile, recent days and auto-recharge's state in one
// batch, and the last settings changes. After a failed auto-recharge
// charge it reads the last attempt too, for the banner that says why.
func handleOverview(s *store.Store, now func() time.Time, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sess, _ := auth.FromContext(r.Context())
		at := now()
		o, err := s.ReadOverview(r.Context(), sess.OrgID, at)
		if err != nil {
			return nil, err
		}
		acct, profile, daily := o.Account, o.Profile, o.Days
		changes, err := s.RecentChanges(r.Context(), sess.OrgID, 5)
		if err != nil {
			return nil, err
		}
		status, err := rechargeStatus(r.Context(), s, o)
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
func rechargeStatus(ctx context.Context, s *store.Store, o store.Overview) (*html.RechargeStatus, error) {
	acct, st := o.Account, o.Recharge
	if !acct.AutoRecharge.Enabled {
		return nil, nil
	}
	rs := &html.RechargeStatus{Settings: acct.AutoRecharge, NoCard: o.Profile.CustomerID == "", Failures: st.Failures,
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
