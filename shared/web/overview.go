package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// handleOverview serves the Billing Overview with two reads of the store:
// the account and profile in one batch, and the last settings changes.
func handleOverview(s *store.Store, now func() time.Time, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sess, _ := auth.FromContext(r.Context())
		acct, profile, err := s.Overview(r.Context(), sess.OrgID, now())
		if err != nil {
			return nil, err
		}
		changes, err := s.RecentChanges(r.Context(), sess.OrgID, 5)
		if err != nil {
			return nil, err
		}
		props := pageProps(w, r, "/billing")
		props.OrgName = acct.Name
		return html.OverviewPage(html.OverviewProps{Page: props, Account: acct, Figures: acct.Figures(), Profile: profile, Changes: changes}), nil
	})
}
