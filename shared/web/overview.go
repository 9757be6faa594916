package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// handleOverview serves the Billing Overview with two reads of the store:
// the account, profile and recent days in one batch, and the last settings
// changes.
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
		props := pageProps(w, r, "/billing")
		props.OrgName = acct.Name
		figures := acct.Figures()
		return html.OverviewPage(html.OverviewProps{Page: props, Account: acct, Figures: figures, Profile: profile, Changes: changes,
			Forecast: billing.ForecastAt(figures.Remaining, daily, at)}), nil
	})
}
