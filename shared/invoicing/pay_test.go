package invoicing_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// openInvoice closes November for an organisation with no card, so its
// invoice of $12.34 stays due.
func (e *env) openInvoice(org string) store.Invoice {
	e.t.Helper()
	e.org(org, 0)
	e.usage(org, money.MustParse("12.34"))
	inv, err := e.svc.Close(e.t.Context(), org, november)
	if err != nil {
		e.t.Fatal(err)
	}
	if inv.Status != store.InvoiceOpen || inv.Due != money.MustParse("12.34") {
		e.t.Fatalf("invoice %+v, want $12.34 open", inv)
	}
	return inv
}

func TestPay(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"

	t.Run("paying an invoice due charges the chosen card once and marks it paid", func(t *testing.T) {
		e := newEnv(t)
		inv := e.openInvoice("acme")
		e.card("acme", "4242424242424242")
		amex := e.card("acme", "378282246310005")
		e.setNow(closeAt.Add(72 * time.Hour))
		pay, err := e.svc.Pay(t.Context(), "acme", inv.ID, amex.ID, token)
		if err != nil {
			t.Fatal(err)
		}
		got := pay.Invoice
		if !pay.Charged || got.Status != store.InvoicePaid || got.PaidWith != "American Express •••• 0005" || !got.PaidAt.Equal(closeAt.Add(72*time.Hour)) || got.PaymentID == "" {
			t.Errorf("payment %+v, want charged, paid with the Amex three days after the close", pay)
		}
		again, err := e.svc.Pay(t.Context(), "acme", inv.ID, amex.ID, token)
		if err != nil || again.Charged || again.Invoice.Status != store.InvoicePaid {
			t.Errorf("the double submit: %+v, %v; want already paid and nothing charged", again, err)
		}
		if n := e.sandboxPayments("Invoice "); n != 1 {
			t.Errorf("%d card payments, want 1", n)
		}
		lists, err := e.svc.List(t.Context(), "acme", "", 20)
		if err != nil {
			t.Fatal(err)
		}
		if len(lists.Due) != 0 || len(lists.History) != 1 || lists.History[0].ID != inv.ID || lists.History[0].Amount != money.MustParse("12.34") {
			t.Errorf("lists %+v, want the invoice moved to the history", lists)
		}
		if a := e.account("acme"); a.Ledger != 0 || a.TotalCredits != 0 {
			t.Errorf("paying the invoice changed the balance: %+v", a)
		}
	})

	t.Run("a double submit of one form at once charges once", func(t *testing.T) {
		e := newEnv(t)
		inv := e.openInvoice("acme")
		c := e.card("acme", "4242424242424242")
		var wg sync.WaitGroup
		var charged atomic.Int32
		for range 6 {
			wg.Go(func() {
				pay, err := e.svc.Pay(context.Background(), "acme", inv.ID, c.ID, token)
				if err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
					t.Errorf("Pay: %v", err)
				}
				if pay.Charged {
					charged.Add(1)
				}
			})
		}
		wg.Wait()
		if n := charged.Load(); n != 1 {
			t.Errorf("%d submits report a charge, want 1", n)
		}
		if n := e.sandboxPayments("Invoice "); n != 1 {
			t.Errorf("%d card payments, want 1", n)
		}
	})

	t.Run("two forms submitted at once charge once", func(t *testing.T) {
		e := newEnv(t)
		inv := e.openInvoice("acme")
		c := e.card("acme", "4242424242424242")
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				_, err := e.svc.Pay(context.Background(), "acme", inv.ID, c.ID, fmt.Sprintf("%032x", i+1))
				if err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
					t.Errorf("Pay: %v", err)
				}
			})
		}
		wg.Wait()
		if n := e.sandboxPayments("Invoice "); n != 1 {
			t.Errorf("%d card payments, want 1", n)
		}
		got, err := e.store.Invoice(t.Context(), "acme", inv.ID)
		if err != nil || got.Status != store.InvoicePaid {
			t.Errorf("invoice %+v, %v; want paid", got, err)
		}
	})

	t.Run("a declined card charges nothing and leaves the invoice due with the reason; another card pays it", func(t *testing.T) {
		e := newEnv(t)
		inv := e.openInvoice("acme")
		bad := e.card("acme", "4000000000009995")
		_, err := e.svc.Pay(t.Context(), "acme", inv.ID, bad.ID, token)
		if billing.ErrorCode(err) != billing.EINVALID || billing.ErrorMessage(err) != "Your card has insufficient funds. Nothing was charged; try another card." {
			t.Fatalf("Pay with a declined card: %v, want the decline on the card field", err)
		}
		got, err := e.store.Invoice(t.Context(), "acme", inv.ID)
		if err != nil || got.Status != store.InvoiceOpen || got.LastError != "Your card has insufficient funds." {
			t.Errorf("invoice %+v, %v; want open with the decline", got, err)
		}
		good := e.card("acme", "4242424242424242")
		pay, err := e.svc.Pay(t.Context(), "acme", inv.ID, good.ID, "ffffffffffffffffffffffffffffffff")
		if err != nil || !pay.Charged || pay.Invoice.LastError != "" {
			t.Errorf("Pay with a good card: %+v, %v", pay, err)
		}
	})

	t.Run("another organisation's invoice is not found and its card is refused", func(t *testing.T) {
		e := newEnv(t)
		inv := e.openInvoice("acme")
		e.card("acme", "4242424242424242") // acme has a card: the refusal is not for want of one
		e.org("globex", 0)
		globexCard := e.card("globex", "4242424242424242")
		if _, err := e.svc.Pay(t.Context(), "globex", inv.ID, globexCard.ID, token); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("globex paying acme's invoice: %v, want not found", err)
		}
		if _, err := e.svc.Pay(t.Context(), "acme", inv.ID, globexCard.ID, token); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("acme paying with globex's card: %v, want invalid", err)
		}
		if _, err := e.svc.Document(t.Context(), "globex", inv.ID); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("globex reading acme's invoice: %v, want not found", err)
		}
		if n := e.sandboxPayments("Invoice "); n != 0 {
			t.Errorf("%d card payments, want none", n)
		}
	})
}

func TestProviderUpdate(t *testing.T) {
	e := newEnv(t)
	inv := e.openInvoice("acme")
	paidAt := closeAt.Add(5 * 24 * time.Hour)
	if err := e.svc.ProviderUpdate(t.Context(), "acme", inv.ID, invoicing.Remote{ID: "in_stripe_1", Status: invoicing.RemotePaid,
		PaidAt: paidAt, PDFURL: "https://pay.stripe.com/invoice/x/pdf", HostedURL: "https://invoice.stripe.com/i/x"}); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.Invoice(t.Context(), "acme", inv.ID)
	if err != nil || got.Status != store.InvoicePaid || !got.PaidAt.Equal(paidAt) || got.PDFURL == "" || got.HostedURL == "" {
		t.Errorf("after invoice.paid: %+v, %v", got, err)
	}
	if err := e.svc.ProviderUpdate(t.Context(), "acme", inv.ID, invoicing.Remote{ID: "in_stripe_1", Status: invoicing.RemoteVoid}); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.store.Invoice(t.Context(), "acme", inv.ID); again.Status != store.InvoicePaid {
		t.Errorf("a late void changed a paid invoice to %s", again.Status)
	}
	if err := e.svc.ProviderUpdate(t.Context(), "globex", inv.ID, invoicing.Remote{Status: invoicing.RemotePaid}); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("an update of another organisation's invoice: %v, want not found", err)
	}
}
