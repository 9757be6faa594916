package invoicing_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

// november is the period the tests close; closeAt is the close.
var (
	november = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	closeAt  = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
)

// env is the invoicing service on the sandbox provider and the real store
// on an embedded DynamoDB, with a clock the test moves.
type env struct {
	t       *testing.T
	db      *storetest.DB
	store   *store.Store
	sandbox *sandbox.Provider
	pay     *payments.Service
	svc     *invoicing.Service

	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: storetest.New(t), now: closeAt}
	e.store = e.db.Store(e.clock)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.sandbox = sandbox.New(e.store, e.clock, "/checkout/")
	e.pay = payments.NewService(e.store, e.sandbox, e.clock, log)
	e.svc = invoicing.New(e.store, e.pay, e.clock, log)
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) setNow(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = t
}

// org creates an organisation with trial credits.
func (e *env) org(id string, trial money.Money) {
	e.t.Helper()
	err := e.store.CreateOrg(e.t.Context(), store.NewOrg{Org: billing.Org{ID: id, Name: "Org " + id, Created: november},
		TrialCredits: trial, Profile: billing.Profile{Address: billing.Address{CompanyName: "Org " + id + " Ltd", Country: "US", PONumber: "PO-" + id},
			BillingEmail: "billing@" + id + ".test"}})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) usage(org string, m money.Money) {
	e.t.Helper()
	if err := e.store.AddUsage(e.t.Context(), org, november.Add(48*time.Hour), m); err != nil {
		e.t.Fatal(err)
	}
}

