package invoicing

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
)

// payHold is how long a "Pay now" submit holds an invoice's payment: a
// crashed submit frees it after this.
const payHold = 2 * time.Minute

// Payment is the outcome of paying an invoice.
type Payment struct {
	Invoice store.Invoice
	// Charged reports whether this call paid it; false when it was paid
	// already (a double submit, a webhook first).
	Charged bool
}

// Pay pays the organisation's unpaid invoice invoiceID now with one of its
// cards ("Pay now"). token is the form's one-time token: the provider's
// idempotency key is the invoice id and the token, so a double submit of
// one form charges once, and of two forms submitted at once one charges
// and the other gets ECONFLICT. An invoice paid meanwhile comes back with
// Charged false and no charge.
//
// It returns ENOTFOUND for an invoice that is not the organisation's,
// EINVALID on the field "card" for a card that is not the organisation's
// or a declined one (nothing charged, the invoice stays due), and ECONFLICT
// for a void invoice or a payment in progress.
func (s *Service) Pay(ctx context.Context, orgID, invoiceID, cardID, token string) (Payment, error) {
	q, err := s.Quote(ctx, orgID, invoiceID, cardID)
	if err != nil {
		return Payment{}, err
	}
	inv := q.Invoice
	if inv.Status == store.InvoicePaid {
		return Payment{Invoice: inv}, nil
	}
	card, ok := findCard(q.Cards, cardID)
	if !ok {
		return Payment{}, billing.FieldError("card", "Select one of your cards to pay with.")
	}
	err = s.store.ClaimInvoicePayment(ctx, orgID, inv.ID, token, s.now(), payHold)
	if billing.ErrorCode(err) == billing.ECONFLICT {
		if again, rerr := s.store.Invoice(ctx, orgID, inv.ID); rerr == nil && again.Status == store.InvoicePaid {
			return Payment{Invoice: again}, nil
		}
	}
	if err != nil {
		return Payment{}, err
	}
	pay, err := s.payClaimed(ctx, inv, card, token)
	if _, rerr := s.store.ChangeInvoice(ctx, orgID, inv.ID, store.InvoiceChange{Release: true}); rerr != nil && err == nil {
		err = rerr
	}
	return pay, err
}

// payClaimed charges the claimed invoice and records the outcome.
func (s *Service) payClaimed(ctx context.Context, inv store.Invoice, card payments.Card, token string) (Payment, error) {
	if inv.ProviderID == "" {
		// Never opened at the provider (no card at the close, or it could
		// not be reached): open it now, to be paid below.
		r, err := s.open(ctx, inv, "")
		if err != nil {
			return Payment{}, fmt.Errorf("pay %s: %w", inv.ID, err)
		}
		if inv, _, err = s.record(ctx, inv, r, ""); err != nil {
			return Payment{}, err
		}
		if !inv.Unpaid() {
			return Payment{Invoice: inv}, nil
		}
	}
	customer, err := s.payments.Customer(ctx, inv.OrgID)
	if err != nil {
		return Payment{}, err
	}
	r, err := s.provider.PayInvoice(ctx, PayRequest{
		OrgID: inv.OrgID, CustomerID: customer, InvoiceID: inv.ID, ProviderID: inv.ProviderID, CardID: card.ID,
		Amount: inv.Due, IdempotencyKey: "invoice-" + inv.ID + "-" + token,
	})
	if err != nil {
		return Payment{}, fmt.Errorf("pay %s: %w", inv.ID, err)
	}
	if r.Status != RemotePaid && r.Message == "" {
		r.Message = "The payment was not completed."
	}
	inv, changed, err := s.record(ctx, inv, r, payments.CardLabel(card))
	if err != nil {
		return Payment{}, err
	}
	if inv.Status != store.InvoicePaid {
		return Payment{Invoice: inv}, billing.FieldError("card", "%s Nothing was charged; try another card.", r.Message)
	}
	return Payment{Invoice: inv, Charged: changed}, nil
}

// Quote is what "Pay now" would charge, shown for confirmation before
// anything is charged.
type Quote struct {
	Invoice store.Invoice
	// Card is the card it would be charged to: the one asked for, else the
	// default card, else the first; zero when the organisation has none.
	Card  payments.Card
	Cards []payments.Card
}

// Quote returns what paying the organisation's invoice invoiceID with
// cardID ("" for the default card) would charge, and charges nothing. An
// invoice paid already comes back with its status paid.
//
// It returns ENOTFOUND for an invoice that is not the organisation's, and
// ECONFLICT for a void invoice.
func (s *Service) Quote(ctx context.Context, orgID, invoiceID, cardID string) (Quote, error) {
	inv, err := s.store.Invoice(ctx, orgID, invoiceID)
	if err != nil {
		return Quote{}, err
	}
	if inv.Status == store.InvoicePaid {
		return Quote{Invoice: inv}, nil
	}
	if !inv.Unpaid() {
		return Quote{}, billing.Errorf(billing.ECONFLICT, "Invoice %s is %s; there is nothing to pay.", inv.ID, inv.Status)
	}
	cards, err := s.payments.Cards(ctx, orgID)
	if err != nil {
		return Quote{}, err
	}
	q := Quote{Invoice: inv, Cards: cards}
	if c, ok := findCard(cards, cardID); ok {
		q.Card = c
	} else if i := slices.IndexFunc(cards, func(c payments.Card) bool { return c.Default }); i >= 0 {
		q.Card = cards[i]
	} else if len(cards) > 0 {
		q.Card = cards[0]
	}
	return q, nil
}

// findCard returns the card of cards with id, if id is set and one has it.
func findCard(cards []payments.Card, id string) (payments.Card, bool) {
	i := slices.IndexFunc(cards, func(c payments.Card) bool { return c.ID == id })
	if id == "" || i < 0 {
		return payments.Card{}, false
	}
	return cards[i], true
}
