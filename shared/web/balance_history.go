package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// historyPageSize is how many balance transactions one page shows.
const historyPageSize = 25

// handleBalanceHistory serves one page of the balance history, newest
// first, of one kind (?kind=, all by default): ?after= carries the cursor
// of an older page, ?before= of a newer one. It makes at most 2 DynamoDB
// requests.
func handleBalanceHistory(s *store.Store, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		q := r.URL.Query()
		after, before, kind := q.Get("after"), q.Get("before"), q.Get("kind")
		txs, err := s.TransactionsAt(r.Context(), sess.OrgID, store.TxQuery{Kind: kind, After: after, Before: before, Limit: historyPageSize})
		switch {
		case err != nil:
			renderError(w, r, log, err)
		case txs.Top:
			path := "/billing/balance-history"
			if kind != "" {
				path += "?kind=" + kind // a valid kind: TransactionsAt checked it
			}
			http.Redirect(w, r, path, http.StatusSeeOther)
		default:
			page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
				return html.BalanceHistoryPage(html.BalanceHistoryProps{
					PageProps: pageProps(w, r, "/billing/balance-history"), Transactions: txs, Kind: kind,
					FirstPage: after == "" && before == "",
				}), nil
			}).ServeHTTP(w, r)
		}
	})
}

// maxExportSize bounds a CSV export: a Lambda function's response is JSON
// of at most 6 MB, and the CSV travels in it as a JSON string.
const maxExportSize = 5 << 20

// handleBalanceHistoryCSV exports the balance history as CSV, newest
// first, with amounts in dollars at full (micro-dollar) precision: the
// transactions created from ?from= to ?to= (UTC days, YYYY-MM-DD,
// inclusive; either may be left out). An export whose response would be
// over maxExportSize is refused with a message to choose a shorter range:
// it is read page by page and never holds more than that.
func handleBalanceHistoryCSV(s *store.Store, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		from, to, err := exportRange(r.URL.Query().Get("from"), r.URL.Query().Get("to"))
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		// Write to memory before the response, so a failure shows the
		// error page instead of a cut-off file.
		out := &jsonSized{max: maxExportSize}
		cw := csv.NewWriter(out)
		_ = cw.Write([]string{"id", "created_at", "description", "amount_usd"}) // out fails only when too big
		err = s.EachTransactionBetween(r.Context(), sess.OrgID, from, to, func(tx billing.Transaction) error {
			_ = cw.Write([]string{tx.ID, tx.Created.UTC().Format(time.RFC3339), csvSafe(tx.Description), tx.Amount.String()})
			return out.err
		})
		if cw.Flush(); err == nil {
			err = out.err
		}
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		name := fmt.Sprintf("balance-history-%s-%s.csv", sess.OrgID, billing.Day(now()))
		if !from.IsZero() || !to.IsZero() {
			name = fmt.Sprintf("balance-history-%s-%s-to-%s.csv", sess.OrgID, dayOr(from, "start"), dayOr(to.AddDate(0, 0, -1), billing.Day(now())))
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(out.buf.Bytes()) // a write error means the client went away
		}
	})
}

// exportRange parses the export's from and to days into [from, to), zero
// for an open end; EINVALID for a date that is not YYYY-MM-DD or a range
// that ends before it starts.
func exportRange(fromDay, toDay string) (from, to time.Time, err error) {
	if fromDay != "" {
		if from, err = time.Parse(time.DateOnly, fromDay); err != nil {
			return from, to, billing.FieldError("from", "Enter the first day as a date, e.g. 2026-11-01.")
		}
	}
	if toDay != "" {
		if to, err = time.Parse(time.DateOnly, toDay); err != nil {
			return from, to, billing.FieldError("to", "Enter the last day as a date, e.g. 2026-11-30.")
		}
		to = to.AddDate(0, 0, 1)
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, billing.FieldError("to", "The last day is before the first; choose a last day on or after %s.", fromDay)
	}
	return from, to, nil
}

func dayOr(t time.Time, none string) string {
	if t.IsZero() || t.Year() < 1 {
		return none
	}
	return billing.Day(t)
}

// jsonSized collects a response body up to max bytes as it will travel
// inside a JSON string (encoding/json escapes quotes, backslashes, control
// characters and <, >, &); past that it keeps an EINVALID error asking for
// a shorter range and drops the rest.
type jsonSized struct {
	buf  bytes.Buffer
	size int
	max  int
	err  error
}

func (j *jsonSized) Write(p []byte) (int, error) {
	if j.err != nil {
		return 0, j.err
	}
	written := len(p)
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		switch {
		case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
			j.size += 2
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029' || r == utf8.RuneError:
			j.size += 6
		default:
			j.size += n
		}
		j.buf.Write(p[:n])
		p = p[n:]
	}
	if j.size > j.max {
		j.err = billing.FieldError("to", "This range of your balance history is more than %d MB as CSV, more than one download can carry. Download it in shorter date ranges, for example a month at a time.", j.max>>20)
		j.buf.Reset()
		return 0, j.err
	}
	return written, nil
}

// csvSafe keeps a spreadsheet from reading a description as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
