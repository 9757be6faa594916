package store_test

import (
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

var period = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func TestCloseCycle(t *testing.T) {
	m := money.MustParse
	setup := func(t *testing.T) *store.Store {
		t.Helper()
		s := storetest.New(t).Store(clock)
		newOrg(t, s, "acme", money.Dollars(10))
		if err := s.AddUsage(t.Context(), "acme", now, m("25.004")); err != nil {
			t.Fatal(err)
		}
		return s
	}
	invoice := store.Invoice{OrgID: "acme", Period: period, Usage: m("25"), Applied: m("10"), Due: m("15"), Carried: m("0.004"), Status: store.InvoiceOpen}

	t.Run("the invoice, the cut, the ledger and the applied credit are written together", func(t *testing.T) {
		s := setup(t)
		inv, created, err := s.CloseCycle(t.Context(), invoice, money.Dollars(10))
		if err != nil || !created {
			t.Fatalf("CloseCycle: %v, created %v", err, created)
		}
		acct, err := s.Account(t.Context(), "acme", now)
		if err != nil {
			t.Fatal(err)
		}
		if acct.Ledger != 0 || acct.UsagePeriod != m("0.004") || acct.TotalCredits != money.Dollars(10) {
			t.Errorf("account %+v, want ledger 0 and 0.004 left in the period", acct)
		}
		txs := history(t, s, "acme")
		if ledger, _ := sum(txs); ledger != acct.Ledger || len(txs) != 2 || txs[0].ID != inv.TransactionID ||
			txs[0].Description != billing.DescAppliedCredit || txs[0].Amount != -m("10") {
			t.Errorf("history %+v, want the applied credit of -10 on top, summing to the ledger", txs)
		}
		got, err := s.Invoice(t.Context(), "acme", inv.ID)
		if err != nil || got.Due != m("15") || got.Status != store.InvoiceOpen || !got.Created.Equal(now) {
			t.Errorf("Invoice = %+v, %v", got, err)
		}
		if of, err := s.InvoiceOfPeriod(t.Context(), "acme", period); err != nil || of.ID != inv.ID {
			t.Errorf("InvoiceOfPeriod = %+v, %v", of, err)
		}
	})

	t.Run("a second close of the period changes nothing and returns the first invoice", func(t *testing.T) {
		s := setup(t)
		first, _, err := s.CloseCycle(t.Context(), invoice, money.Dollars(10))
		if err != nil {
			t.Fatal(err)
		}
		again, created, err := s.CloseCycle(t.Context(), invoice, 0)
		if err != nil || created || again.ID != first.ID {
			t.Errorf("second CloseCycle = %s, created %v, %v; want %s, not created", again.ID, created, err, first.ID)
		}
		if n := len(history(t, s, "acme")); n != 2 {
			t.Errorf("%d transactions, want 2", n)
		}
	})

	t.Run("a ledger that changed since the figures were computed is a conflict that changes nothing", func(t *testing.T) {
		s := setup(t)
		_, _, err := s.CloseCycle(t.Context(), invoice, money.Dollars(11))
		if billing.ErrorCode(err) != billing.ECONFLICT {
			t.Fatalf("error %v, want a conflict", err)
		}
		acct, _ := s.Account(t.Context(), "acme", now)
		invs, _ := s.Invoices(t.Context(), "acme")
		if acct.Ledger != money.Dollars(10) || acct.UsagePeriod != m("25.004") || len(invs) != 0 {
			t.Errorf("account %+v, invoices %v: the refused close changed something", acct, invs)
		}
		if _, err := s.InvoiceOfPeriod(t.Context(), "acme", period); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("the period is marked closed: %v", err)
		}
	})

	t.Run("cutting more than Usage This Period is a conflict", func(t *testing.T) {
		s := setup(t)
		big := invoice
		big.Usage, big.Due = m("30"), m("20")
		if _, _, err := s.CloseCycle(t.Context(), big, money.Dollars(10)); billing.ErrorCode(err) != billing.ECONFLICT {
			t.Errorf("error %v, want a conflict", err)
		}
	})

	t.Run("amounts that do not add up are refused", func(t *testing.T) {
		s := setup(t)
		bad := invoice
		bad.Due = m("14.99")
		if _, _, err := s.CloseCycle(t.Context(), bad, money.Dollars(10)); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("error %v, want invalid", err)
		}
	})

	t.Run("an unknown organisation is not found", func(t *testing.T) {
		s := setup(t)
		other := invoice
		other.OrgID = "nobody"
		if _, _, err := s.CloseCycle(t.Context(), other, money.Dollars(10)); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("error %v, want not found", err)
		}
	})

	t.Run("zero applied credit cuts the usage without a transaction", func(t *testing.T) {
		s := setup(t)
		zero := store.Invoice{OrgID: "acme", Period: period, Usage: m("25"), Due: m("25"), Carried: m("0.004"), Status: store.InvoiceOpen}
		if _, _, err := s.CloseCycle(t.Context(), zero, money.Dollars(10)); err != nil {
			t.Fatal(err)
		}
		acct, _ := s.Account(t.Context(), "acme", now)
		if acct.Ledger != money.Dollars(10) || acct.UsagePeriod != m("0.004") || len(history(t, s, "acme")) != 1 {
			t.Errorf("account %+v: want the usage cut and the ledger untouched", acct)
		}
	})
}

