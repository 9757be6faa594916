package sandbox_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

// Stripe's test card numbers the Billing section documents.
const (
	cardOK           = "4242424242424242"
	cardDeclined     = "4000000000000341"
	cardInsufficient = "4000000000009995"
)

// start is the tests' time; the clock ticks a second per reading, so
// cards added one after the other have distinct creation times.
var start = time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC)

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

// sandboxEnv is a sandbox provider on an embedded DynamoDB.
type sandboxEnv struct {
	t  *testing.T
	db *storetest.DB
	p  *sandbox.Provider
}

func newSandbox(t *testing.T) *sandboxEnv {
	t.Helper()
	c := &clock{t: start}
	db := storetest.New(t)
	return &sandboxEnv{t: t, db: db, p: sandbox.New(db.Store(c.now), c.now, "/billing/credits/checkout/")}
}

// slowPayments is an http.RoundTripper that holds every write of a
// sandbox payment (a PutItem of an SBPI# item) for delay, widening the
// moment between claiming an idempotency key and writing its payment.
type slowPayments struct {
	next  http.RoundTripper
	delay time.Duration
}

func (s slowPayments) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutItem") && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		_ = r.Body.Close() // an in-memory body
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
		if bytes.Contains(b, []byte(`"SBPI#`)) {
			time.Sleep(s.delay)
		}
	}
	return s.next.RoundTrip(r)
}

// withSlowPayments returns a provider on e's table whose payment writes
// take delay.
func (e *sandboxEnv) withSlowPayments(delay time.Duration) *sandbox.Provider {
	e.t.Helper()
	client, err := store.NewClient(e.t.Context(), e.db.URL, &http.Client{Transport: slowPayments{next: http.DefaultTransport, delay: delay}})
	if err != nil {
		e.t.Fatal(err)
	}
	c := &clock{t: start.Add(time.Hour)}
	return sandbox.New(store.New(client, e.db.Table, c.now), c.now, "/billing/credits/checkout/")
}

func (e *sandboxEnv) customer(org string) string {
	e.t.Helper()
	id, err := e.p.CreateCustomer(e.t.Context(), org, "Org "+org, "billing@"+org+".test")
	if err != nil {
		e.t.Fatalf("create customer for %s: %v", org, err)
	}
	if !strings.HasPrefix(id, "cus_sandbox_") {
		e.t.Fatalf("customer id = %q, want cus_sandbox_…", id)
	}
	return id
}

// card is a valid card form with the number.
func card(number string) sandbox.NewCard {
	return sandbox.NewCard{Number: number, ExpMonth: 4, ExpYear: 2030, CVC: "123", Name: "Jenny Rosen"}
}

func (e *sandboxEnv) addCard(customer, number string) payments.Card {
	e.t.Helper()
	c, err := e.p.AddCard(e.t.Context(), customer, card(number))
	if err != nil {
		e.t.Fatalf("add card %s: %v", number, err)
	}
	return c
}

func (e *sandboxEnv) cards(customer string) []payments.Card {
	e.t.Helper()
	cards, err := e.p.Cards(e.t.Context(), customer)
	if err != nil {
		e.t.Fatalf("cards of %s: %v", customer, err)
	}
	return cards
}

// scan returns every item of the table as plain Go values.
func (e *sandboxEnv) scan() []map[string]any {
	e.t.Helper()
	var items []map[string]any
	p := dynamodb.NewScanPaginator(e.db.Client, &dynamodb.ScanInput{TableName: aws.String(e.db.Table)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.t.Context())
		if err != nil {
			e.t.Fatalf("scan: %v", err)
		}
		for _, it := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				e.t.Fatalf("scan: %v", err)
			}
			items = append(items, m)
		}
	}
	return items
}

// count returns how many items have a PK starting with prefix.
func (e *sandboxEnv) count(pkPrefix string) int {
	e.t.Helper()
	n := 0
	for _, it := range e.scan() {
		if pk, _ := it["PK"].(string); strings.HasPrefix(pk, pkPrefix) {
			n++
		}
	}
	return n
}

