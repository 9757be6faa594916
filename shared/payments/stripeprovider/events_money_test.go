package stripeprovider_test

import (
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/store"
)

// charge is a Charge as charge.refunded carries it: since API 2022-11-15
// without its refunds, which Events reads from Stripe.
func charge(pi string, cents, refunded int64, customer string) map[string]any {
	return map[string]any{"id": "ch_" + strings.TrimPrefix(pi, "pi_"), "object": "charge", "amount": cents, "amount_captured": cents,
		"amount_refunded": refunded, "currency": "usd", "customer": orNull(customer), "payment_intent": pi, "paid": true,
		"refunded": refunded == cents, "status": "succeeded", "livemode": false, "created": time.Now().Unix(), "metadata": map[string]any{}}
}

func dispute(id, pi string, cents int64, status string) map[string]any {
	return map[string]any{"id": id, "object": "dispute", "amount": cents, "currency": "usd", "charge": "ch_" + strings.TrimPrefix(pi, "pi_"),
		"payment_intent": pi, "status": status, "reason": "fraudulent", "livemode": false, "created": time.Now().Unix(),
		"is_charge_refundable": false, "metadata": map[string]any{}}
}

// invoicePayment is the PaymentIntent Stripe made to collect an invoice.
func invoicePayment(id string, cents int64, customer string) map[string]any {
	pi := paymentIntent(id, cents, "succeeded", customer, map[string]string{})
	pi["invoice"] = "in_1"
	return pi
}

func withCurrency(object map[string]any, currency string) map[string]any {
	object["currency"] = currency
	return object
}

// wantBooks checks acme's ledger and its history (which must sum to it).
func (e *eventsEnv) wantBooks(t *testing.T, org string, want map[string]money.Money) {
	t.Helper()
	ledger, txs := e.ledger(org)
	var sum money.Money
	for _, a := range want {
		sum += a
	}
	if ledger != sum || !mapsEqual(txs, want) {
		t.Errorf("%s: ledger %v, history %v\nwant ledger %v, history %v", org, ledger, txs, sum, want)
	}
}

func TestEventsCreditOnlyOwnUSDTopUps(t *testing.T) {
	tests := []struct {
		name   string
		typ    string
		object map[string]any
		log    string // a line the refusal logs
	}{
		{"a payment whose metadata names acme but whose customer is globex's credits neither", "payment_intent.succeeded",
			paymentIntent("pi_x", 2500, "succeeded", "cus_globex", addCredits), "metadata names another organisation"},
		{"a payment of 4200 JPY is not credited as $42.00, and is logged as an error", "payment_intent.succeeded",
			withCurrency(paymentIntent("pi_jpy", 4200, "succeeded", "cus_acme", addCredits), "jpy"), "level=ERROR"},
		{"a payment not made as a top-up (no purpose) is not credited", "payment_intent.succeeded",
			paymentIntent("pi_other", 2500, "succeeded", "cus_acme", acmeOnly), "not made as a top-up"},
		{"a payment of an invoice made in the sandbox's way (purpose Invoice) is not credited", "payment_intent.succeeded",
			paymentIntent("pi_inv", 2500, "succeeded", "cus_acme", map[string]string{"purpose": "Invoice inv_1"}), "not made as a top-up"},
		{"a paid checkout not made as a top-up is not credited", "checkout.session.completed",
			checkoutSession("cs_other", "paid", 5000, "cus_acme", acmeOnly, "pi_cs_other"), "not made as a top-up"},
		{"a paid checkout in EUR is not credited, and is logged as an error", "checkout.session.completed",
			withCurrency(checkoutSession("cs_eur", "paid", 5000, "cus_acme", addCredits, "pi_cs_eur"), "eur"), "level=ERROR"},
		{"a checkout whose metadata names globex but whose customer is acme's credits neither", "checkout.session.completed",
			checkoutSession("cs_x", "paid", 5000, "cus_acme", map[string]string{"org_id": "globex", "purpose": payments.PurposeAddCredits}, "pi_cs_x"),
			"metadata names another organisation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEventsEnv(t)
			before := e.state()
			ev := event(t, "evt_"+strings.ReplaceAll(tt.name[:12], " ", "_"), tt.typ, tt.object)
			e.apply(ev)
			e.apply(ev)
			if after := e.state(); !after.equal(before) {
				t.Errorf("the event changed:\n%s", before.diff(after))
			}
			if !e.recorded(ev.ID) {
				t.Errorf("%s is not acknowledged", ev.ID)
			}
			e.wantBooks(t, "acme", map[string]money.Money{billing.DescFreeTrial: trialCredits})
			e.wantBooks(t, "globex", map[string]money.Money{billing.DescFreeTrial: trialCredits})
			if !strings.Contains(e.logs.String(), tt.log) {
				t.Errorf("log %q does not say %q", e.logs.String(), tt.log)
			}
		})
	}
}

