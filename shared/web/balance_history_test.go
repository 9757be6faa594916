package web_test

import (
	"cmp"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	stdhtml "html"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
)

// historyRow is one row of the Balance History table as a browser shows it.
type historyRow struct {
	id, description, createdAttr, createdText, class, amount string
}

var (
	rowPattern = regexp.MustCompile(`<tr><td data-label="[^"]*" class="mono">([^<]*)</td><td data-label="[^"]*">([^<]*)</td>` +
		`<td data-label="[^"]*"><time datetime="([^"]*)">([^<]*)</time></td><td data-label="[^"]*" class="([^"]*)">(.*?)</td></tr>`)
	olderLink = regexp.MustCompile(`<a class="btn btn-secondary" href="(/billing/balance-history\?after=[^"]+)" rel="next">Older</a>`)
)

func historyRows(body string) []historyRow {
	var rows []historyRow
	for _, m := range rowPattern.FindAllStringSubmatch(body, -1) {
		rows = append(rows, historyRow{
			id: m[1], description: stdhtml.UnescapeString(m[2]), createdAttr: m[3], createdText: m[4],
			class: m[5], amount: plainText(m[6]),
		})
	}
	return rows
}

// storedHistory returns the organisation's balance history from the store,
// newest first.
func (e *env) storedHistory(org string) []billing.Transaction {
	e.t.Helper()
	var txs []billing.Transaction
	if err := e.store.EachTransaction(e.t.Context(), org, func(tx billing.Transaction) error {
		txs = append(txs, tx)
		return nil
	}); err != nil {
		e.t.Fatalf("read history of %s: %v", org, err)
	}
	return txs
}