// card saves a sandbox test card; the first becomes the default.
func (e *env) card(org, number string) payments.Card {
	e.t.Helper()
	cus, err := e.pay.Customer(e.t.Context(), org)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := e.sandbox.AddCard(e.t.Context(), cus, sandbox.NewCard{Number: number, ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: "Jenny Rosen"})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) account(org string) billing.Account {
	e.t.Helper()
	a, err := e.store.Account(e.t.Context(), org, e.clock())
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// applied returns the "Applied credit balance to invoice" transactions,
// checking the ledger equals the history's sum.
func (e *env) applied(org string) []billing.Transaction {
	e.t.Helper()
	var out []billing.Transaction
	var sum money.Money
	if err := e.store.EachTransaction(e.t.Context(), org, func(tx billing.Transaction) error {
		sum += tx.Amount
		if tx.Description == billing.DescAppliedCredit {
			out = append(out, tx)
		}
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	if l := e.account(org).Ledger; l != sum {
		e.t.Errorf("%s: ledger %v, history sums to %v", org, l, sum)
	}
	return out
}

func (e *env) invoices(org string) []store.Invoice {
	e.t.Helper()
	invs, err := e.store.Invoices(e.t.Context(), org)
	if err != nil {
		e.t.Fatal(err)
	}
	return invs
}

// sandboxPayments counts the sandbox's payments of invoices.
func (e *env) sandboxPayments(purposePrefix string) int {
	e.t.Helper()
	n := 0
	p := dynamodb.NewScanPaginator(e.db.Client, &dynamodb.ScanInput{TableName: aws.String(e.db.Table)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.t.Context())
		if err != nil {
			e.t.Fatal(err)
		}
		for _, it := range page.Items {
			var r struct {
				PK      string `dynamodbav:"PK"`
				Purpose string `dynamodbav:"purpose"`
			}
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				e.t.Fatal(err)
			}
			if strings.HasPrefix(r.PK, "SBPI#") && strings.HasPrefix(r.Purpose, purposePrefix) {
				n++
			}
		}
	}
	return n
}

func TestClose(t *testing.T) {
	m := money.MustParse
	type setup struct {
		trial  money.Money
		debit  money.Money // an operator's adjustment, making the balance negative
		usage  money.Money
		card   string // a test card number saved as the default
		noCard bool
	}
	tests := []struct {
		name        string
		setup       setup
		wantInvoice store.Invoice // Usage, Applied, Due, Carried, Status, PaidWith
		wantLedger  money.Money
		wantPeriod  money.Money // Usage This Period after the close
		wantCharges int         // card payments attempted
	}{
		{"a positive balance covering the usage settles the invoice with credit", setup{trial: m("100"), usage: m("12.345678")},
			store.Invoice{Usage: m("12.345678"), Applied: m("12.345678"), Status: store.InvoicePaid, PaidWith: invoicing.PaidWithCredit},
			m("87.654322"), 0, 0},
		{"a positive balance below the usage is applied and the rest charged to the default card", setup{trial: m("20"), usage: m("50.123456"), card: "4242424242424242"},
			store.Invoice{Usage: m("50.12"), Applied: m("20"), Due: m("30.12"), Carried: m("0.003456"), Status: store.InvoicePaid, PaidWith: "Visa •••• 4242"},
			0, m("0.003456"), 1},
		{"a zero balance without a card leaves the whole amount due for 14 days", setup{usage: m("7.891234"), noCard: true},
			store.Invoice{Usage: m("7.89"), Due: m("7.89"), Carried: m("0.001234"), Status: store.InvoiceOpen},
			0, m("0.001234"), 0},
		{"a negative balance applies no credit", setup{trial: m("10"), debit: m("-15"), usage: m("3"), card: "5555555555554444"},
			store.Invoice{Usage: m("3"), Due: m("3"), Status: store.InvoicePaid, PaidWith: "Mastercard •••• 4444"},
			m("-5"), 0, 1},
		{"zero usage closes the period with nothing to pay", setup{trial: m("10")},
			store.Invoice{Status: store.InvoicePaid}, m("10"), 0, 0},
		{"overage on the credit line is due, and a declined default card leaves it due", setup{trial: m("10"), usage: m("35.50"), card: "4000000000000341"},
			store.Invoice{Usage: m("35.50"), Applied: m("10"), Due: m("25.50"), Status: store.InvoiceOpen, LastError: "Your card was declined."},
			0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.org("acme", tt.setup.trial)
			if tt.setup.debit != 0 {
				if _, err := e.store.AppendTransaction(t.Context(), "acme", billing.NewTransaction{Description: "Adjustment", Amount: tt.setup.debit}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.setup.usage > 0 {
				e.usage("acme", tt.setup.usage)
			}
			if tt.setup.card != "" {
				e.card("acme", tt.setup.card)
			}
			inv, err := e.svc.Close(t.Context(), "acme", november)
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
			w := tt.wantInvoice
			got := store.Invoice{Usage: inv.Usage, Applied: inv.Applied, Due: inv.Due, Carried: inv.Carried, Status: inv.Status, PaidWith: inv.PaidWith, LastError: inv.LastError}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("invoice =\n %+v\nwant\n %+v", got, w)
			}
			if !strings.HasPrefix(inv.ID, "in_") || !inv.Period.Equal(november) || !inv.Created.Equal(closeAt) {
				t.Errorf("invoice %s of period %v created %v, want in_… of %v at %v", inv.ID, inv.Period, inv.Created, november, closeAt)
			}
			if inv.BillTo.CompanyName != "Org acme Ltd" || inv.BillTo.PONumber != "PO-acme" || inv.BillingEmail != "billing@acme.test" {
				t.Errorf("bill to %+v %q, want the profile's address and email", inv.BillTo, inv.BillingEmail)
			}
			switch {
			case w.Status == store.InvoiceOpen && !inv.DueDate.Equal(closeAt.AddDate(0, 0, 14)):
				t.Errorf("due date %v, want 14 days after the close", inv.DueDate)
			case w.Status == store.InvoicePaid && !inv.PaidAt.Equal(closeAt):
				t.Errorf("paid at %v, want %v", inv.PaidAt, closeAt)
			}
			if w.Due > 0 && (inv.ProviderID == "" || (tt.setup.card == "") != (inv.Collection == invoicing.SendInvoice)) {
				t.Errorf("provider invoice %q collected by %q; want one, sent only without a card", inv.ProviderID, inv.Collection)
			}
			acct := e.account("acme")
			if acct.Ledger != tt.wantLedger || acct.UsagePeriod != tt.wantPeriod {
				t.Errorf("after the close ledger %v and Usage This Period %v, want %v and %v", acct.Ledger, acct.UsagePeriod, tt.wantLedger, tt.wantPeriod)
			}
			txs := e.applied("acme")
			switch {
			case w.Applied == 0 && len(txs) != 0:
				t.Errorf("applied-credit transactions %+v, want none", txs)
			case w.Applied > 0 && (len(txs) != 1 || txs[0].Amount != -w.Applied || txs[0].ID != inv.TransactionID || !txs[0].Created.Equal(closeAt)):
				t.Errorf("applied-credit transactions %+v, want one of %v, %s", txs, -w.Applied, inv.TransactionID)
			}
			if n := e.sandboxPayments("Invoice "); n != tt.wantCharges {
				t.Errorf("%d card payments of invoices, want %d", n, tt.wantCharges)
			}
		})
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	t.Run("closing a period twice makes one invoice and applies credit once", func(t *testing.T) {
		e := newEnv(t)
		e.org("acme", money.Dollars(10))
		e.usage("acme", money.MustParse("25.678901"))
		e.card("acme", "4242424242424242")
		first, err := e.svc.Close(t.Context(), "acme", november)
		if err != nil {
			t.Fatal(err)
		}
		before := e.account("acme")
		e.usage("acme", money.Dollars(3)) // December's usage
		e.setNow(closeAt.Add(time.Hour))
		second, err := e.svc.Close(t.Context(), "acme", november.AddDate(0, 0, 14))
		if err != nil {
			t.Fatal(err)
		}
		if second.ID != first.ID || second.Status != store.InvoicePaid || second.Due != first.Due {
			t.Errorf("second close = %+v, want the first invoice %+v", second, first)
		}
		after := e.account("acme")
		if after.Ledger != before.Ledger || after.UsagePeriod != before.UsagePeriod+money.Dollars(3) {
			t.Errorf("the second close changed the account: %+v → %+v", before, after)
		}
		if n := len(e.invoices("acme")); n != 1 {
			t.Errorf("%d invoices, want 1", n)
		}
		if n := len(e.applied("acme")); n != 1 {
			t.Errorf("%d applied-credit transactions, want 1", n)
		}
		if n := e.sandboxPayments("Invoice "); n != 1 {
			t.Errorf("%d card charges, want 1", n)
		}
	})

	t.Run("concurrent closes of one period make one invoice and charge once", func(t *testing.T) {
		e := newEnv(t)
		e.org("acme", money.Dollars(5))
		e.usage("acme", money.MustParse("40.000001"))
		e.card("acme", "4242424242424242")
		var wg sync.WaitGroup
		ids := make([]string, 8)
		for i := range ids {
			wg.Go(func() {
				inv, err := e.svc.Close(context.Background(), "acme", november)
				if err != nil {
					t.Errorf("close %d: %v", i, err)
				}
				ids[i] = inv.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("the closes returned different invoices: %v", ids)
			}
		}
		invs := e.invoices("acme")
		if len(invs) != 1 || invs[0].Due != money.Dollars(35) || invs[0].Carried != money.Microdollar || invs[0].Status != store.InvoicePaid {
			t.Errorf("invoices %+v, want one of $35 due, paid, 1 micro-dollar carried", invs)
		}
		if n := len(e.applied("acme")); n != 1 {
			t.Errorf("%d applied-credit transactions, want 1", n)
		}
		if n := e.sandboxPayments("Invoice "); n != 1 {
			t.Errorf("%d card charges, want 1", n)
		}
		if a := e.account("acme"); a.UsagePeriod != money.Microdollar || a.Ledger != 0 {
			t.Errorf("account %+v, want 1 micro-dollar left in the period and a zero ledger", a)
		}
	})
}

// TestUsageDuringTheCut records usage from goroutines while the cycle
// closes: every micro-dollar ends up on the invoice or in the next
// period, never both and never neither (invariant 2).
func TestUsageDuringTheCut(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprintf("round %d: accepted usage = invoiced + Usage This Period", round), func(t *testing.T) {
			e := newEnv(t)
			e.org("acme", money.Dollars(50))
			var recorded atomic.Int64
			add := func(m money.Money) {
				if err := e.store.AddUsage(context.Background(), "acme", closeAt, m); err != nil {
					t.Error(err)
					return
				}
				recorded.Add(int64(m))
			}
			add(money.MustParse("12.345678"))
			start := make(chan struct{})
			var wg sync.WaitGroup
			for g := range 6 {
				wg.Go(func() {
					<-start
					for i := range 15 {
						add(money.Money(1_003 + 7*g + 13*i)) // sub-cent amounts
					}
				})
			}
			var inv store.Invoice
			wg.Go(func() {
				<-start
				var err error
				if inv, err = e.svc.Close(context.Background(), "acme", november); err != nil {
					t.Error(err)
				}
			})
			close(start)
			wg.Wait()
			acct := e.account("acme")
			total := money.Money(recorded.Load())
			if inv.Usage+acct.UsagePeriod != total {
				t.Errorf("invoiced %v + Usage This Period %v = %v, want the %v recorded", inv.Usage, acct.UsagePeriod, inv.Usage+acct.UsagePeriod, total)
			}
			t.Logf("invoiced %v, left for the next period %v", inv.Usage, acct.UsagePeriod)
			if inv.Usage < money.MustParse("12.345678") {
				t.Errorf("invoiced %v, less than the usage before the close", inv.Usage)
			}
			if inv.Applied != inv.Usage || acct.Ledger != money.Dollars(50)-inv.Applied {
				t.Errorf("applied %v of usage %v, ledger %v", inv.Applied, inv.Usage, acct.Ledger)
			}
		})
	}
}

// TestCyclesAddUp closes many monthly cycles with usage, top-ups and cards
// coming and going: summed over the cycles, nothing is lost or invented.
func TestCyclesAddUp(t *testing.T) {
	e := newEnv(t)
	e.org("acme", money.Dollars(10))
	r := rand.New(rand.NewPCG(7, 11))
	var used, topUps, charged, appliedSum money.Money
	period := november
	for cycle := range 12 {
		for range 1 + r.IntN(5) {
			m := money.Money(1 + r.Int64N(int64(money.Dollars(30))))
			e.usage("acme", m)
			used += m
		}
		if r.IntN(3) == 0 {
			m := money.Dollars(int64(5 + r.IntN(50)))
			if _, err := e.store.CreditPayment(t.Context(), "acme", store.PaymentCredit{PaymentID: fmt.Sprintf("pi_%d", cycle),
				Amount: m, Description: "Stripe Payment Intent via Add Credits"}); err != nil {
				t.Fatal(err)
			}
			topUps += m
		}
		if cycle == 4 {
			e.card("acme", "4242424242424242")
		}
		e.setNow(invoicing.PeriodEnd(period))
		inv, err := e.svc.Close(t.Context(), "acme", period)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Due%money.Cent != 0 || inv.Applied+inv.Due != inv.Usage {
			t.Fatalf("cycle %d: invoice %+v does not add up", cycle, inv)
		}
		charged += inv.Due
		appliedSum += inv.Applied
		period = invoicing.PeriodEnd(period)
	}
	var invoiced money.Money
	for _, inv := range e.invoices("acme") {
		invoiced += inv.Usage
	}
	acct := e.account("acme")
	if invoiced+acct.UsagePeriod != used {
		t.Errorf("invoiced %v + Usage This Period %v ≠ usage recorded %v", invoiced, acct.UsagePeriod, used)
	}
	if acct.UsagePeriod >= invoicing.MinimumCharge+money.Dollars(30)*5 {
		t.Errorf("Usage This Period %v: more than one period's usage is left", acct.UsagePeriod)
	}
	var txApplied money.Money
	for _, tx := range e.applied("acme") {
		txApplied -= tx.Amount
	}
	if txApplied != appliedSum || acct.Ledger != money.Dollars(10)+topUps-appliedSum {
		t.Errorf("applied %v by transactions, %v by invoices; ledger %v", txApplied, appliedSum, acct.Ledger)
	}
	if appliedSum+charged != invoiced {
		t.Errorf("credit applied %v + amounts due %v ≠ invoiced %v", appliedSum, charged, invoiced)
	}
}

func TestCloseAll(t *testing.T) {
	e := newEnv(t)
	e.org("acme", money.Dollars(100))
	e.org("globex", 0)
	e.usage("acme", money.Dollars(7))
	e.usage("globex", money.Dollars(8))
	if err := e.svc.CloseAll(t.Context(), november); err != nil {
		t.Fatal(err)
	}
	for org, want := range map[string]string{"acme": store.InvoicePaid, "globex": store.InvoiceOpen} {
		invs := e.invoices(org)
		if len(invs) != 1 || !invs[0].Period.Equal(november) || invs[0].Status != want {
			t.Errorf("%s: invoices %+v, want one of November, %s", org, invs, want)
		}
	}
}

// TestTopUpsDuringTheCut credits top-ups while the cycle closes: the
// credit applied is computed from one ledger balance, and the books
// still add up (invariant 3).
func TestTopUpsDuringTheCut(t *testing.T) {
	e := newEnv(t)
	e.org("acme", money.Dollars(5))
	e.usage("acme", money.MustParse("60.123456"))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			<-start
			if _, err := e.store.CreditPayment(context.Background(), "acme", store.PaymentCredit{PaymentID: fmt.Sprintf("pi_during_%d", i),
				Amount: money.Dollars(10), Description: "Stripe Payment Intent via Add Credits"}); err != nil {
				t.Error(err)
			}
		})
	}
	var inv store.Invoice
	wg.Go(func() {
		<-start
		var err error
		if inv, err = e.svc.Close(context.Background(), "acme", november); err != nil {
			t.Error(err)
		}
	})
	close(start)
	wg.Wait()
	t.Logf("applied %v, due %v", inv.Applied, inv.Due)
	acct := e.account("acme")
	if inv.Applied+inv.Due != inv.Usage || inv.Usage+acct.UsagePeriod != money.MustParse("60.123456") {
		t.Errorf("invoice %+v and %v left do not add up to the usage", inv, acct.UsagePeriod)
	}
	if (inv.Applied-money.Dollars(5))%money.Dollars(10) != 0 || acct.Ledger != money.Dollars(55)-inv.Applied {
		t.Errorf("applied %v is not the balance at one moment (5 + a number of $10 top-ups); ledger %v", inv.Applied, acct.Ledger)
	}
	if n := len(e.applied("acme")); n != 1 {
		t.Errorf("%d applied-credit transactions, want 1", n)
	}
}