func TestEventsRefunds(t *testing.T) {
	const piDesc = "Stripe Payment Intent pi_card via Add Credits"
	refundDesc := payments.RefundDescription("pi_card")

	t.Run("partial refunds debit each refund once, however often charge.refunded is delivered, and show on the order", func(t *testing.T) {
		e := newEventsEnv(t)
		pi := paymentIntent("pi_card", 2500, "succeeded", "cus_acme", addCredits)
		e.stripe.addIntent(pi)
		e.apply(event(t, "evt_pi", "payment_intent.succeeded", pi))

		e.stripe.addRefund("re_1", "pi_card", 500, "succeeded")
		first := event(t, "evt_refund_1", "charge.refunded", charge("pi_card", 2500, 500, "cus_acme"))
		e.apply(first)
		e.apply(first)
		e.wantBooks(t, "acme", map[string]money.Money{billing.DescFreeTrial: trialCredits, piDesc: money.Dollars(25), refundDesc: -money.Dollars(5)})

		e.stripe.addRefund("re_2", "pi_card", 1000, "succeeded")
		second := event(t, "evt_refund_2", "charge.refunded", charge("pi_card", 2500, 1500, "cus_acme"))
		e.apply(second)
		e.apply(first)
		e.apply(second)
		e.wantBooks(t, "acme", map[string]money.Money{billing.DescFreeTrial: trialCredits, piDesc: money.Dollars(25), refundDesc: -money.Dollars(15)})

		orders, err := e.store.Orders(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(orders) != 1 || orders[0].Refunded() != money.Dollars(15) || len(orders[0].Adjustments) != 2 {
			t.Errorf("orders = %+v, want one with $15.00 refunded in two refunds", orders)
		}
	})

	t.Run("a refund reported before its payment credits and debits once, and the late payment event changes nothing", func(t *testing.T) {
		e := newEventsEnv(t)
		pi := paymentIntent("pi_card", 2500, "succeeded", "cus_acme", addCredits)
		e.stripe.addIntent(pi)
		e.stripe.addRefund("re_1", "pi_card", 2500, "succeeded")
		e.apply(event(t, "evt_refund", "charge.refunded", charge("pi_card", 2500, 2500, "cus_acme")))
		want := map[string]money.Money{billing.DescFreeTrial: trialCredits, piDesc: money.Dollars(25), refundDesc: -money.Dollars(25)}
		e.wantBooks(t, "acme", want)
		e.apply(event(t, "evt_pi", "payment_intent.succeeded", pi))
		e.wantBooks(t, "acme", want)
	})

	t.Run("a pending refund is debited only once charge.refund.updated reports it succeeded", func(t *testing.T) {
		e := newEventsEnv(t)
		pi := paymentIntent("pi_card", 2500, "succeeded", "cus_acme", addCredits)
		e.stripe.addIntent(pi)
		e.apply(event(t, "evt_pi", "payment_intent.succeeded", pi))
		e.stripe.addRefund("re_1", "pi_card", 2500, "pending")
		e.apply(event(t, "evt_refund", "charge.refunded", charge("pi_card", 2500, 2500, "cus_acme")))
		e.wantBooks(t, "acme", map[string]money.Money{billing.DescFreeTrial: trialCredits, piDesc: money.Dollars(25)})

		e.stripe.mu.Lock()
		e.stripe.refunds["pi_card"][0]["status"] = "succeeded"
		e.stripe.mu.Unlock()
		e.apply(event(t, "evt_refund_updated", "charge.refund.updated", refundJSON("re_1", "pi_card", 2500, "succeeded")))
		e.wantBooks(t, "acme", map[string]money.Money{billing.DescFreeTrial: trialCredits, piDesc: money.Dollars(25), refundDesc: -money.Dollars(25)})
	})

	t.Run("a refund of an invoice's payment leaves the prepaid balance alone", func(t *testing.T) {
		e := newEventsEnv(t)
		e.stripe.addIntent(invoicePayment("pi_inv", 4000, "cus_acme"))
		e.stripe.addRefund("re_inv", "pi_inv", 4000, "succeeded")
		before := e.state()
		e.apply(event(t, "evt_refund_inv", "charge.refunded", charge("pi_inv", 4000, 4000, "cus_acme")))
		if after := e.state(); !after.equal(before) {
			t.Errorf("the refund changed:\n%s", before.diff(after))
		}
	})

	t.Run("a refund of an invoice's payment shows on our invoice, once per refund, and leaves the prepaid balance alone", func(t *testing.T) {
		e := newEventsEnv(t)
		ctx := t.Context()
		now := time.Now().UTC()
		inv := e.openInvoice(t)
		if _, err := e.store.ChangeInvoice(ctx, "acme", inv.ID, store.InvoiceChange{Status: store.InvoicePaid, PaidAt: now,
			ProviderID: "in_1", PaymentID: "pi_inv"}); err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(e.logs, nil))
		e.events.WithInvoices(invoicing.New(e.store, nil, time.Now, log))
		e.stripe.addIntent(invoicePayment("pi_inv", 2000, "cus_acme"))
		e.stripe.addRefund("re_inv_1", "pi_inv", 500, "succeeded")
		ledger, _ := e.ledger("acme")
		first := event(t, "evt_refund_inv_1", "charge.refunded", charge("pi_inv", 2000, 500, "cus_acme"))
		e.apply(first)
		e.apply(first)
		e.stripe.addRefund("re_inv_2", "pi_inv", 700, "succeeded")
		e.apply(event(t, "evt_refund_inv_2", "charge.refunded", charge("pi_inv", 2000, 1200, "cus_acme")))
		got, err := e.store.Invoice(ctx, "acme", inv.ID)
		if err != nil || got.Refunded != money.Dollars(12) || got.Status != store.InvoicePaid {
			t.Errorf("invoice %+v, %v; want paid with $12.00 refunded", got, err)
		}
		if after, _ := e.ledger("acme"); after != ledger {
			t.Errorf("ledger %v → %v: an invoice refund touched the prepaid balance", ledger, after)
		}
		if orders, err := e.store.Orders(ctx, "acme"); err != nil || len(orders) != 0 {
			t.Errorf("orders %+v, %v; want none", orders, err)
		}
	})

	t.Run("a refund of an invoice's payment reported before any event of the invoice lands on it, found by the Stripe invoice's metadata", func(t *testing.T) {
		e := newEventsEnv(t)
		inv := e.openInvoice(t)
		e.stripe.mu.Lock()
		e.stripe.invoices["in_1"] = map[string]any{"id": "in_1", "object": "invoice", "customer": "cus_acme", "status": "paid",
			"metadata": map[string]string{"org_id": "acme", "invoice_id": inv.ID}}
		e.stripe.mu.Unlock()
		e.stripe.addIntent(invoicePayment("pi_inv", 2000, "cus_acme"))
		e.stripe.addRefund("re_inv", "pi_inv", 2000, "succeeded")
		ledger, _ := e.ledger("acme")
		refund := event(t, "evt_refund_inv", "charge.refunded", charge("pi_inv", 2000, 2000, "cus_acme"))
		e.apply(refund)
		e.apply(refund)
		got, err := e.store.Invoice(t.Context(), "acme", inv.ID)
		if err != nil || got.Refunded != money.Dollars(20) {
			t.Errorf("invoice %+v, %v; want $20.00 refunded", got, err)
		}
		if after, _ := e.ledger("acme"); after != ledger {
			t.Errorf("ledger %v → %v: an invoice refund touched the prepaid balance", ledger, after)
		}
	})

	t.Run("a refund of a crypto checkout debits the checkout once, in any order with the checkout's completion", func(t *testing.T) {
		for _, refundFirst := range []bool{true, false} {
			e := newEventsEnv(t)
			e.stripe.addIntent(paymentIntent("pi_of_cs", 5000, "succeeded", "cus_acme",
				map[string]string{"org_id": "acme", "purpose": payments.PurposeCheckout}, "crypto"))
			cs := checkoutSession("cs_crypto", "paid", 5000, "cus_acme", addCredits, "pi_of_cs")
			e.stripe.addSession("pi_of_cs", cs)
			e.stripe.addRefund("re_cs", "pi_of_cs", 2000, "succeeded")
			refund := event(t, "evt_refund_cs", "charge.refunded", charge("pi_of_cs", 5000, 2000, "cus_acme"))
			completed := event(t, "evt_cs", "checkout.session.completed", cs)
			evs := []stripe.Event{completed, refund, refund, completed}
			if refundFirst {
				evs = []stripe.Event{refund, completed, refund, completed}
			}
			for _, ev := range evs {
				e.apply(ev)
			}
			e.wantBooks(t, "acme", map[string]money.Money{billing.DescFreeTrial: trialCredits,
				"Stripe Checkout Session cs_crypto via Add Credits": money.Dollars(50), payments.RefundDescription("pi_of_cs"): -money.Dollars(20)})
		}
	})

	t.Run("a refund of a crypto checkout credited before its payment was recorded with it (older metadata) is debited once", func(t *testing.T) {
		e := newEventsEnv(t)
		// An older session's payment: purpose Add Credits, but a crypto one.
		e.stripe.addIntent(paymentIntent("pi_of_cs", 5000, "succeeded", "cus_acme", addCredits, "crypto"))
		cs := checkoutSession("cs_crypto", "paid", 5000, "cus_acme", addCredits, "pi_of_cs")
		e.stripe.addSession("pi_of_cs", cs)
		if _, err := e.store.CreditPayment(t.Context(), "acme", store.PaymentCredit{PaymentID: "cs_crypto", Amount: money.Dollars(50),
			Description: "Stripe Checkout Session cs_crypto via Add Credits", Method: "Cryptocurrency"}); err != nil {
			t.Fatal(err)
		}
		e.stripe.addRefund("re_cs", "pi_of_cs", 5000, "succeeded")
		refund := event(t, "evt_refund_cs", "charge.refunded", charge("pi_of_cs", 5000, 5000, "cus_acme"))
		e.apply(refund)
		e.apply(refund)
		e.wantBooks(t, "acme", map[string]money.Money{billing.DescFreeTrial: trialCredits,
			"Stripe Checkout Session cs_crypto via Add Credits": money.Dollars(50), payments.RefundDescription("pi_of_cs"): -money.Dollars(50)})
	})

	t.Run("a refund of another customer's payment changes nothing", func(t *testing.T) {
		e := newEventsEnv(t)
		e.stripe.addIntent(paymentIntent("pi_x", 2500, "succeeded", "cus_unknown", addCredits))
		e.stripe.addRefund("re_x", "pi_x", 2500, "succeeded")
		before := e.state()
		e.apply(event(t, "evt_refund_x", "charge.refunded", charge("pi_x", 2500, 2500, "cus_unknown")))
		if after := e.state(); !after.equal(before) {
			t.Errorf("the refund changed:\n%s", before.diff(after))
		}
	})
}

