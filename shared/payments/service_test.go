package payments_test

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

var start = time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC)

// clock ticks a second per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// trial is what each test organisation starts with.
var trial = money.Dollars(10)

// serviceEnv is a payments.Service on the sandbox and an embedded DynamoDB.
type serviceEnv struct {
	t     *testing.T
	db    *storetest.DB
	store *store.Store
	sb    *sandbox.Provider
	svc   *payments.Service
}

func newService(t *testing.T, orgs ...string) *serviceEnv {
	t.Helper()
	c := &clock{t: start}
	db := storetest.New(t)
	st := db.Store(c.now)
	sb := sandbox.New(st, c.now, "/billing/credits/checkout/")
	e := &serviceEnv{t: t, db: db, store: st, sb: sb, svc: payments.NewService(st, sb, c.now, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	for _, org := range orgs {
		err := st.CreateOrg(t.Context(), store.NewOrg{Org: billing.Org{ID: org, Name: "Org " + org}, TrialCredits: trial, OverageLimit: money.Dollars(25)})
		if err != nil {
			t.Fatalf("create %s: %v", org, err)
		}
	}
	return e
}

// addCard saves a test card to the organisation's customer.
func (e *serviceEnv) addCard(org, number string) payments.Card {
	e.t.Helper()
	cus, err := e.svc.Customer(e.t.Context(), org)
	if err != nil {
		e.t.Fatalf("customer of %s: %v", org, err)
	}
	c, err := e.sb.AddCard(e.t.Context(), cus, sandbox.NewCard{Number: number, ExpMonth: 4, ExpYear: 2030, CVC: "123", Name: "Jenny Rosen"})
	if err != nil {
		e.t.Fatalf("add card %s to %s: %v", number, org, err)
	}
	return c
}

func (e *serviceEnv) cards(org string) []payments.Card {
	e.t.Helper()
	cards, err := e.svc.Cards(e.t.Context(), org)
	if err != nil {
		e.t.Fatalf("cards of %s: %v", org, err)
	}
	return cards
}

// books is an organisation's balance as the account keeps it and as its
// history adds up.
type books struct {
	ledger, total money.Money
	history       []billing.Transaction // newest first
	orders        []store.Order
}

// books reads the organisation's account, history and orders, and checks
// that the ledger equals the sum of the history and Total Credits the sum
// of its credits (invariant 3).
func (e *serviceEnv) books(org string) books {
	e.t.Helper()
	ctx := e.t.Context()
	acct, err := e.store.Account(ctx, org, start)
	if err != nil {
		e.t.Fatalf("account %s: %v", org, err)
	}
	b := books{ledger: acct.Ledger, total: acct.TotalCredits}
	var sum, credits money.Money
	if err := e.store.EachTransaction(ctx, org, func(tx billing.Transaction) error {
		b.history = append(b.history, tx)
		sum += tx.Amount
		if tx.Amount > 0 {
			credits += tx.Amount
		}
		return nil
	}); err != nil {
		e.t.Fatalf("history %s: %v", org, err)
	}
	if sum != acct.Ledger || credits != acct.TotalCredits {
		e.t.Errorf("%s: ledger %v, Total Credits %v; the history sums to %v, its credits to %v", org, acct.Ledger, acct.TotalCredits, sum, credits)
	}
	if b.orders, err = e.store.Orders(ctx, org); err != nil {
		e.t.Fatalf("orders %s: %v", org, err)
	}
	return b
}

// wantUnchanged fails if the organisation's books differ from before.
func (e *serviceEnv) wantUnchanged(org string, before books) {
	e.t.Helper()
	after := e.books(org)
	if after.ledger != before.ledger || after.total != before.total || len(after.history) != len(before.history) || len(after.orders) != len(before.orders) {
		e.t.Errorf("%s changed: ledger %v → %v, %d → %d transactions, %d → %d orders", org,
			before.ledger, after.ledger, len(before.history), len(after.history), len(before.orders), len(after.orders))
	}
}

// withDescription returns the history's transactions with description d.
func withDescription(history []billing.Transaction, d string) []billing.Transaction {
	var out []billing.Transaction
	for _, tx := range history {
		if tx.Description == d {
			out = append(out, tx)
		}
	}
	return out
}

func wantField(t *testing.T, err error, field string) *billing.Error {
	t.Helper()
	var be *billing.Error
	if !errors.As(err, &be) || be.Code != billing.EINVALID || be.Field != field {
		t.Fatalf("error = %v, want EINVALID on %s", err, field)
	}
	return be
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if code := billing.ErrorCode(err); code != billing.ENOTFOUND {
		t.Fatalf("error = %v (code %q), want ENOTFOUND", err, code)
	}
}

func TestCustomer(t *testing.T) {
	ctx := t.Context()

	t.Run("an organisation has no cards and no customer before it needs one", func(t *testing.T) {
		e := newService(t, "acme")
		if cards := e.cards("acme"); len(cards) != 0 {
			t.Errorf("cards = %+v", cards)
		}
		if p, err := e.store.Profile(ctx, "acme"); err != nil || p.CustomerID != "" {
			t.Errorf("profile = %+v, %v; want no customer", p, err)
		}
	})

	t.Run("concurrent first calls end with one customer, returned to all, that finds the organisation", func(t *testing.T) {
		e := newService(t, "acme")
		const n = 8
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { ids[i], errs[i] = e.svc.Customer(ctx, "acme") })
		}
		wg.Wait()
		p, err := e.store.Profile(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.CustomerID, "cus_sandbox_") {
			t.Fatalf("recorded customer = %q", p.CustomerID)
		}
		for i := range n {
			if errs[i] != nil || ids[i] != p.CustomerID {
				t.Errorf("call %d: %q, %v; want the recorded %q", i, ids[i], errs[i], p.CustomerID)
			}
		}
		org, err := e.store.OrgByCustomer(ctx, p.CustomerID)
		if err != nil || org != "acme" {
			t.Errorf("OrgByCustomer(%s) = %q, %v; want acme", p.CustomerID, org, err)
		}
		again, err := e.svc.Customer(ctx, "acme")
		if err != nil || again != p.CustomerID {
			t.Errorf("a later call = %q, %v; want %q", again, err, p.CustomerID)
		}
		_, err = e.store.OrgByCustomer(ctx, "cus_sandbox_nobody")
		wantNotFound(t, err)
	})

	t.Run("an unknown organisation gets no customer", func(t *testing.T) {
		e := newService(t)
		_, err := e.svc.Customer(ctx, "nobody")
		wantNotFound(t, err)
	})
}

