package payments

import (
	"context"
	"fmt"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// RefundDescription is the balance transaction of a refunded top-up:
// "Refund of Stripe Payment Intent pi_…".
func RefundDescription(paymentID string) string {
	return "Refund of Stripe Payment Intent " + paymentID
}

// DisputeDescription is the balance transaction of a disputed top-up:
// "Disputed payment pi_…".
func DisputeDescription(paymentID string) string { return "Disputed payment " + paymentID }

// DisputeWonDescription is the balance transaction of a dispute won back:
// "Dispute won for payment pi_…".
func DisputeWonDescription(paymentID string) string { return "Dispute won for payment " + paymentID }

// errNotTopUp is the ENOTFOUND error of a refund or dispute of a payment
// that was not credited as a top-up (an invoice's payment, another
// system's): it changes the prepaid balance in no way.
func errNotTopUp() error {
	return billing.Errorf(billing.ENOTFOUND, "That payment is not a top-up of usage credits.")
}

// credited returns the credit of pay (by its id, or as a checkout's
// PaymentIntent). A succeeded top-up not credited yet (its refund or
// dispute reported first) is credited now, under the rules of
// PaymentSucceeded, so the order of the provider's events does not matter.
// It returns ENOTFOUND for a payment that is not orgID's top-up.
func (s *Service) credited(ctx context.Context, orgID string, pay Payment) (store.Credited, error) {
	c, err := s.store.CreditedPayment(ctx, orgID, pay.ID)
	if billing.ErrorCode(err) != billing.ENOTFOUND {
		return c, err
	}
	if pay.Purpose == PurposeCheckout {
		// A checkout's payment, reported before the checkout's own
		// completion: an error, so the provider retries once that landed.
		return store.Credited{}, fmt.Errorf("payment %s: its checkout is not credited yet", pay.ID)
	}
	if !pay.TopUp {
		return store.Credited{}, errNotTopUp()
	}
	if pay.Status != StatusSucceeded {
		// A refunded or disputed charge has succeeded; Stripe reports
		// the PaymentIntent's state as of now, which stays succeeded.
		return store.Credited{}, fmt.Errorf("payment %s is %s, not succeeded", pay.ID, pay.Status)
	}
	if _, err := s.PaymentSucceeded(ctx, orgID, pay, ""); err != nil {
		return store.Credited{}, err
	}
	return s.store.CreditedPayment(ctx, orgID, pay.ID)
}

// Refunded debits a refund of a top-up once per refundID, as "Refund of
// Stripe Payment Intent pi_…", shown on the order. amount is what this
// refund gives back (positive, at most what was credited). It reports
// whether this call debited. A refund of a payment that is not orgID's
// top-up returns ENOTFOUND and changes nothing.
func (s *Service) Refunded(ctx context.Context, orgID string, pay Payment, refundID string, amount money.Money) (bool, error) {
	return s.adjust(ctx, orgID, pay, store.AdjustRefund, refundID, -amount, RefundDescription(pay.ID))
}

// Disputed debits a disputed top-up at once, once per disputeID, as
// "Disputed payment pi_…".
func (s *Service) Disputed(ctx context.Context, orgID string, pay Payment, disputeID string, amount money.Money) (bool, error) {
	return s.adjust(ctx, orgID, pay, store.AdjustDispute, disputeID, -amount, DisputeDescription(pay.ID))
}

// DisputeClosed applies the end of a dispute: the debit of Disputed
// happens (once) whatever the order events arrive in, and a won dispute
// credits the amount back, once. A lost dispute stays debited.
func (s *Service) DisputeClosed(ctx context.Context, orgID string, pay Payment, disputeID string, amount money.Money, won bool) error {
	if _, err := s.Disputed(ctx, orgID, pay, disputeID, amount); err != nil {
		return err
	}
	if !won {
		return nil
	}
	_, err := s.adjust(ctx, orgID, pay, store.AdjustDisputeWon, disputeID, amount, DisputeWonDescription(pay.ID))
	return err
}

// adjust applies one adjustment of kind to pay's credit, keyed by
// kind:id, so each happens once.
func (s *Service) adjust(ctx context.Context, orgID string, pay Payment, kind, id string, amount money.Money, desc string) (bool, error) {
	if amount == 0 || id == "" {
		return false, billing.FieldError("amount", "A refund or dispute needs an id and an amount.")
	}
	key := kind + ":" + id
	c, err := s.credited(ctx, orgID, pay)
	if err != nil {
		return false, err
	}
	if -amount > c.Amount {
		// Stripe never refunds or disputes more than was paid; a report
		// saying so is not applied.
		return false, fmt.Errorf("%s of %s: %v exceeds the %v credited", kind, pay.ID, -amount, c.Amount)
	}
	done, err := s.store.AdjustPayment(ctx, orgID, store.Adjustment{
		Key: key, PaymentID: c.PaymentID, Kind: kind, Amount: amount, Description: desc, Created: s.now(),
	})
	if err != nil {
		return false, fmt.Errorf("%s of %s for %s: %w", kind, pay.ID, orgID, err)
	}
	if done {
		s.log.Info("payment adjusted", "org", orgID, "payment", pay.ID, "kind", kind, "key", key, "amount", amount.String())
	}
	return done, nil
}