func TestEventsDisputes(t *testing.T) {
	const piDesc = "Stripe Payment Intent pi_card via Add Credits"
	disputed, won := payments.DisputeDescription("pi_card"), payments.DisputeWonDescription("pi_card")
	credited := map[string]money.Money{billing.DescFreeTrial: trialCredits, piDesc: money.Dollars(25)}
	debited := map[string]money.Money{billing.DescFreeTrial: trialCredits, piDesc: money.Dollars(25), disputed: -money.Dollars(25)}
	restored := map[string]money.Money{billing.DescFreeTrial: trialCredits, piDesc: money.Dollars(25), disputed: -money.Dollars(25), won: money.Dollars(25)}

	tests := []struct {
		name   string
		events []string // in delivery order
		want   map[string]money.Money
	}{
		{"a new dispute debits at once", []string{"created"}, debited},
		{"a won dispute credits the amount back", []string{"created", "won"}, restored},
		{"a lost dispute stays debited", []string{"created", "lost"}, debited},
		{"a won dispute reported before its creation ends the same", []string{"won", "created"}, restored},
		{"a lost dispute reported before its creation ends the same", []string{"lost", "created"}, debited},
		{"an inquiry withdraws nothing", []string{"inquiry"}, credited},
	}
	for _, tt := range tests {
		t.Run(tt.name+", whatever the number of deliveries", func(t *testing.T) {
			e := newEventsEnv(t)
			pi := paymentIntent("pi_card", 2500, "succeeded", "cus_acme", addCredits)
			e.stripe.addIntent(pi)
			e.apply(event(t, "evt_pi", "payment_intent.succeeded", pi))
			evs := map[string]stripe.Event{
				"created": event(t, "evt_dp_created", "charge.dispute.created", dispute("dp_1", "pi_card", 2500, "needs_response")),
				"won":     event(t, "evt_dp_won", "charge.dispute.closed", dispute("dp_1", "pi_card", 2500, "won")),
				"lost":    event(t, "evt_dp_lost", "charge.dispute.closed", dispute("dp_1", "pi_card", 2500, "lost")),
				"inquiry": event(t, "evt_dp_inquiry", "charge.dispute.created", dispute("dp_2", "pi_card", 2500, "warning_needs_response")),
			}
			for range 2 {
				for _, k := range tt.events {
					e.apply(evs[k])
				}
				e.wantBooks(t, "acme", tt.want)
			}
			orders, err := e.store.Orders(t.Context(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			var held money.Money
			for _, a := range tt.want {
				held -= a
			}
			held += money.Dollars(35) // what was credited
			if len(orders) != 1 || orders[0].Disputed() != held {
				t.Errorf("orders = %+v, want one with %v held by the dispute", orders, held)
			}
		})
	}
}

// TestEventsReplayShuffled delivers every payment event type twice, in
// shuffled orders, as Stripe may; an event that fails (its checkout not
// credited yet) is retried at the end, as Stripe retries. The balance
// ends the same, and the ledger equals the sum of the history.
func TestEventsReplayShuffled(t *testing.T) {
	type delivery struct {
		id, typ string
		object  map[string]any
	}
	card := paymentIntent("pi_card", 2500, "succeeded", "cus_acme", addCredits)
	auto := paymentIntent("pi_auto", 1050, "succeeded", "cus_acme", autoRecharge)
	lost := paymentIntent("pi_lost", 2000, "succeeded", "cus_acme", addCredits)
	ofCS := paymentIntent("pi_of_cs", 5000, "succeeded", "cus_acme", map[string]string{"org_id": "acme", "purpose": payments.PurposeCheckout}, "crypto")
	inv := invoicePayment("pi_inv", 4000, "cus_acme")
	set := []delivery{
		{"evt_1", "payment_intent.succeeded", card},
		{"evt_2", "payment_intent.payment_failed", paymentIntent("pi_declined", 9900, "requires_payment_method", "cus_acme", addCredits)},
		{"evt_3", "payment_intent.succeeded", auto},
		{"evt_4", "payment_intent.succeeded", lost},
		{"evt_5", "checkout.session.completed", checkoutSession("cs_crypto", "paid", 5000, "cus_acme", addCredits, "pi_of_cs")},
		{"evt_6", "payment_intent.succeeded", ofCS},
		{"evt_7", "checkout.session.completed", checkoutSession("cs_async", "unpaid", 3000, "cus_acme", addCredits, "pi_async")},
		{"evt_8", "checkout.session.async_payment_succeeded", checkoutSession("cs_async", "paid", 3000, "cus_acme", addCredits, "pi_async")},
		{"evt_9", "checkout.session.async_payment_failed", checkoutSession("cs_failed", "unpaid", 3000, "cus_acme", addCredits, "pi_failed")},
		{"evt_10", "checkout.session.expired", checkoutSession("cs_expired", "unpaid", 3000, "cus_acme", addCredits, "")},
		{"evt_11", "charge.refunded", charge("pi_card", 2500, 500, "cus_acme")},
		{"evt_12", "charge.refunded", charge("pi_card", 2500, 1500, "cus_acme")},
		{"evt_13", "charge.refund.updated", refundJSON("re_2", "pi_card", 1000, "succeeded")},
		{"evt_14", "charge.dispute.created", dispute("dp_auto", "pi_auto", 1050, "needs_response")},
		{"evt_15", "charge.dispute.closed", dispute("dp_auto", "pi_auto", 1050, "won")},
		{"evt_16", "charge.dispute.created", dispute("dp_lost", "pi_lost", 2000, "needs_response")},
		{"evt_17", "charge.dispute.closed", dispute("dp_lost", "pi_lost", 2000, "lost")},
		{"evt_18", "charge.refunded", charge("pi_of_cs", 5000, 2000, "cus_acme")},
		{"evt_19", "charge.refunded", charge("pi_inv", 4000, 4000, "cus_acme")},
		{"evt_20", "payment_intent.succeeded", withCurrency(paymentIntent("pi_jpy", 4200, "succeeded", "cus_acme", addCredits), "jpy")},
		{"evt_21", "payment_intent.succeeded", paymentIntent("pi_spoof", 9900, "succeeded", "cus_globex", addCredits)},
	}
	want := map[string]money.Money{
		billing.DescFreeTrial:                                   trialCredits,
		"Stripe Payment Intent pi_card via Add Credits":         money.Dollars(25),
		payments.RefundDescription("pi_card"):                   -money.Dollars(15),
		"Stripe Payment Intent pi_auto via Auto Recharge call.": money.MustParse("10.50"),
		payments.DisputeDescription("pi_auto"):                  -money.MustParse("10.50"),
		payments.DisputeWonDescription("pi_auto"):               money.MustParse("10.50"),
		"Stripe Payment Intent pi_lost via Add Credits":         money.Dollars(20),
		payments.DisputeDescription("pi_lost"):                  -money.Dollars(20),
		"Stripe Checkout Session cs_crypto via Add Credits":     money.Dollars(50),
		payments.RefundDescription("pi_of_cs"):                  -money.Dollars(20),
		"Stripe Checkout Session cs_async via Add Credits":      money.Dollars(30),
	}
	want[billing.DescAppliedCredit] = -trialCredits // the invoice each round closes applies the trial credits
	seed := time.Now().UnixNano()
	t.Logf("shuffle seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 12))
	for round := range 4 {
		e := newEventsEnv(t)
		ours := e.openInvoice(t)
		bus := events.NewBus(slog.New(slog.NewTextHandler(e.logs, nil)))
		e.events.WithPublisher(bus)
		failedPI := paymentIntent("pi_inv_failed", 2000, "requires_payment_method", "cus_acme", map[string]string{})
		failedPI["invoice"] = "in_1"
		e.stripe.addIntent(failedPI)
		paid := stripeInvoiceOf(ours, "pi_inv")
		paid["status"], paid["paid"], paid["amount_paid"] = "paid", true, 2000
		e.stripe.mu.Lock()
		e.stripe.invoices["in_1"] = paid
		e.stripe.mu.Unlock()
		set := append(append([]delivery{}, set...),
			delivery{"evt_22", "invoice.payment_failed", stripeInvoiceOf(ours, "pi_inv_failed")},
			delivery{"evt_23", "invoice.payment_action_required", stripeInvoiceOf(ours, "")},
			delivery{"evt_24", "invoice.paid", paid},
		)
		for _, pi := range []map[string]any{card, auto, lost, ofCS, inv} {
			e.stripe.addIntent(pi)
		}
		e.stripe.addSession("pi_of_cs", checkoutSession("cs_crypto", "paid", 5000, "cus_acme", addCredits, "pi_of_cs"))
		e.stripe.addRefund("re_1", "pi_card", 500, "succeeded")
		e.stripe.addRefund("re_2", "pi_card", 1000, "succeeded")
		e.stripe.addRefund("re_cs", "pi_of_cs", 2000, "succeeded")
		e.stripe.addRefund("re_inv", "pi_inv", 4000, "succeeded")
		evs := make([]stripe.Event, 0, 2*len(set))
		for _, d := range set {
			ev := event(t, d.id, d.typ, d.object)
			evs = append(evs, ev, ev)
		}
		rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		order := make([]string, 0, len(evs))
		for attempt := 0; len(evs) > 0; attempt++ {
			if attempt == 3 {
				t.Fatalf("round %d: %d events still fail after retries", round, len(evs))
			}
			var retry []stripe.Event
			for _, ev := range evs {
				order = append(order, ev.ID)
				if err := e.events.Apply(t.Context(), ev); err != nil {
					retry = append(retry, ev)
				}
				e.ledger("acme") // the ledger equals the sum of the history after every delivery
			}
			evs = retry
		}
		ledger, txs := e.ledger("acme")
		var sum money.Money
		for _, a := range want {
			sum += a
		}
		if ledger != sum || !mapsEqual(txs, want) {
			t.Errorf("round %d, order %v:\nledger %v, want %v\nhistory %v\nwant    %v", round, order, ledger, sum, txs, want)
		}
		e.wantBooks(t, "globex", map[string]money.Money{billing.DescFreeTrial: trialCredits})
		for _, d := range set {
			if !e.recorded(d.id) {
				t.Errorf("round %d: %s not recorded", round, d.id)
			}
		}
		got, err := e.store.Invoice(t.Context(), "acme", ours.ID)
		if err != nil || got.Status != store.InvoicePaid || got.Refunded != money.Dollars(40) {
			t.Errorf("round %d: invoice %+v, %v; want paid with $40.00 refunded", round, got, err)
		}
		notices := 0
		for _, p := range bus.Published() {
			if p.DetailType == stripeprovider.TypeInvoiceActionRequired {
				notices++
			}
		}
		if notices != 1 {
			t.Errorf("round %d: %d invoice notices, want 1", round, notices)
		}
	}
}

// openInvoice closes last month for acme with $30 of usage ($20 due
// after the $10 trial) and returns the open invoice, with Events applying
// invoice events to it.
func (e *eventsEnv) openInvoice(t *testing.T) store.Invoice {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC()
	period := billing.PeriodStart(now).AddDate(0, -1, 0)
	if err := e.store.AddUsage(ctx, "acme", period, money.Dollars(30)); err != nil {
		t.Fatal(err)
	}
	f := invoicing.Compute(money.Dollars(30), trialCredits)
	inv, _, err := e.store.CloseCycle(ctx, store.Invoice{OrgID: "acme", Period: period, Usage: f.Invoiced, Applied: f.Applied,
		Due: f.Due, Status: store.InvoiceOpen, DueDate: now.AddDate(0, 0, 14)}, trialCredits)
	if err != nil {
		t.Fatal(err)
	}
	e.events.WithInvoices(invoicing.New(e.store, nil, time.Now, slog.New(slog.NewTextHandler(e.logs, nil))))
	return inv
}

// stripeInvoiceOf is Stripe's invoice in_1 of our invoice inv, open,
// paid by PaymentIntent pi when set.
func stripeInvoiceOf(inv store.Invoice, pi string) map[string]any {
	return map[string]any{"id": "in_1", "object": "invoice", "customer": "cus_acme", "amount_due": 2000, "amount_paid": 0,
		"currency": "usd", "status": "open", "collection_method": "charge_automatically", "payment_intent": orNull(pi),
		"metadata": map[string]string{"org_id": "acme", "invoice_id": inv.ID}, "livemode": false, "created": time.Now().Unix(),
		"hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test_1", "last_finalization_error": nil}
}

func TestInvoicePaymentEvents(t *testing.T) {
	stripeInv := stripeInvoiceOf

	t.Run("invoice.payment_failed shows the PaymentIntent's last_payment_error", func(t *testing.T) {
		e := newEventsEnv(t)
		inv := e.openInvoice(t)
		pi := paymentIntent("pi_inv", 2000, "requires_payment_method", "cus_acme", map[string]string{})
		pi["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
			"message": "Your card has insufficient funds."}
		pi["invoice"] = "in_1"
		e.stripe.addIntent(pi)
		e.apply(event(t, "evt_inv_failed", "invoice.payment_failed", stripeInv(inv, "pi_inv")))
		got, err := e.store.Invoice(t.Context(), "acme", inv.ID)
		if err != nil || got.LastError != "Your card has insufficient funds." || got.Status != store.InvoiceOpen {
			t.Errorf("invoice %+v, %v; want open with the card's reason", got, err)
		}
	})

	t.Run("invoice.payment_action_required asks the customer to confirm, and notifies once however often it is delivered", func(t *testing.T) {
		e := newEventsEnv(t)
		inv := e.openInvoice(t)
		bus := events.NewBus(slog.New(slog.NewTextHandler(e.logs, nil)))
		e.events.WithPublisher(bus)
		ev := event(t, "evt_inv_action", "invoice.payment_action_required", stripeInv(inv, ""))
		e.apply(ev)
		e.apply(ev)
		got, err := e.store.Invoice(t.Context(), "acme", inv.ID)
		if err != nil || !strings.Contains(got.LastError, "confirm") || got.Status != store.InvoiceOpen {
			t.Errorf("invoice %+v, %v; want open, asking to confirm", got, err)
		}
		var n int
		for _, p := range bus.Published() {
			if p.DetailType == stripeprovider.TypeInvoiceActionRequired {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d notices published, want 1", n)
		}
	})
}