func TestBalanceHistory(t *testing.T) {
	t.Run("lists the demo's transactions newest first with id, description, time and amount", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		plan := e.seed()
		want := expectedDemoFigures(t, plan, lateInMonth)

		// The demo's history, from the plan: the trial grant, the top-ups
		// and the credit applied at the cycle close.
		type tx struct {
			description string
			amount      money.Money
			created     time.Time
		}
		wantTxs := []tx{{billing.DescFreeTrial, plan.Org.TrialCredits, plan.Org.Created}}
		for _, nt := range plan.Transactions {
			wantTxs = append(wantTxs, tx{nt.Description, nt.Amount, nt.Created})
		}
		wantTxs = append(wantTxs, tx{billing.DescAppliedCredit, want.ledger - want.total, plan.Close})
		slices.SortFunc(wantTxs, func(a, b tx) int { return b.created.Compare(a.created) })

		res := e.signIn(demo.OrgID, "you@acme.test", "admin").get("/billing/balance-history")
		if res.status != http.StatusOK {
			t.Fatalf("status %d, want 200; body:\n%s", res.status, res.body)
		}
		for _, h := range []string{`<th scope="col">Id</th>`, `<th scope="col">Description</th>`,
			`<th scope="col">Created Time</th>`, `<th scope="col" class="num">Amount (USD)</th>`} {
			if !strings.Contains(res.body, h) {
				t.Errorf("no column header %s", h)
			}
		}
		rows := historyRows(res.body)
		if len(rows) != len(wantTxs) {
			t.Fatalf("%d rows, want %d: %+v", len(rows), len(wantTxs), rows)
		}
		stored := e.storedHistory(demo.OrgID)
		for i, w := range wantTxs {
			r := rows[i]
			if r.id == "" || r.id != stored[i].ID {
				t.Errorf("row %d: id %q, want the stored id %q", i, r.id, stored[i].ID)
			}
			if r.description != w.description {
				t.Errorf("row %d: description %q, want %q", i, r.description, w.description)
			}
			if wantAttr := w.created.UTC().Format(time.RFC3339); r.createdAttr != wantAttr {
				t.Errorf("row %d (%s): datetime %q, want %q", i, w.description, r.createdAttr, wantAttr)
			}
			if wantText := w.created.UTC().Format("Jan 2, 2006 15:04 UTC"); r.createdText != wantText {
				t.Errorf("row %d (%s): created %q, want %q", i, w.description, r.createdText, wantText)
			}
			kind, class := "credit", "amount-credit"
			if w.amount < 0 {
				kind, class = "debit", "amount-debit"
			}
			if wantAmount := kind + " " + w.amount.Display(); r.amount != wantAmount {
				t.Errorf("row %d (%s): amount %q, want %q", i, w.description, r.amount, wantAmount)
			}
			if !slices.Contains(strings.Fields(r.class), class) {
				t.Errorf("row %d (%s): class %q, want it to include %s", i, w.description, r.class, class)
			}
		}
		i := slices.IndexFunc(rows, func(r historyRow) bool { return r.description == billing.DescAppliedCredit })
		if i < 0 || !strings.HasPrefix(rows[i].amount, "debit -$") {
			t.Errorf("no %q row with a negative amount: %+v", billing.DescAppliedCredit, rows)
		}
		if olderLink.MatchString(res.body) {
			t.Error("a history of one page has an Older link")
		}
	})

	t.Run("pages 25 rows at a time, newest first, with an Older link to the rest", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		b := e.signIn("pager", "you@pager.test", "viewer") // 1 transaction: the trial grant
		for i := range 26 {
			amount := money.Dollars(int64(i + 1))
			if i%5 == 4 {
				amount = -amount
			}
			_, err := e.store.AppendTransaction(t.Context(), "pager", billing.NewTransaction{
				Description: fmt.Sprintf("Extra %02d", i), Amount: amount, Created: lateInMonth.Add(-time.Duration(26-i) * time.Minute),
			})
			if err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		stored := e.storedHistory("pager")
		if len(stored) != 27 {
			t.Fatalf("stored %d transactions, want 27", len(stored))
		}

		first := b.get("/billing/balance-history")
		if first.status != http.StatusOK {
			t.Fatalf("first page: status %d", first.status)
		}
		rows := historyRows(first.body)
		if len(rows) != 25 {
			t.Fatalf("first page has %d rows, want 25", len(rows))
		}
		// The trial grant was written at sign-in, "now"; the extras before it.
		if rows[0].description != billing.DescFreeTrial || rows[1].description != "Extra 25" {
			t.Errorf("first rows are %q, %q; want the newest, %q then %q", rows[0].description, rows[1].description, billing.DescFreeTrial, "Extra 25")
		}
		m := olderLink.FindStringSubmatch(first.body)
		if m == nil {
			t.Fatalf("first page has no Older link:\n%s", first.body)
		}

		second := b.get(stdhtml.UnescapeString(m[1]))
		if second.status != http.StatusOK {
			t.Fatalf("GET %s: status %d; body:\n%s", m[1], second.status, second.body)
		}
		rest := historyRows(second.body)
		if len(rest) != 2 {
			t.Fatalf("second page has %d rows, want 2: %+v", len(rest), rest)
		}
		if olderLink.MatchString(second.body) || strings.Contains(second.text(), "Older") {
			t.Error("the last page has an Older link")
		}
		if !strings.Contains(second.body, `href="/billing/balance-history">Newest</a>`) {
			t.Error("the last page has no link back to the newest page")
		}
		all := append(rows, rest...)
		for i, r := range all {
			if r.id != stored[i].ID {
				t.Errorf("row %d across pages: id %q, want %q (newest first, none repeated or skipped)", i, r.id, stored[i].ID)
			}
		}
		if got := all[len(all)-1].description; got != "Extra 00" {
			t.Errorf("the oldest row is %q, want %q", got, "Extra 00")
		}

		records := csvRecords(t, b.get("/billing/balance-history.csv"))
		if len(records) != 1+27 {
			t.Errorf("the CSV has %d rows after its header, want 27, the whole history", len(records)-1)
		}
	})

	t.Run("refuses a forged page cursor with 400 and a clear message", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		b := e.signIn("forger", "you@forger.test", "admin")
		for _, cursor := range []string{
			"not-a-cursor!",
			base64.RawURLEncoding.EncodeToString([]byte("ORG#acme")),
			base64.RawURLEncoding.EncodeToString([]byte("PROFILE")),
			"%FF%FE",
		} {
			res := b.get("/billing/balance-history?after=" + cursor)
			if res.status != http.StatusBadRequest {
				t.Errorf("cursor %q: status %d, want 400", cursor, res.status)
			}
			if !strings.Contains(res.text(), "That page link is not valid; start from the first page.") {
				t.Errorf("cursor %q: no clear message in\n%s", cursor, res.text())
			}
			for _, internal := range []string{"billing error", "code=", "field=", "ORG#", "TX#", "dynamodb", "ExclusiveStartKey"} {
				if strings.Contains(res.body, internal) {
					t.Errorf("cursor %q: the page shows internal text %q", cursor, internal)
				}
			}
		}
	})

	t.Run("exports the whole history as CSV at full precision, summing to the ledger", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		ctx := t.Context()
		micro, err := e.store.AppendTransaction(ctx, demo.OrgID, billing.NewTransaction{
			Description: "Rounding test", Amount: money.MustParse("0.000001"), Created: lateInMonth.Add(-time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		formula, err := e.store.AppendTransaction(ctx, demo.OrgID, billing.NewTransaction{
			Description: "=HYPERLINK(\"https://evil.example\")", Amount: money.MustParse("-0.0025"), Created: lateInMonth.Add(-30 * time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}

		res := e.signIn(demo.OrgID, "you@acme.test", "viewer").get("/billing/balance-history.csv")
		if res.status != http.StatusOK {
			t.Fatalf("status %d, want 200; body:\n%s", res.status, res.body)
		}
		if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("Content-Type %q, want text/csv", ct)
		}
		if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, `filename="balance-history-acme-`+billing.Day(lateInMonth)+`.csv"`) {
			t.Errorf("Content-Disposition %q, want an attachment named for the org and day", cd)
		}
		records := csvRecords(t, res)
		if got, want := strings.Join(records[0], ","), "id,created_at,description,amount_usd"; got != want {
			t.Fatalf("header %q, want %q", got, want)
		}
		stored := e.storedHistory(demo.OrgID)
		if len(records)-1 != len(stored) {
			t.Fatalf("%d CSV rows, want one per transaction: %d", len(records)-1, len(stored))
		}
		var sum money.Money
		for i, rec := range records[1:] {
			tx := stored[i]
			if rec[0] != tx.ID || rec[1] != tx.Created.UTC().Format(time.RFC3339) {
				t.Errorf("row %d: %q, want id %s created %s", i, rec, tx.ID, tx.Created.UTC().Format(time.RFC3339))
			}
			amount, err := money.Parse(rec[3])
			if err != nil {
				t.Errorf("row %d: amount %q: %v", i, rec[3], err)
			}
			if amount != tx.Amount {
				t.Errorf("row %d: amount %q, want %s exactly", i, rec[3], tx.Amount)
			}
			sum += amount
			switch tx.ID {
			case micro.ID:
				if rec[3] != "0.000001" || rec[2] != "Rounding test" {
					t.Errorf("the micro-dollar transaction exports as %q, want amount 0.000001", rec)
				}
			case formula.ID:
				if rec[3] != "-0.0025" || strings.HasPrefix(rec[2], "=") {
					t.Errorf("the formula-like transaction exports as %q, want amount -0.0025 and a description a spreadsheet will not run", rec)
				}
			}
		}
		acct, err := e.store.Account(ctx, demo.OrgID, lateInMonth)
		if err != nil {
			t.Fatal(err)
		}
		if sum != acct.Ledger {
			t.Errorf("the CSV amounts sum to %s, want the ledger balance %s", sum, acct.Ledger)
		}
	})
}

// csvRecords parses a CSV response, header included.
func csvRecords(t *testing.T, res response) [][]string {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("CSV: status %d", res.status)
	}
	records, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v\n%s", err, res.body)
	}
	if len(records) == 0 {
		t.Fatal("empty CSV")
	}
	return records
}