func TestAddCreditsByCard(t *testing.T) {
	ctx := t.Context()
	const ret = "http://127.0.0.1/billing/credits/complete"

	t.Run("a card payment credits the balance once and writes one paid order", func(t *testing.T) {
		e := newService(t, "acme")
		visa := e.addCard("acme", "4242424242424242")
		top, err := e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(25), visa.ID, "tok1", ret)
		if err != nil {
			t.Fatal(err)
		}
		if !top.Credited || top.Payment.Status != payments.StatusSucceeded || !strings.HasPrefix(top.Payment.ID, "pi_sandbox_") {
			t.Fatalf("top-up = %+v", top)
		}
		b := e.books("acme")
		if b.ledger != trial+money.Dollars(25) || b.total != trial+money.Dollars(25) {
			t.Errorf("ledger %v, Total Credits %v; want %v", b.ledger, b.total, trial+money.Dollars(25))
		}
		desc := "Stripe Payment Intent " + top.Payment.ID + " via Add Credits"
		if got := withDescription(b.history, desc); len(got) != 1 || got[0].Amount != money.Dollars(25) {
			t.Errorf("history %+v has not one %q of $25", b.history, desc)
		}
		if len(b.orders) != 1 {
			t.Fatalf("orders = %+v, want one", b.orders)
		}
		o := b.orders[0]
		if o.ID != top.Payment.ID || o.Amount != money.Dollars(25) || o.Method != "Visa •••• 4242" || o.PaidAt.IsZero() || o.TransactionID != b.history[0].ID {
			t.Errorf("order = %+v", o)
		}
	})

	t.Run("the same form submitted twice charges and credits once", func(t *testing.T) {
		e := newService(t, "acme")
		visa := e.addCard("acme", "4242424242424242")
		first, err := e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(25), visa.ID, "tok-twice", ret)
		if err != nil {
			t.Fatal(err)
		}
		second, err := e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(25), visa.ID, "tok-twice", ret)
		if err != nil {
			t.Fatal(err)
		}
		if second.Payment.ID != first.Payment.ID || second.Credited {
			t.Errorf("second submit = %+v, want payment %s not credited again", second, first.Payment.ID)
		}
		if b := e.books("acme"); b.ledger != trial+money.Dollars(25) || len(b.orders) != 1 {
			t.Errorf("ledger %v with %d orders, want %v and one", b.ledger, len(b.orders), trial+money.Dollars(25))
		}
	})

	t.Run("concurrent submits of one form charge and credit once", func(t *testing.T) {
		e := newService(t, "acme")
		visa := e.addCard("acme", "4242424242424242")
		const n = 8
		tops := make([]payments.TopUp, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				tops[i], errs[i] = e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(25), visa.ID, "tok-race", ret)
			})
		}
		wg.Wait()
		credited := 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("submit %d: %v", i, errs[i])
				continue
			}
			if tops[i].Payment.ID != tops[0].Payment.ID {
				t.Errorf("submit %d paid %s, submit 0 %s", i, tops[i].Payment.ID, tops[0].Payment.ID)
			}
			if tops[i].Credited {
				credited++
			}
		}
		if credited != 1 {
			t.Errorf("%d submits credited, want 1", credited)
		}
		if b := e.books("acme"); b.ledger != trial+money.Dollars(25) || len(b.orders) != 1 {
			t.Errorf("ledger %v with %d orders, want %v and one", b.ledger, len(b.orders), trial+money.Dollars(25))
		}
	})

	t.Run("the same form token in two organisations makes two payments, each credited to its own", func(t *testing.T) {
		e := newService(t, "acme", "globex")
		acmeCard, globexCard := e.addCard("acme", "4242424242424242"), e.addCard("globex", "4242424242424242")
		a, err := e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(25), acmeCard.ID, "tok-shared", ret)
		if err != nil {
			t.Fatal(err)
		}
		g, err := e.svc.AddCreditsByCard(ctx, "globex", money.Dollars(40), globexCard.ID, "tok-shared", ret)
		if err != nil {
			t.Fatal(err)
		}
		if a.Payment.ID == g.Payment.ID || !g.Credited || g.Payment.OrgID != "globex" || g.Payment.Amount != money.Dollars(40) {
			t.Errorf("globex's top-up = %+v, acme's payment %s; want a payment of its own", g, a.Payment.ID)
		}
		if b := e.books("acme"); b.ledger != trial+money.Dollars(25) {
			t.Errorf("acme's ledger %v", b.ledger)
		}
		if b := e.books("globex"); b.ledger != trial+money.Dollars(40) {
			t.Errorf("globex's ledger %v", b.ledger)
		}
	})

	t.Run("amounts outside $5–$5000 or in fractions of a cent are refused on the amount field and nothing is charged", func(t *testing.T) {
		e := newService(t, "acme")
		visa := e.addCard("acme", "4242424242424242")
		before := e.books("acme")
		for _, a := range []string{"4.99", "0", "-25", "5000.01", "100000", "25.001", "25.000001"} {
			_, err := e.svc.AddCreditsByCard(ctx, "acme", money.MustParse(a), visa.ID, "tok-"+a, ret)
			be := wantField(t, err, "amount")
			if be.Message == "" {
				t.Errorf("$%s: no message", a)
			}
			_, err = e.svc.AddCreditsByCrypto(ctx, "acme", money.MustParse(a), "tok-"+a, "http://127.0.0.1/ok", "http://127.0.0.1/no")
			wantField(t, err, "amount")
		}
		e.wantUnchanged("acme", before)
		// The bounds themselves are accepted.
		for i, a := range []string{"5", "5000", "25.50"} {
			top, err := e.svc.AddCreditsByCard(ctx, "acme", money.MustParse(a), visa.ID, "tok-ok-"+a, ret)
			if err != nil || !top.Credited || top.Payment.Amount != money.MustParse(a) {
				t.Errorf("$%s: %+v, %v; want credited", a, top, err)
			}
			if b := e.books("acme"); len(b.orders) != i+1 {
				t.Errorf("after $%s: %d orders", a, len(b.orders))
			}
		}
		if b := e.books("acme"); b.ledger != trial+money.MustParse("5030.50") {
			t.Errorf("ledger %v, want %v", b.ledger, trial+money.MustParse("5030.50"))
		}
	})

	t.Run("a declined card is refused on the method field with the decline message and nothing is credited", func(t *testing.T) {
		e := newService(t, "acme")
		e.addCard("acme", "4242424242424242")
		declined := e.addCard("acme", "4000000000000341")
		poor := e.addCard("acme", "4000000000009995")
		before := e.books("acme")
		_, err := e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(25), declined.ID, "tok-declined", ret)
		if be := wantField(t, err, "method"); !strings.Contains(be.Message, "Your card was declined.") {
			t.Errorf("message = %q, want the decline", be.Message)
		}
		_, err = e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(25), poor.ID, "tok-poor", ret)
		if be := wantField(t, err, "method"); !strings.Contains(be.Message, "insufficient funds") {
			t.Errorf("message = %q, want insufficient funds", be.Message)
		}
		// A retry of the declined form is declined again, not credited.
		_, err = e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(25), declined.ID, "tok-declined", ret)
		wantField(t, err, "method")
		e.wantUnchanged("acme", before)
	})

	t.Run("another organisation's card is refused on the method field and neither is charged", func(t *testing.T) {
		e := newService(t, "acme", "globex")
		acmeCard := e.addCard("acme", "4242424242424242")
		e.addCard("globex", "4242424242424242")
		acme, globex := e.books("acme"), e.books("globex")
		_, err := e.svc.AddCreditsByCard(ctx, "globex", money.Dollars(25), acmeCard.ID, "tok-steal", ret)
		wantField(t, err, "method")
		_, err = e.svc.AddCreditsByCard(ctx, "globex", money.Dollars(25), "", "tok-none", ret)
		wantField(t, err, "method")
		e.wantUnchanged("acme", acme)
		e.wantUnchanged("globex", globex)
	})

	t.Run("a payment reported again by the 3-D Secure return or a webhook is not credited again", func(t *testing.T) {
		e := newService(t, "acme", "globex")
		visa := e.addCard("acme", "4242424242424242")
		top, err := e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(25), visa.ID, "tok-3ds", ret)
		if err != nil {
			t.Fatal(err)
		}
		before := e.books("acme")
		pay, err := e.svc.ConfirmReturn(ctx, "acme", top.Payment.ID)
		if err != nil || pay.ID != top.Payment.ID || pay.Status != payments.StatusSucceeded {
			t.Errorf("ConfirmReturn = %+v, %v", pay, err)
		}
		credited, err := e.svc.PaymentSucceeded(ctx, "acme", top.Payment, "Visa •••• 4242")
		if err != nil || credited {
			t.Errorf("PaymentSucceeded = %v, %v; want not credited again", credited, err)
		}
		_, err = e.svc.ConfirmReturn(ctx, "globex", top.Payment.ID)
		wantNotFound(t, err)
		_, err = e.svc.PaymentSucceeded(ctx, "globex", top.Payment, "Card")
		wantNotFound(t, err)
		e.wantUnchanged("acme", before)
	})
	t.Run("a 3-D Secure return of a payment the bank has not confirmed, or refused, credits nothing", func(t *testing.T) {
		e := newService(t, "acme")
		card := e.addCard("acme", "4000002760003184") // requires authentication
		top, err := e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(25), card.ID, "tok-3ds-refused", ret)
		if err != nil || top.Payment.Status != payments.StatusRequiresAction {
			t.Fatalf("AddCreditsByCard = %+v, %v; want a payment that requires action", top.Payment, err)
		}
		before := e.books("acme")
		if pay, err := e.svc.ConfirmReturn(ctx, "acme", top.Payment.ID); err != nil || pay.Status != payments.StatusRequiresAction {
			t.Errorf("ConfirmReturn before authentication = %+v, %v", pay, err)
		}
		e.wantUnchanged("acme", before)
		if _, err := e.sb.Authenticate(ctx, top.Payment.ID, false); err != nil {
			t.Fatal(err)
		}
		if pay, err := e.svc.ConfirmReturn(ctx, "acme", top.Payment.ID); err != nil || pay.Status == payments.StatusSucceeded {
			t.Errorf("ConfirmReturn after a refused authentication = %+v, %v", pay, err)
		}
		e.wantUnchanged("acme", before)
	})
}