// wantCode fails unless err is a *billing.Error with code and, if field is
// not empty, that field.
func wantCode(t *testing.T, err error, code, field string) {
	t.Helper()
	var be *billing.Error
	if !errors.As(err, &be) {
		t.Fatalf("error = %v, want a %s error", err, code)
	}
	if be.Code != code || be.Field != field {
		t.Fatalf("error = %v, want code %s on field %q", err, code, field)
	}
}

func TestAddCard(t *testing.T) {
	ctx := t.Context()

	t.Run("Stripe's documented test numbers are accepted, spaced or not", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		for _, n := range []struct{ number, brand, last4 string }{
			{"4242 4242 4242 4242", "visa", "4242"},
			{"4000-0000-0000-0341", "visa", "0341"},
			{cardInsufficient, "visa", "9995"},
		} {
			c, err := e.p.AddCard(ctx, cus, card(n.number))
			if err != nil {
				t.Fatalf("add %s: %v", n.number, err)
			}
			if c.Brand != n.brand || c.Last4 != n.last4 || c.ExpMonth != 4 || c.ExpYear != 2030 || c.Name != "Jenny Rosen" {
				t.Errorf("add %s: card = %+v", n.number, c)
			}
		}
		if got := len(e.cards(cus)); got != 3 {
			t.Errorf("%d cards saved, want 3", got)
		}
	})

	t.Run("4000 0000 0000 0002 is declined when saved, on the number field, and nothing is stored", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		before := len(e.scan())
		_, err := e.p.AddCard(ctx, cus, card("4000 0000 0000 0002"))
		wantCode(t, err, billing.EINVALID, "number")
		if be, _ := errors.AsType[*billing.Error](err); be == nil || !strings.Contains(be.Message, "declined") {
			t.Errorf("error %v, want a decline", err)
		}
		if cards := e.cards(cus); len(cards) != 0 || len(e.scan()) != before {
			t.Errorf("cards = %+v, want none and nothing stored", cards)
		}
	})

	t.Run("any other number is refused on the number field and nothing is saved", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		for _, number := range []string{
			"", "   ", "4111 1111 1111 1111", "4242424242424241", "424242424242424", "42424242424242424", "abcd", "4000000000000069",
		} {
			_, err := e.p.AddCard(ctx, cus, card(number))
			wantCode(t, err, billing.EINVALID, "number")
		}
		if cards := e.cards(cus); len(cards) != 0 {
			t.Errorf("cards = %+v, want none", cards)
		}
	})

	t.Run("a bad expiry, security code or name is refused on its own field and nothing is saved", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		tests := []struct {
			name   string
			change func(*sandbox.NewCard)
			field  string
		}{
			{"month 0", func(c *sandbox.NewCard) { c.ExpMonth = 0 }, "exp_month"},
			{"month 13", func(c *sandbox.NewCard) { c.ExpMonth = 13 }, "exp_month"},
			{"a past year", func(c *sandbox.NewCard) { c.ExpYear = 2025 }, "exp_year"},
			{"a past month of this year", func(c *sandbox.NewCard) { c.ExpYear, c.ExpMonth = 2026, 10 }, "exp_year"},
			{"a year too far ahead", func(c *sandbox.NewCard) { c.ExpYear = 2047 }, "exp_year"},
			{"a two-digit code", func(c *sandbox.NewCard) { c.CVC = "12" }, "cvc"},
			{"a five-digit code", func(c *sandbox.NewCard) { c.CVC = "12345" }, "cvc"},
			{"a code with a letter", func(c *sandbox.NewCard) { c.CVC = "12a" }, "cvc"},
			{"no code", func(c *sandbox.NewCard) { c.CVC = "" }, "cvc"},
			{"no name", func(c *sandbox.NewCard) { c.Name = "" }, "name"},
			{"a blank name", func(c *sandbox.NewCard) { c.Name = "   " }, "name"},
			{"a name of 101 characters", func(c *sandbox.NewCard) { c.Name = strings.Repeat("é", 101) }, "name"},
		}
		for _, tt := range tests {
			n := card(cardOK)
			tt.change(&n)
			_, err := e.p.AddCard(ctx, cus, n)
			if err == nil {
				t.Errorf("%s: accepted", tt.name)
				continue
			}
			var be *billing.Error
			if !errors.As(err, &be) || be.Code != billing.EINVALID || be.Field != tt.field || be.Message == "" {
				t.Errorf("%s: error = %v, want EINVALID on %s", tt.name, err, tt.field)
			}
		}
		if cards := e.cards(cus); len(cards) != 0 {
			t.Errorf("cards = %+v, want none", cards)
		}
		// The limits themselves are fine: this month, 20 years ahead, 4
		// digits, 100 characters.
		for _, n := range []sandbox.NewCard{
			{Number: cardOK, ExpMonth: 11, ExpYear: 2026, CVC: "123", Name: "A"},
			{Number: cardOK, ExpMonth: 12, ExpYear: 2046, CVC: "1234", Name: strings.Repeat("é", 100)},
		} {
			if _, err := e.p.AddCard(ctx, cus, n); err != nil {
				t.Errorf("add %+v: %v", n, err)
			}
		}
	})

	t.Run("a card for an unknown customer is refused with ENOTFOUND", func(t *testing.T) {
		e := newSandbox(t)
		_, err := e.p.AddCard(ctx, "cus_sandbox_nobody", card(cardOK))
		wantCode(t, err, billing.ENOTFOUND, "")
	})

	t.Run("only brand, last four digits, expiry and name are stored, never the number or the security code", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		const cvc = "8531"
		for _, number := range []string{"4242 4242 4242 4242", cardDeclined, "4000-0000-0000-9995"} {
			n := card(number)
			n.CVC = cvc
			if _, err := e.p.AddCard(ctx, cus, n); err != nil {
				t.Fatal(err)
			}
		}
		secrets := []string{cardOK, "4242 4242 4242 4242", cardDeclined, cardInsufficient, "4000-0000-0000-9995", "000000000"}
		wantAttrs := "PK SK brand created exp_month exp_year id last4 name outcome"
		cardItems := 0
		for _, it := range e.scan() {
			for k, v := range it {
				s := fmt.Sprint(v)
				for _, secret := range secrets {
					if strings.Contains(s, secret) {
						t.Errorf("item %v/%v: %s = %q contains the card number", it["PK"], it["SK"], k, s)
					}
				}
				if s == cvc || strings.Contains(strings.ToLower(k), "cvc") || strings.Contains(strings.ToLower(k), "number") {
					t.Errorf("item %v/%v: %s = %q stores the security code or number", it["PK"], it["SK"], k, s)
				}
			}
			if sk, _ := it["SK"].(string); strings.HasPrefix(sk, "CARD#") {
				cardItems++
				if got := attrNames(it); got != wantAttrs {
					t.Errorf("card item attributes = %s, want %s", got, wantAttrs)
				}
			}
		}
		if cardItems != 3 {
			t.Errorf("%d card items, want 3", cardItems)
		}
	})

	t.Run("the first card becomes the default and later ones do not", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		first := e.addCard(cus, cardOK)
		second := e.addCard(cus, cardDeclined)
		if !first.Default || second.Default {
			t.Errorf("first default %v, second default %v; want true, false", first.Default, second.Default)
		}
		cards := e.cards(cus)
		if len(cards) != 2 || cards[0].ID != first.ID || !cards[0].Default || cards[1].ID != second.ID || cards[1].Default {
			t.Errorf("cards = %+v, want the first (default) then the second", cards)
		}
	})
}

