package web

import (
	"encoding/csv"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// historyPageSize is how many balance transactions one page shows.
const historyPageSize = 25

// handleBalanceHistory serves one page of the balance history, newest
// first; ?after= carries the cursor of older pages.
func handleBalanceHistory(s *store.Store, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sess, _ := auth.FromContext(r.Context())
		cursor := r.URL.Query().Get("after")
		txs, err := s.Transactions(r.Context(), sess.OrgID, cursor, historyPageSize)
		if err != nil {
			return nil, err
		}
		return html.BalanceHistoryPage(html.BalanceHistoryProps{
			PageProps: pageProps(w, r, "/billing/balance-history"), Transactions: txs, FirstPage: cursor == "",
		}), nil
	})
}

// handleBalanceHistoryCSV exports the whole balance history as CSV, newest
// first, with amounts in dollars at full (micro-dollar) precision.
func handleBalanceHistoryCSV(s *store.Store, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		// Read everything before writing, so a failure shows the error page
		// instead of a cut-off file.
		var rows [][]string
		err := s.EachTransaction(r.Context(), sess.OrgID, func(tx billing.Transaction) error {
			rows = append(rows, []string{tx.ID, tx.Created.UTC().Format(time.RFC3339), csvSafe(tx.Description), tx.Amount.String()})
			return nil
		})
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		name := fmt.Sprintf("balance-history-%s-%s.csv", sess.OrgID, billing.Day(now()))
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"id", "created_at", "description", "amount_usd"})
		_ = cw.WriteAll(rows) // a write error means the client went away
	})
}

// csvSafe keeps a spreadsheet from reading a description as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