func TestInvoiceStates(t *testing.T) {
	s := storetest.New(t).Store(clock)
	newOrg(t, s, "acme", 0)
	if err := s.AddUsage(t.Context(), "acme", now, money.Dollars(5)); err != nil {
		t.Fatal(err)
	}
	inv, _, err := s.CloseCycle(t.Context(), store.Invoice{OrgID: "acme", Period: period, Usage: money.Dollars(5), Due: money.Dollars(5), Status: store.InvoiceOpen}, 0)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a payment in progress holds the invoice against another form, not against its own", func(t *testing.T) {
		if err := s.ClaimInvoicePayment(t.Context(), "acme", inv.ID, "a", now, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.ClaimInvoicePayment(t.Context(), "acme", inv.ID, "a", now, time.Minute); err != nil {
			t.Errorf("the same form claiming again: %v", err)
		}
		if err := s.ClaimInvoicePayment(t.Context(), "acme", inv.ID, "b", now, time.Minute); billing.ErrorCode(err) != billing.ECONFLICT {
			t.Errorf("another form: %v, want a conflict", err)
		}
		if err := s.ClaimInvoicePayment(t.Context(), "acme", inv.ID, "b", now.Add(2*time.Minute), time.Minute); err != nil {
			t.Errorf("another form after the hold: %v", err)
		}
		if _, err := s.ChangeInvoice(t.Context(), "acme", inv.ID, store.InvoiceChange{Release: true}); err != nil {
			t.Fatal(err)
		}
		if err := s.ClaimInvoicePayment(t.Context(), "acme", inv.ID, "c", now, time.Minute); err != nil {
			t.Errorf("after the release: %v", err)
		}
	})

	t.Run("paid is final, while the provider's facts are still recorded", func(t *testing.T) {
		changed, err := s.ChangeInvoice(t.Context(), "acme", inv.ID, store.InvoiceChange{Status: store.InvoicePaid, PaidAt: now, PaidWith: "Visa •••• 4242", PaymentID: "pi_1"})
		if err != nil || !changed {
			t.Fatalf("pay: changed %v, %v", changed, err)
		}
		changed, err = s.ChangeInvoice(t.Context(), "acme", inv.ID, store.InvoiceChange{Status: store.InvoiceVoid, PDFURL: "https://pay.stripe.com/x"})
		if err != nil || changed {
			t.Errorf("void after paid: changed %v, %v", changed, err)
		}
		got, _ := s.Invoice(t.Context(), "acme", inv.ID)
		if got.Status != store.InvoicePaid || got.PaidWith != "Visa •••• 4242" || got.PaymentID != "pi_1" || got.PDFURL != "https://pay.stripe.com/x" {
			t.Errorf("invoice %+v", got)
		}
		if err := s.ClaimInvoicePayment(t.Context(), "acme", inv.ID, "d", now.Add(time.Hour), time.Minute); billing.ErrorCode(err) != billing.ECONFLICT {
			t.Errorf("claiming a paid invoice: %v, want a conflict", err)
		}
	})

	t.Run("another organisation's invoice is not found", func(t *testing.T) {
		newOrg(t, s, "globex", 0)
		if _, err := s.Invoice(t.Context(), "globex", inv.ID); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("Invoice: %v", err)
		}
		if _, err := s.ChangeInvoice(t.Context(), "globex", inv.ID, store.InvoiceChange{Status: store.InvoicePaid}); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("ChangeInvoice: %v", err)
		}
		if _, err := s.ChangeInvoice(t.Context(), "globex", inv.ID, store.InvoiceChange{PDFURL: "x"}); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("ChangeInvoice of facts: %v", err)
		}
		if err := s.ClaimInvoicePayment(t.Context(), "globex", inv.ID, "e", now, time.Minute); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("ClaimInvoicePayment: %v", err)
		}
	})
}