func TestCards(t *testing.T) {
	ctx := t.Context()

	t.Run("another organisation's card cannot be made the default or deleted", func(t *testing.T) {
		e := newService(t, "acme", "globex")
		theirs := e.addCard("acme", "4242424242424242")
		mine := e.addCard("globex", "4242424242424242")
		wantNotFound(t, e.svc.SetDefaultCard(ctx, "globex", theirs.ID))
		wantNotFound(t, e.svc.DeleteCard(ctx, "globex", theirs.ID))
		if cards := e.cards("acme"); len(cards) != 1 || cards[0] != theirs {
			t.Errorf("acme's cards = %+v, want %+v", cards, theirs)
		}
		if cards := e.cards("globex"); len(cards) != 1 || cards[0] != mine {
			t.Errorf("globex's cards = %+v, want %+v", cards, mine)
		}
	})

	t.Run("the default card cannot be deleted while other cards exist", func(t *testing.T) {
		e := newService(t, "acme")
		first := e.addCard("acme", "4242424242424242")
		second := e.addCard("acme", "4000000000009995")
		wantField(t, e.svc.DeleteCard(ctx, "acme", first.ID), "card")
		if cards := e.cards("acme"); len(cards) != 2 || !cards[0].Default || cards[0].ID != first.ID {
			t.Fatalf("cards = %+v, want both, the first default", cards)
		}
		if err := e.svc.SetDefaultCard(ctx, "acme", second.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DeleteCard(ctx, "acme", first.ID); err != nil {
			t.Fatalf("delete the former default: %v", err)
		}
		cards := e.cards("acme")
		if len(cards) != 1 || cards[0].ID != second.ID || !cards[0].Default {
			t.Fatalf("cards = %+v, want the second alone, default", cards)
		}
		if err := e.svc.DeleteCard(ctx, "acme", second.ID); err != nil {
			t.Fatalf("delete the only card: %v", err)
		}
		if cards := e.cards("acme"); len(cards) != 0 {
			t.Errorf("cards = %+v, want none", cards)
		}
	})

	t.Run("a card added when there is no default becomes the default", func(t *testing.T) {
		e := newService(t, "acme")
		first := e.addCard("acme", "4242424242424242")
		second := e.addCard("acme", "4000000000009995")
		if _, err := e.svc.CardAdded(ctx, "acme", second.ID); err != nil {
			t.Fatal(err)
		}
		if cards := e.cards("acme"); !cards[0].Default || cards[1].Default {
			t.Errorf("cards = %+v, want the first still default", cards)
		}
		// The provider itself lets the default go (Stripe does when a card
		// is detached elsewhere), leaving a card and no default.
		cus, err := e.svc.Customer(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.sb.DeleteCard(ctx, cus, first.ID); err != nil {
			t.Fatal(err)
		}
		if cards := e.cards("acme"); len(cards) != 1 || cards[0].Default {
			t.Fatalf("cards = %+v, want the second, not default", cards)
		}
		if _, err := e.svc.CardAdded(ctx, "acme", second.ID); err != nil {
			t.Fatal(err)
		}
		if cards := e.cards("acme"); !cards[0].Default {
			t.Errorf("cards = %+v, want the second now default", cards)
		}
	})
}

func TestCrypto(t *testing.T) {
	ctx := t.Context()

	t.Run("a checkout opens for the organisation, once per form", func(t *testing.T) {
		e := newService(t, "acme")
		co, err := e.svc.AddCreditsByCrypto(ctx, "acme", money.Dollars(40), "tok-c", "http://127.0.0.1/ok", "http://127.0.0.1/no")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(co.ID, "cs_sandbox_") {
			t.Errorf("checkout = %+v", co)
		}
		again, err := e.svc.AddCreditsByCrypto(ctx, "acme", money.Dollars(40), "tok-c", "http://127.0.0.1/ok", "http://127.0.0.1/no")
		if err != nil || again != co {
			t.Errorf("the same form again = %+v, %v; want %+v", again, err, co)
		}
		cs, err := e.sb.Checkout(ctx, "acme", co.ID)
		if err != nil || cs.Amount != money.Dollars(40) || cs.Status != sandbox.CheckoutOpen {
			t.Errorf("session = %+v, %v", cs, err)
		}
		if b := e.books("acme"); b.ledger != trial {
			t.Errorf("an open checkout credited: ledger %v", b.ledger)
		}
	})

	t.Run("a completed checkout is credited once, however often it is reported", func(t *testing.T) {
		e := newService(t, "acme")
		credited, err := e.svc.CheckoutCompleted(ctx, "acme", "cs_sandbox_1", money.Dollars(40))
		if err != nil || !credited {
			t.Fatalf("first report = %v, %v; want credited", credited, err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if again, err := e.svc.CheckoutCompleted(ctx, "acme", "cs_sandbox_1", money.Dollars(40)); err != nil || again {
					t.Errorf("a repeated report = %v, %v; want not credited", again, err)
				}
			})
		}
		wg.Wait()
		b := e.books("acme")
		if b.ledger != trial+money.Dollars(40) {
			t.Errorf("ledger %v, want %v", b.ledger, trial+money.Dollars(40))
		}
		if got := withDescription(b.history, "Stripe Checkout Session cs_sandbox_1 via Add Credits"); len(got) != 1 {
			t.Errorf("history = %+v, want the checkout once", b.history)
		}
		if len(b.orders) != 1 || b.orders[0].ID != "cs_sandbox_1" || b.orders[0].Method != "Cryptocurrency" || b.orders[0].Amount != money.Dollars(40) {
			t.Errorf("orders = %+v", b.orders)
		}
	})
}

func TestCustomerGetsTheSavedAddress(t *testing.T) {
	e := newService(t, "acme")
	ctx := t.Context()
	addr := billing.Address{CompanyName: "Acme GmbH", Address1: "Hauptstraße 1", City: "Berlin", PostalCode: "10115", Country: "DE", PONumber: "PO-7"}
	if err := e.store.SetAddress(ctx, "acme", billing.Address{}, addr, billing.AuditEntry{Actor: "you@acme.test", Page: "Invoice Address"}); err != nil {
		t.Fatal(err)
	}

	t.Run("a customer created after the invoice address was saved gets the address and PO number", func(t *testing.T) {
		id, err := e.svc.Customer(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.sb.Customer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "Acme GmbH" || c.Address.Line1 != "Hauptstraße 1" || c.Address.Country != "DE" || c.InvoiceFields[payments.POField] != "PO-7" {
			t.Errorf("customer %+v, want the saved invoice address", c)
		}
	})
}

func TestSandboxRefundsAndDisputes(t *testing.T) {
	ctx := t.Context()
	e := newService(t, "acme", "globex")
	card := e.addCard("acme", "4242424242424242")
	top, err := e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(50), card.ID, "tok-refund", "")
	if err != nil || !top.Credited {
		t.Fatalf("top-up %+v, %v", top, err)
	}
	pay, err := e.svc.OwnPayment(ctx, "acme", top.Payment.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.OwnPayment(ctx, "globex", top.Payment.ID); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("globex reads acme's payment: %v", err)
	}
	start := e.books("acme").ledger

	t.Run("refunding $50 of a $50 top-up in two parts lowers the balance by $50, once per refund", func(t *testing.T) {
		for _, amount := range []money.Money{money.Dollars(20), money.Dollars(30)} {
			_, refunds, err := e.sb.Refund(ctx, pay.ID, amount)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // Stripe may deliver charge.refunded twice
				for _, r := range refunds {
					if _, err := e.svc.Refunded(ctx, "acme", pay, r.ID, r.Amount); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if _, _, err := e.sb.Refund(ctx, pay.ID, money.Cent); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("refunding more than was paid: %v", err)
		}
		b := e.books("acme")
		if b.ledger != start-money.Dollars(50) || len(b.orders) != 1 || b.orders[0].Refunded() != money.Dollars(50) {
			t.Errorf("ledger %v (want %v), orders %+v", b.ledger, start-money.Dollars(50), b.orders)
		}
	})

	t.Run("a dispute debits at once and a won dispute restores, each once", func(t *testing.T) {
		top, err := e.svc.AddCreditsByCard(ctx, "acme", money.Dollars(40), card.ID, "tok-dispute", "")
		if err != nil {
			t.Fatal(err)
		}
		before := e.books("acme").ledger
		_, d, err := e.sb.Dispute(ctx, top.Payment.ID, "")
		if err != nil || d.Amount != money.Dollars(40) {
			t.Fatalf("dispute %+v, %v", d, err)
		}
		for range 2 {
			if _, err := e.svc.Disputed(ctx, "acme", top.Payment, d.ID, d.Amount); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.books("acme").ledger; got != before-money.Dollars(40) {
			t.Errorf("after the dispute: ledger %v, want %v", got, before-money.Dollars(40))
		}
		if _, d, err = e.sb.Dispute(ctx, top.Payment.ID, "won"); err != nil || d.Status != "won" {
			t.Fatalf("close %+v, %v", d, err)
		}
		for range 2 {
			if err := e.svc.DisputeClosed(ctx, "acme", top.Payment, d.ID, d.Amount, true); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.books("acme").ledger; got != before {
			t.Errorf("after winning: ledger %v, want %v", got, before)
		}
	})
}