var newerLink = regexp.MustCompile(`<a class="btn btn-secondary" href="(/billing/balance-history\?[^"]+)" rel="prev">Newer</a>`)

// kindOf is the filter a transaction falls under, by what it is.
func kindOf(tx billing.Transaction) string {
	switch {
	case tx.Description == billing.DescAppliedCredit:
		return "usage"
	case tx.Amount > 0:
		return "credits"
	case strings.HasPrefix(tx.Description, "Refund of") || strings.HasPrefix(tx.Description, "Disputed payment"):
		return "refunds"
	}
	return "other"
}

// historyWalk follows the Older links from path and returns the ids of
// every page, checking each costs at most 2 DynamoDB requests.
func (b *browser) historyWalk(t *testing.T, path string) (pages [][]string, last string) {
	t.Helper()
	for path != "" {
		last = path
		b.e.db.Reset()
		res := b.get(path)
		if n := len(b.e.db.Requests()); n > 2 {
			t.Errorf("GET %s made %d DynamoDB requests, want at most 2", path, n)
		}
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, res.status)
		}
		var ids []string
		for _, r := range historyRows(res.body) {
			ids = append(ids, r.id)
		}
		pages = append(pages, ids)
		path = ""
		if m := olderLink.FindStringSubmatch(res.body); m != nil {
			path = stdhtml.UnescapeString(m[1])
		}
		if len(pages) > 20 {
			t.Fatal("Older never reaches the oldest page")
		}
	}
	return pages, last
}

