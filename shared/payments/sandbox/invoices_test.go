package sandbox_test

import (
	"testing"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments/sandbox"
)

func TestSandboxInvoices(t *testing.T) {
	open := func(customer, card string) invoicing.OpenRequest {
		return invoicing.OpenRequest{OrgID: "acme", CustomerID: customer, InvoiceID: "in_01OURS", Amount: money.MustParse("30.12"),
			Description: "Usage, November 2026", CardID: card, DueDate: start.AddDate(0, 0, 14)}
	}

	t.Run("an invoice with a card is finalized and charged at once, once however often it is opened", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		c, err := e.p.AddCard(t.Context(), cus, sandbox.NewCard{Number: cardOK, ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: "Jenny Rosen"})
		if err != nil {
			t.Fatal(err)
		}
		first, err := e.p.OpenInvoice(t.Context(), open(cus, c.ID))
		if err != nil {
			t.Fatal(err)
		}
		if first.Status != invoicing.RemotePaid || first.Collection != invoicing.ChargeAutomatically || first.PaymentID == "" || first.PaidAt.IsZero() {
			t.Errorf("remote = %+v, want paid automatically", first)
		}
		again, err := e.p.OpenInvoice(t.Context(), open(cus, c.ID))
		if err != nil || again.ID != first.ID || again.PaymentID != first.PaymentID {
			t.Errorf("opened again: %+v, %v; want the first invoice", again, err)
		}
		pay, err := e.p.Payment(t.Context(), first.PaymentID)
		if err != nil || pay.Purpose != sandbox.InvoicePurpose("in_01OURS") || pay.Amount != money.MustParse("30.12") {
			t.Errorf("payment %+v, %v", pay, err)
		}
	})

	t.Run("an invoice without a card is sent open; paying it later with a declined card keeps it open, a good card pays it", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		r, err := e.p.OpenInvoice(t.Context(), open(cus, ""))
		if err != nil || r.Status != invoicing.RemoteOpen || r.Collection != invoicing.SendInvoice {
			t.Fatalf("remote = %+v, %v; want open, sent", r, err)
		}
		bad, err := e.p.AddCard(t.Context(), cus, sandbox.NewCard{Number: cardDeclined, ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: "Jenny Rosen"})
		if err != nil {
			t.Fatal(err)
		}
		req := invoicing.PayRequest{OrgID: "acme", CustomerID: cus, InvoiceID: "in_01OURS", ProviderID: r.ID, CardID: bad.ID, IdempotencyKey: "k1"}
		declined, err := e.p.PayInvoice(t.Context(), req)
		if err != nil || declined.Status != invoicing.RemoteOpen || declined.Message != "Your card was declined." {
			t.Errorf("declined: %+v, %v", declined, err)
		}
		good, err := e.p.AddCard(t.Context(), cus, sandbox.NewCard{Number: cardOK, ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: "Jenny Rosen"})
		if err != nil {
			t.Fatal(err)
		}
		req.CardID, req.IdempotencyKey = good.ID, "k2"
		paid, err := e.p.PayInvoice(t.Context(), req)
		if err != nil || paid.Status != invoicing.RemotePaid || paid.Message != "" {
			t.Errorf("paid: %+v, %v", paid, err)
		}
		req.IdempotencyKey = "k3"
		if again, err := e.p.PayInvoice(t.Context(), req); err != nil || again.PaymentID != paid.PaymentID {
			t.Errorf("paying a paid invoice: %+v, %v; want it as it is, not charged again", again, err)
		}
	})

	t.Run("another customer's invoice is not found", func(t *testing.T) {
		e := newSandbox(t)
		cus, other := e.customer("acme"), e.customer("globex")
		r, err := e.p.OpenInvoice(t.Context(), open(cus, ""))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.p.OpenInvoice(t.Context(), open(other, "")); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("open as another customer: %v", err)
		}
		if _, err := e.p.PayInvoice(t.Context(), invoicing.PayRequest{CustomerID: other, InvoiceID: "in_01OURS", ProviderID: r.ID, CardID: "pm_x"}); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("pay as another customer: %v", err)
		}
	})
}
