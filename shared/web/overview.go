package web

import (
	"context"
	"fmt"
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
		status, err := rechargeStatus(r.Context(), s, o, at)
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
// payment provider: "no card" is known while the organisation has no
// payment customer at all, and its default card from the summary on its
// profile (none, or expired before now's month). An organisation whose
// summary was never recorded shows neither.
func rechargeStatus(ctx context.Context, s *store.Store, o store.Overview, now time.Time) (*html.RechargeStatus, error) {
	acct, st, card := o.Account, o.Recharge, o.DefaultCard
	if !acct.AutoRecharge.Enabled {
		return nil, nil
	}
	rs := &html.RechargeStatus{Settings: acct.AutoRecharge, NoCard: o.Profile.CustomerID == "", NoDefault: card.None(), Failures: st.Failures,
		MaxFailures: recharge.MaxFailures, NextAttempt: st.NextAttempt, PendingPayment: st.PendingPayment}
	if card.Expired(now) {
		rs.Expired, rs.ExpiredOn = card.Label, fmt.Sprintf("%02d/%02d", card.ExpMonth, card.ExpYear%100)
	}
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