func TestBalanceHistoryKindsAndNewer(t *testing.T) {
	e := newEnv(t, lateInMonth)
	b := e.signIn("kinds", "you@kinds.test", "viewer") // the trial grant
	for i := range 80 {
		nt := billing.NewTransaction{Description: fmt.Sprintf("Stripe Payment Intent pi_%02d via Add Credits", i), Amount: money.Dollars(int64(i + 1))}
		switch i % 8 {
		case 1:
			nt = billing.NewTransaction{Description: billing.DescAppliedCredit, Amount: -money.Dollars(3)}
		case 3:
			nt = billing.NewTransaction{Description: payments.RefundDescription(fmt.Sprintf("pi_%02d", i-1)), Amount: -money.Dollars(2)}
		case 5:
			nt = billing.NewTransaction{Description: payments.DisputeDescription(fmt.Sprintf("pi_%02d", i-1)), Amount: -money.Dollars(1)}
		case 7:
			nt = billing.NewTransaction{Description: "Operator adjustment", Amount: -money.Dollars(1)}
		}
		nt.Created = lateInMonth.Add(-time.Duration(80-i) * time.Hour)
		if _, err := e.store.AppendTransaction(t.Context(), "kinds", nt); err != nil {
			t.Fatal(err)
		}
	}
	stored := e.storedHistory("kinds")

	for _, kind := range []string{"", "credits", "usage", "refunds"} {
		t.Run("the filter "+cmp.Or(kind, "all")+" lists exactly its transactions, newest first, in pages", func(t *testing.T) {
			var want []string
			for _, tx := range stored {
				if kind == "" || kindOf(tx) == kind {
					want = append(want, tx.ID)
				}
			}
			path := "/billing/balance-history"
			if kind != "" {
				path += "?kind=" + kind
			}
			pages, _ := b.historyWalk(t, path)
			if got := slices.Concat(pages...); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%d rows over %d pages, want the %d of the kind:\n%q\n%q", len(got), len(pages), len(want), got, want)
			}
		})
	}

	t.Run("Newer walks back from the oldest page to the newest, a page at a time", func(t *testing.T) {
		ids := make([]string, len(stored))
		for i, tx := range stored {
			ids[i] = tx.ID
		}
		_, last := b.historyWalk(t, "/billing/balance-history")
		res := b.get(last)
		for n := 0; ; n++ {
			m := newerLink.FindStringSubmatch(res.body)
			if m == nil {
				break
			}
			from := historyRows(res.body)[0].id
			e.db.Reset()
			res = b.get(stdhtml.UnescapeString(m[1]))
			if n := len(e.db.Requests()); n > 2 {
				t.Errorf("a Newer page made %d DynamoDB requests, want at most 2", n)
			}
			top := res.status == http.StatusSeeOther
			if top {
				if loc := res.header.Get("Location"); loc != "/billing/balance-history" {
					t.Fatalf("Newer redirects to %q, want the newest page", loc)
				}
				res = b.get("/billing/balance-history")
			}
			rows := historyRows(res.body)
			at := slices.Index(ids, rows[0].id)
			if len(rows) != 25 || at < 0 || (!top && at+25 != slices.Index(ids, from)) {
				t.Fatalf("a Newer page starts at row %d with %d rows, want the 25 above row %d", at, len(rows), slices.Index(ids, from))
			}
			if n > 5 {
				t.Fatal("Newer never reaches the newest page")
			}
		}
		if rows := historyRows(res.body); rows[0].id != ids[0] {
			t.Errorf("the page without Newer starts at %s, want the newest, %s", rows[0].id, ids[0])
		}
	})

	t.Run("an unknown kind is refused with 400 and a clear message", func(t *testing.T) {
		res := b.get("/billing/balance-history?kind=everything")
		if res.status != http.StatusBadRequest || !strings.Contains(res.text(), "That filter is not valid") {
			t.Errorf("status %d\n%s", res.status, res.text())
		}
	})

	t.Run("the CSV of a date range holds the transactions of those UTC days", func(t *testing.T) {
		from, to := dayAfter(lateInMonth, -2), dayAfter(lateInMonth, -1) // two whole days
		res := b.get("/billing/balance-history.csv?from=" + billing.Day(from) + "&to=" + billing.Day(to))
		var want []string
		for _, tx := range stored {
			if !tx.Created.Before(from) && tx.Created.Before(to.AddDate(0, 0, 1)) {
				want = append(want, tx.ID)
			}
		}
		var got []string
		for _, rec := range csvRecords(t, res)[1:] {
			got = append(got, rec[0])
		}
		if len(want) == 0 || strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("CSV rows %q, want %q", got, want)
		}
		if cd := res.header.Get("Content-Disposition"); !strings.Contains(cd, "balance-history-kinds-"+billing.Day(from)+"-to-"+billing.Day(to)+".csv") {
			t.Errorf("Content-Disposition %q", cd)
		}
		for _, q := range []string{"from=yesterday", "to=2026-13-01", "from=" + billing.Day(to) + "&to=" + billing.Day(from)} {
			if res := b.get("/billing/balance-history.csv?" + q); res.status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", q, res.status)
			}
		}
	})
}