// attrNames returns the item's attribute names, sorted, space separated.
func attrNames(it map[string]any) string {
	names := make([]string, 0, len(it))
	for k := range it {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

func TestDefaultAndDelete(t *testing.T) {
	ctx := t.Context()
	e := newSandbox(t)
	acme, globex := e.customer("acme"), e.customer("globex")
	visa := e.addCard(acme, cardOK)
	other := e.addCard(acme, cardInsufficient)
	theirs := e.addCard(globex, cardOK)

	t.Run("another customer's card cannot be made the default", func(t *testing.T) {
		wantCode(t, e.p.SetDefaultCard(ctx, acme, theirs.ID), billing.ENOTFOUND, "")
		wantCode(t, e.p.SetDefaultCard(ctx, acme, "pm_sandbox_unknown"), billing.ENOTFOUND, "")
		if cards := e.cards(acme); !cards[0].Default || len(cards) != 2 {
			t.Errorf("acme's cards = %+v, want visa still the default", cards)
		}
	})

	t.Run("another customer's card cannot be deleted", func(t *testing.T) {
		wantCode(t, e.p.DeleteCard(ctx, acme, theirs.ID), billing.ENOTFOUND, "")
		if cards := e.cards(globex); len(cards) != 1 || cards[0].ID != theirs.ID || !cards[0].Default {
			t.Errorf("globex's cards = %+v, want its card unchanged", cards)
		}
	})

	t.Run("an own card becomes the default", func(t *testing.T) {
		if err := e.p.SetDefaultCard(ctx, acme, other.ID); err != nil {
			t.Fatal(err)
		}
		cards := e.cards(acme)
		if cards[0].ID != visa.ID || cards[0].Default || cards[1].ID != other.ID || !cards[1].Default {
			t.Errorf("cards = %+v, want the second the default", cards)
		}
	})

	t.Run("deleting the default card leaves no default", func(t *testing.T) {
		if err := e.p.DeleteCard(ctx, acme, other.ID); err != nil {
			t.Fatal(err)
		}
		cards := e.cards(acme)
		if len(cards) != 1 || cards[0].ID != visa.ID || cards[0].Default {
			t.Errorf("cards = %+v, want the visa alone and not default", cards)
		}
		wantCode(t, e.p.DeleteCard(ctx, acme, other.ID), billing.ENOTFOUND, "")
		// With no default left, the next card added becomes it.
		next := e.addCard(acme, cardDeclined)
		if cards := e.cards(acme); !next.Default || len(cards) != 2 || cards[0].Default || !cards[1].Default {
			t.Errorf("after adding a card: %+v, want the new card the default", cards)
		}
	})
}

func TestCharge(t *testing.T) {
	ctx := t.Context()
	e := newSandbox(t)
	cus := e.customer("acme")
	ok, declined, poor := e.addCard(cus, cardOK), e.addCard(cus, cardDeclined), e.addCard(cus, cardInsufficient)
	globex := e.customer("globex")
	theirs := e.addCard(globex, cardOK)
	charge := func(cardID, key string) payments.ChargeRequest {
		return payments.ChargeRequest{OrgID: "acme", CustomerID: cus, CardID: cardID, Amount: money.Dollars(25),
			Purpose: payments.PurposeAddCredits, IdempotencyKey: key}
	}

	t.Run("the 4242 card succeeds with the amount, organisation and purpose", func(t *testing.T) {
		pay, err := e.p.Charge(ctx, charge(ok.ID, "k-ok"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(pay.ID, "pi_sandbox_") || pay.Status != payments.StatusSucceeded || pay.Amount != money.Dollars(25) ||
			pay.OrgID != "acme" || pay.Purpose != payments.PurposeAddCredits || pay.Message != "" {
			t.Errorf("payment = %+v", pay)
		}
		read, err := e.p.Payment(ctx, pay.ID)
		if err != nil || read != pay {
			t.Errorf("Payment(%s) = %+v, %v; want %+v", pay.ID, read, err, pay)
		}
	})

	t.Run("the 0341 card, saved, is declined at every charge with Stripe's message", func(t *testing.T) {
		pay, err := e.p.Charge(ctx, charge(declined.ID, "k-declined"))
		if err != nil {
			t.Fatal(err)
		}
		if pay.Status != payments.StatusFailed || pay.Message != "Your card was declined." || pay.DeclineCode != "generic_decline" {
			t.Errorf("payment = %+v, want failed, generic_decline, \"Your card was declined.\"", pay)
		}
	})

	t.Run("the 3184 card needs authentication: on-session it requires action, off-session the bank refuses it until the customer confirms", func(t *testing.T) {
		auth := e.addCard(cus, "4000002760003184")
		on, err := e.p.Charge(ctx, charge(auth.ID, "k-3ds-on"))
		if err != nil || on.Status != payments.StatusRequiresAction || !payments.NeedsCustomer(on) {
			t.Fatalf("on-session payment = %+v, %v; want requires_action", on, err)
		}
		r := charge(auth.ID, "k-3ds-off")
		r.OffSession = true
		off, err := e.p.Charge(ctx, r)
		if err != nil || off.Status != payments.StatusFailed || off.DeclineCode != payments.DeclineAuthenticationRequired || !payments.NeedsCustomer(off) {
			t.Fatalf("off-session payment = %+v, %v; want failed with authentication_required", off, err)
		}
		confirmed, err := e.p.ConfirmOnSession(ctx, off.ID, "")
		if err != nil || confirmed.Status != payments.StatusRequiresAction {
			t.Fatalf("confirmed = %+v, %v; want requires_action", confirmed, err)
		}
		done, err := e.p.Authenticate(ctx, off.ID, true)
		if err != nil || done.Status != payments.StatusSucceeded {
			t.Fatalf("authenticated = %+v, %v; want succeeded", done, err)
		}
		if again, err := e.p.Authenticate(ctx, off.ID, false); err != nil || again.Status != payments.StatusSucceeded {
			t.Errorf("a second authentication changed the payment: %+v, %v", again, err)
		}
		failed, err := e.p.Authenticate(ctx, on.ID, false)
		if err != nil || failed.Status != payments.StatusFailed || failed.DeclineCode != "payment_intent_authentication_failure" {
			t.Errorf("failed authentication = %+v, %v", failed, err)
		}
	})

	t.Run("the 9995 card fails for insufficient funds", func(t *testing.T) {
		pay, err := e.p.Charge(ctx, charge(poor.ID, "k-poor"))
		if err != nil {
			t.Fatal(err)
		}
		if pay.Status != payments.StatusFailed || pay.DeclineCode != "insufficient_funds" || !strings.Contains(pay.Message, "insufficient funds") {
			t.Errorf("payment = %+v, want failed with insufficient_funds", pay)
		}
	})

	t.Run("another customer's card cannot be charged", func(t *testing.T) {
		before := e.count("SBPI#")
		_, err := e.p.Charge(ctx, charge(theirs.ID, "k-theirs"))
		wantCode(t, err, billing.ENOTFOUND, "")
		if after := e.count("SBPI#"); after != before {
			t.Errorf("%d payments written", after-before)
		}
	})

	t.Run("the same idempotency key returns the same payment", func(t *testing.T) {
		first, err := e.p.Charge(ctx, charge(ok.ID, "k-again"))
		if err != nil {
			t.Fatal(err)
		}
		before := e.count("SBPI#")
		again, err := e.p.Charge(ctx, charge(ok.ID, "k-again"))
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Errorf("second charge = %+v, want the first %+v", again, first)
		}
		if after := e.count("SBPI#"); after != before {
			t.Errorf("%d payments written by the repeat", after-before)
		}
		other, err := e.p.Charge(ctx, charge(ok.ID, "k-other"))
		if err != nil || other.ID == first.ID {
			t.Errorf("a new key gave %+v, %v; want a new payment", other, err)
		}
	})

	t.Run("concurrent charges with one idempotency key make one payment", func(t *testing.T) {
		// The first charge claims the key and then takes a while to write
		// its payment; the others arrive meanwhile, some all at once and
		// some spread out, and must all get that one payment.
		slow := e.withSlowPayments(60 * time.Millisecond)
		before := e.count("SBPI#")
		const n = 16
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if i >= n/2 {
					time.Sleep(time.Duration(i-n/2+1) * 5 * time.Millisecond)
				}
				pay, err := slow.Charge(ctx, charge(ok.ID, "k-race"))
				ids[i], errs[i] = pay.ID, err
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Errorf("charge %d: %v", i, errs[i])
			} else if ids[i] != ids[0] || ids[i] == "" {
				t.Errorf("charge %d: payment %q, charge 0: %q; want one payment", i, ids[i], ids[0])
			}
		}
		if after := e.count("SBPI#"); after != before+1 {
			t.Errorf("%d payments written, want 1", after-before)
		}
	})
}

func TestCheckout(t *testing.T) {
	ctx := t.Context()
	e := newSandbox(t)
	open := func(key string) payments.Checkout {
		t.Helper()
		co, err := e.p.CryptoCheckout(ctx, payments.CheckoutRequest{OrgID: "acme", CustomerID: "cus_sandbox_acme", Amount: money.Dollars(40),
			SuccessURL: "http://127.0.0.1/ok", CancelURL: "http://127.0.0.1/cancel", IdempotencyKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return co
	}

	t.Run("a checkout opens at the local checkout page", func(t *testing.T) {
		co := open("co-1")
		if !strings.HasPrefix(co.ID, "cs_sandbox_") || co.URL != "/billing/credits/checkout/"+co.ID {
			t.Errorf("checkout = %+v", co)
		}
		cs, err := e.p.Checkout(ctx, "acme", co.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cs.Status != sandbox.CheckoutOpen || cs.Amount != money.Dollars(40) || cs.OrgID != "acme" {
			t.Errorf("session = %+v", cs)
		}
	})

	t.Run("the same idempotency key returns the same checkout", func(t *testing.T) {
		first := open("co-2")
		before := e.count("SBCS#")
		if again := open("co-2"); again != first {
			t.Errorf("repeat = %+v, want %+v", again, first)
		}
		if after := e.count("SBCS#"); after != before {
			t.Errorf("%d checkouts written by the repeat", after-before)
		}
	})

	t.Run("another organisation's checkout is not found and cannot be finished", func(t *testing.T) {
		co := open("co-3")
		_, err := e.p.Checkout(ctx, "globex", co.ID)
		wantCode(t, err, billing.ENOTFOUND, "")
		_, err = e.p.FinishCheckout(ctx, "globex", co.ID, true)
		wantCode(t, err, billing.ENOTFOUND, "")
		_, err = e.p.Checkout(ctx, "acme", "cs_sandbox_unknown")
		wantCode(t, err, billing.ENOTFOUND, "")
		cs, err := e.p.Checkout(ctx, "acme", co.ID)
		if err != nil || cs.Status != sandbox.CheckoutOpen {
			t.Errorf("acme's checkout = %+v, %v; want still open", cs, err)
		}
	})

	t.Run("finishing a checkout twice changes nothing the second time", func(t *testing.T) {
		paid := open("co-4")
		cs, err := e.p.FinishCheckout(ctx, "acme", paid.ID, true)
		if err != nil || cs.Status != sandbox.CheckoutComplete {
			t.Fatalf("pay = %+v, %v; want complete", cs, err)
		}
		if cs, err := e.p.FinishCheckout(ctx, "acme", paid.ID, false); err != nil || cs.Status != sandbox.CheckoutComplete {
			t.Errorf("cancel after pay = %+v, %v; want still complete", cs, err)
		}
		cancelled := open("co-5")
		if cs, err := e.p.FinishCheckout(ctx, "acme", cancelled.ID, false); err != nil || cs.Status != sandbox.CheckoutCancelled {
			t.Fatalf("cancel = %+v, %v; want cancelled", cs, err)
		}
		if cs, err := e.p.FinishCheckout(ctx, "acme", cancelled.ID, true); err != nil || cs.Status != sandbox.CheckoutCancelled {
			t.Errorf("pay after cancel = %+v, %v; want still cancelled", cs, err)
		}
		for id, want := range map[string]string{paid.ID: sandbox.CheckoutComplete, cancelled.ID: sandbox.CheckoutCancelled} {
			if cs, err := e.p.Checkout(ctx, "acme", id); err != nil || cs.Status != want {
				t.Errorf("stored %s = %+v, %v; want %s", id, cs, err, want)
			}
		}
	})
}
