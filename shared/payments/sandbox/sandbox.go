// Package sandbox is the local payment provider: it behaves like Stripe's
// test mode for the flows the Billing section uses, keeps its state in the
// billing table, and accepts only Stripe's test card numbers. It stores
// only a card's brand, last four digits, expiry and name. It is the
// default whenever STRIPE_SECRET_KEY is unset and is never deployed.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
)

// Provider is the sandbox payment provider.
type Provider struct {
	items store.Items
	now   func() time.Time
	// checkoutURL is the base of the simulated hosted checkout page.
	checkoutURL string
}

var _ payments.Provider = (*Provider)(nil)

// New returns the sandbox provider on the table of s. checkoutURL is the
// path of the local simulated checkout page; a checkout's id is appended.
func New(s *store.Store, now func() time.Time, checkoutURL string) *Provider {
	return &Provider{items: s.Items(), now: now, checkoutURL: checkoutURL}
}

// A test card's behaviour, after Stripe's test numbers.
const (
	outcomeSucceed      = "succeed"
	outcomeDecline      = "generic_decline"    // saved; every charge is declined
	outcomeInsufficient = "insufficient_funds" // saved; charges fail for funds
	outcomeDeclineSave  = "decline_on_save"    // declined when saved: never stored
	outcomeAuthenticate = "authenticate"       // every charge needs 3-D Secure
)

// testCards are the card numbers the sandbox accepts, as Stripe's test
// mode treats them.
var testCards = map[string]struct{ brand, outcome string }{
	"4242424242424242": {"visa", outcomeSucceed},
	"5555555555554444": {"mastercard", outcomeSucceed},
	"378282246310005":  {"amex", outcomeSucceed},
	"4000000000000002": {"visa", outcomeDeclineSave},
	"4000000000000341": {"visa", outcomeDecline},
	"4000000000009995": {"visa", outcomeInsufficient},
	"4000002760003184": {"visa", outcomeAuthenticate},
}

// Items of the sandbox, in partitions of their own.
type customerRecord struct {
	PK          string    `dynamodbav:"PK"` // SBCUS#<customer>
	SK          string    `dynamodbav:"SK"` // CUSTOMER
	ID          string    `dynamodbav:"id"`
	OrgID       string    `dynamodbav:"org_id"`
	Name        string    `dynamodbav:"name"`
	Email       string    `dynamodbav:"email"`
	DefaultCard string    `dynamodbav:"default_card"`
	Created     time.Time `dynamodbav:"created"`
}

type cardRecord struct {
	PK       string    `dynamodbav:"PK"` // SBCUS#<customer>
	SK       string    `dynamodbav:"SK"` // CARD#<pm>
	ID       string    `dynamodbav:"id"`
	Brand    string    `dynamodbav:"brand"`
	Last4    string    `dynamodbav:"last4"`
	ExpMonth int       `dynamodbav:"exp_month"`
	ExpYear  int       `dynamodbav:"exp_year"`
	Name     string    `dynamodbav:"name"`
	Outcome  string    `dynamodbav:"outcome"`
	Created  time.Time `dynamodbav:"created"`
}

type paymentRecord struct {
	PK          string      `dynamodbav:"PK"` // SBPI#<pi>
	SK          string      `dynamodbav:"SK"` // PI
	ID          string      `dynamodbav:"id"`
	OrgID       string      `dynamodbav:"org_id"`
	CustomerID  string      `dynamodbav:"customer_id"`
	CardID      string      `dynamodbav:"card_id"`
	Amount      money.Money `dynamodbav:"amount"`
	Status      string      `dynamodbav:"status"`
	DeclineCode string      `dynamodbav:"decline_code"`
	Message     string      `dynamodbav:"message"`
	Purpose     string      `dynamodbav:"purpose"`
	Created     time.Time   `dynamodbav:"created"`
}

type keyRecord struct {
	PK string `dynamodbav:"PK"` // SBKEY#<idempotency key>
	SK string `dynamodbav:"SK"` // KEY
	ID string `dynamodbav:"id"` // the object it created
}

func customerPK(id string) string { return "SBCUS#" + id }

func newID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return prefix + "_sandbox_" + hex.EncodeToString(b)
}

// CreateCustomer creates a sandbox customer for the organisation.
func (p *Provider) CreateCustomer(ctx context.Context, orgID, name, email string) (string, error) {
	id := newID("cus")
	rec := customerRecord{PK: customerPK(id), SK: "CUSTOMER", ID: id, OrgID: orgID, Name: name, Email: email, Created: p.now().UTC()}
	if err := p.items.Put(ctx, rec, true); err != nil {
		return "", fmt.Errorf("sandbox: create customer: %w", err)
	}
	return id, nil
}

func (p *Provider) customer(ctx context.Context, id string) (customerRecord, error) {
	var c customerRecord
	err := p.items.Get(ctx, customerPK(id), "CUSTOMER", &c)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return c, billing.Errorf(billing.ENOTFOUND, "No such customer.")
	}
	return c, err
}

// NewCard is what the sandbox's card form submits.
type NewCard struct {
	Number   string
	ExpMonth int
	ExpYear  int
	CVC      string
	Name     string
}

// AddCard validates a test card and saves it to the customer, as the
// default when the customer has none. Errors are EINVALID with the form
// field they concern.
func (p *Provider) AddCard(ctx context.Context, customerID string, n NewCard) (payments.Card, error) {
	number := strings.NewReplacer(" ", "", "-", "").Replace(n.Number)
	test, ok := testCards[number]
	// Every field is checked, so the form shows all its errors at once.
	var errs []error
	switch {
	case number == "":
		errs = append(errs, billing.FieldError("number", "Enter the card number."))
	case !ok:
		errs = append(errs, billing.FieldError("number", "The sandbox accepts only Stripe's test cards, such as 4242 4242 4242 4242."))
	}
	now := p.now().UTC()
	switch {
	case n.ExpMonth < 1 || n.ExpMonth > 12:
		errs = append(errs, billing.FieldError("exp_month", "Enter the expiry month, 1–12."))
	case n.ExpYear < 1:
		errs = append(errs, billing.FieldError("exp_year", "Enter the expiry year, like %d.", now.Year()+3))
	case n.ExpYear < now.Year() || (n.ExpYear == now.Year() && n.ExpMonth < int(now.Month())):
		errs = append(errs, billing.FieldError("exp_year", "This card has expired; enter a future expiry date."))
	case n.ExpYear > now.Year()+20:
		errs = append(errs, billing.FieldError("exp_year", "%d is more than 20 years ahead; check the expiry year.", n.ExpYear))
	}
	if l := len(n.CVC); l < 3 || l > 4 || strings.Trim(n.CVC, "0123456789") != "" {
		errs = append(errs, billing.FieldError("cvc", "Enter the 3 or 4 digit security code."))
	}
	name := strings.TrimSpace(n.Name)
	if name == "" || len([]rune(name)) > 100 {
		errs = append(errs, billing.FieldError("name", "Enter the name on the card (at most 100 characters)."))
	}
	if err := errors.Join(errs...); err != nil {
		return payments.Card{}, err
	}
	c, err := p.customer(ctx, customerID)
	if err != nil {
		return payments.Card{}, err
	}
	if test.outcome == outcomeDeclineSave {
		// Stripe declines 4000 0000 0000 0002 when it is set up: nothing
		// is saved.
		return payments.Card{}, billing.FieldError("number", "Your card was declined. Nothing was saved; try another card.")
	}
	rec := cardRecord{
		PK: customerPK(customerID), ID: newID("pm"), Brand: test.brand, Last4: number[len(number)-4:],
		ExpMonth: n.ExpMonth, ExpYear: n.ExpYear, Name: name, Outcome: test.outcome, Created: now,
	}
	rec.SK = "CARD#" + rec.ID
	if err := p.items.Put(ctx, rec, true); err != nil {
		return payments.Card{}, fmt.Errorf("sandbox: add card: %w", err)
	}
	if c.DefaultCard == "" {
		c.DefaultCard = rec.ID
		if err := p.items.Put(ctx, c, false); err != nil {
			return payments.Card{}, fmt.Errorf("sandbox: set default: %w", err)
		}
	}
	return toCard(rec, c.DefaultCard), nil
}

func toCard(r cardRecord, defaultID string) payments.Card {
	return payments.Card{ID: r.ID, Brand: r.Brand, Last4: r.Last4, ExpMonth: r.ExpMonth, ExpYear: r.ExpYear, Name: r.Name, Default: r.ID == defaultID}
}

// Cards lists the customer's cards, oldest first, the default marked.
func (p *Provider) Cards(ctx context.Context, customerID string) ([]payments.Card, error) {
	c, err := p.customer(ctx, customerID)
	if err != nil {
		return nil, err
	}
	var recs []cardRecord
	if err := p.items.Query(ctx, customerPK(customerID), "CARD#", &recs); err != nil {
		return nil, fmt.Errorf("sandbox: cards: %w", err)
	}
	slices.SortFunc(recs, func(a, b cardRecord) int { return a.Created.Compare(b.Created) })
	cards := make([]payments.Card, len(recs))
	for i, r := range recs {
		cards[i] = toCard(r, c.DefaultCard)
	}
	return cards, nil
}

func (p *Provider) card(ctx context.Context, customerID, cardID string) (cardRecord, error) {
	var r cardRecord
	err := p.items.Get(ctx, customerPK(customerID), "CARD#"+cardID, &r)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return r, billing.Errorf(billing.ENOTFOUND, "That card is not on your account.")
	}
	return r, err
}

// SetDefaultCard makes the card the customer's default.
func (p *Provider) SetDefaultCard(ctx context.Context, customerID, cardID string) error {
	if _, err := p.card(ctx, customerID, cardID); err != nil {
		return err
	}
	c, err := p.customer(ctx, customerID)
	if err != nil {
		return err
	}
	c.DefaultCard = cardID
	return p.items.Put(ctx, c, false)
}

// DeleteCard removes the card; a deleted default leaves no default.
func (p *Provider) DeleteCard(ctx context.Context, customerID, cardID string) error {
	if _, err := p.card(ctx, customerID, cardID); err != nil {
		return err
	}
	if err := p.items.Delete(ctx, customerPK(customerID), "CARD#"+cardID); err != nil {
		return err
	}
	c, err := p.customer(ctx, customerID)
	if err != nil {
		return err
	}
	if c.DefaultCard == cardID {
		c.DefaultCard = ""
		return p.items.Put(ctx, c, false)
	}
	return nil
}

// Charge pays with a saved card. The card's test number decides the
// outcome, as in Stripe's test mode; a repeated idempotency key returns
// the first payment.
func (p *Provider) Charge(ctx context.Context, r payments.ChargeRequest) (payments.Payment, error) {
	if r.IdempotencyKey != "" {
		var k keyRecord
		err := p.items.Get(ctx, "SBKEY#"+r.IdempotencyKey, "KEY", &k)
		if err == nil {
			// The payment may not be written yet (a concurrent submit
			// claimed the key a moment ago).
			return p.waitForKey(ctx, r.IdempotencyKey)
		}
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			return payments.Payment{}, err
		}
	}
	card, err := p.card(ctx, r.CustomerID, r.CardID)
	if err != nil {
		return payments.Payment{}, err
	}
	rec := paymentRecord{
		ID: newID("pi"), OrgID: r.OrgID, CustomerID: r.CustomerID, CardID: r.CardID, Amount: r.Amount,
		Status: string(payments.StatusSucceeded), Purpose: r.Purpose, Created: p.now().UTC(),
	}
	rec.PK, rec.SK = "SBPI#"+rec.ID, "PI"
	switch card.Outcome {
	case outcomeDecline:
		rec.Status, rec.DeclineCode, rec.Message = string(payments.StatusFailed), "generic_decline", "Your card was declined."
	case outcomeInsufficient:
		rec.Status, rec.DeclineCode, rec.Message = string(payments.StatusFailed), "insufficient_funds", "Your card has insufficient funds."
	case outcomeAuthenticate:
		// As Stripe's 4000 0027 6000 3184: on-session the payment waits
		// for 3-D Secure; off-session the bank refuses it until the
		// customer authenticates (ConfirmOnSession, then Authenticate).
		if r.OffSession {
			rec.Status, rec.DeclineCode, rec.Message = string(payments.StatusFailed), payments.DeclineAuthenticationRequired,
				"Your bank asks you to confirm this payment."
		} else {
			rec.Status = string(payments.StatusRequiresAction)
		}
	}
	if r.IdempotencyKey != "" {
		// The key is claimed first: of two concurrent submits one creates
		// the payment and the other reads it.
		if err := p.items.Put(ctx, keyRecord{PK: "SBKEY#" + r.IdempotencyKey, SK: "KEY", ID: rec.ID}, true); err != nil {
			if billing.ErrorCode(err) == billing.ECONFLICT {
				return p.waitForKey(ctx, r.IdempotencyKey)
			}
			return payments.Payment{}, err
		}
	}
	if err := p.items.Put(ctx, rec, true); err != nil {
		return payments.Payment{}, fmt.Errorf("sandbox: charge: %w", err)
	}
	return toPayment(rec), nil
}

// waitForKey returns the payment of an idempotency key another request
// claimed, once it is written.
func (p *Provider) waitForKey(ctx context.Context, key string) (payments.Payment, error) {
	var k keyRecord
	if err := p.items.Get(ctx, "SBKEY#"+key, "KEY", &k); err != nil {
		return payments.Payment{}, err
	}
	for range 50 {
		pay, err := p.Payment(ctx, k.ID)
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			return pay, err
		}
		select {
		case <-ctx.Done():
			return payments.Payment{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return payments.Payment{}, fmt.Errorf("sandbox: payment of key %s never appeared", key)
}

// toPayment maps a sandbox payment. Every sandbox payment is in USD; a
// top-up is one made with a top-up purpose (not an invoice's).
func toPayment(r paymentRecord) payments.Payment {
	return payments.Payment{ID: r.ID, Status: payments.Status(r.Status), Amount: r.Amount, DeclineCode: r.DeclineCode,
		Message: r.Message, OrgID: r.OrgID, Purpose: r.Purpose, CustomerID: r.CustomerID, Currency: payments.USD,
		TopUp: payments.IsTopUpPurpose(r.Purpose)}
}

// Payment reads a sandbox payment.
func (p *Provider) Payment(ctx context.Context, id string) (payments.Payment, error) {
	var r paymentRecord
	if err := p.items.Get(ctx, "SBPI#"+id, "PI", &r); err != nil {
		return payments.Payment{}, err
	}
	return toPayment(r), nil
}

// ConfirmOnSession brings a payment the bank wants authenticated back
// on-session, as Stripe's confirm with the customer present does: a
// payment refused off-session with authentication_required, or one that
// requires action, now requires action (the sandbox's 3-D Secure page
// finishes it with Authenticate). Any other payment comes back as it is.
// It returns ENOTFOUND for an unknown payment.
func (p *Provider) ConfirmOnSession(ctx context.Context, paymentID, returnURL string) (payments.Payment, error) {
	var r paymentRecord
	if err := p.items.Get(ctx, "SBPI#"+paymentID, "PI", &r); err != nil {
		return payments.Payment{}, err
	}
	if !payments.NeedsCustomer(toPayment(r)) {
		return toPayment(r), nil
	}
	r.Status, r.DeclineCode, r.Message = string(payments.StatusRequiresAction), "", ""
	if err := p.items.Put(ctx, r, false); err != nil {
		return payments.Payment{}, fmt.Errorf("sandbox: confirm %s: %w", paymentID, err)
	}
	return toPayment(r), nil
}

// Authenticate finishes the sandbox's 3-D Secure of a payment that
// requires action: passed, it succeeds; failed, it fails with Stripe's
// payment_intent_authentication_failure. A payment in any other state
// comes back unchanged.
func (p *Provider) Authenticate(ctx context.Context, paymentID string, passed bool) (payments.Payment, error) {
	var r paymentRecord
	if err := p.items.Get(ctx, "SBPI#"+paymentID, "PI", &r); err != nil {
		return payments.Payment{}, err
	}
	if r.Status != string(payments.StatusRequiresAction) {
		return toPayment(r), nil
	}
	r.Status = string(payments.StatusSucceeded)
	if !passed {
		r.Status, r.DeclineCode, r.Message = string(payments.StatusFailed), "payment_intent_authentication_failure",
			"We are unable to authenticate your payment method. Please choose a different payment method and try again."
	}
	if err := p.items.Put(ctx, r, false); err != nil {
		return payments.Payment{}, fmt.Errorf("sandbox: authenticate %s: %w", paymentID, err)
	}
	return toPayment(r), nil
}

var _ payments.Confirmer = (*Provider)(nil)

// refundRecord is a refund of a sandbox payment; disputeRecord its dispute.
type refundRecord struct {
	PK      string      `dynamodbav:"PK"` // SBPI#<pi>
	SK      string      `dynamodbav:"SK"` // RE#<re>
	ID      string      `dynamodbav:"id"`
	Amount  money.Money `dynamodbav:"amount"`
	Created time.Time   `dynamodbav:"created"`
}

type disputeRecord struct {
	PK      string      `dynamodbav:"PK"` // SBPI#<pi>
	SK      string      `dynamodbav:"SK"` // DP
	ID      string      `dynamodbav:"id"`
	Amount  money.Money `dynamodbav:"amount"`
	Status  string      `dynamodbav:"status"` // needs_response, won, lost
	Created time.Time   `dynamodbav:"created"`
}

// Refund is a refund of a sandbox payment.
type Refund struct {
	ID     string // re_sandbox_…
	Amount money.Money
}

// Dispute is the dispute of a sandbox payment.
type Dispute struct {
	ID     string // dp_sandbox_…
	Amount money.Money
	Status string // needs_response, won or lost, as Stripe names them
}

// Refund refunds amount (whole cents) of a succeeded sandbox payment, as
// an operator does in Stripe's Dashboard; at most what is left of it. It
// returns the payment and all its refunds so far, oldest first, and
// EINVALID for a payment not succeeded or an amount over what is left.
func (p *Provider) Refund(ctx context.Context, paymentID string, amount money.Money) (payments.Payment, []Refund, error) {
	pay, err := p.Payment(ctx, paymentID)
	if err != nil {
		return payments.Payment{}, nil, err
	}
	refunds, err := p.Refunds(ctx, paymentID)
	if err != nil {
		return pay, nil, err
	}
	var refunded money.Money
	for _, r := range refunds {
		refunded += r.Amount
	}
	switch {
	case pay.Status != payments.StatusSucceeded:
		return pay, nil, billing.FieldError("amount", "Only a succeeded payment can be refunded.")
	case refunded >= pay.Amount:
		return pay, nil, billing.FieldError("amount", "%s is refunded in full: nothing is left to refund.", paymentID)
	case amount <= 0 || amount%money.Cent != 0 || amount > pay.Amount-refunded:
		return pay, nil, billing.FieldError("amount", "Enter an amount in whole cents, at most %s.", (pay.Amount - refunded).Display())
	}
	rec := refundRecord{PK: "SBPI#" + paymentID, ID: newID("re"), Amount: amount, Created: p.now().UTC()}
	rec.SK = "RE#" + rec.Created.Format(time.RFC3339Nano) + "#" + rec.ID
	if err := p.items.Put(ctx, rec, true); err != nil {
		return pay, nil, fmt.Errorf("sandbox: refund %s: %w", paymentID, err)
	}
	refunds, err = p.Refunds(ctx, paymentID)
	return pay, refunds, err
}

// Refunds lists a sandbox payment's refunds, oldest first.
func (p *Provider) Refunds(ctx context.Context, paymentID string) ([]Refund, error) {
	var recs []refundRecord
	if err := p.items.Query(ctx, "SBPI#"+paymentID, "RE#", &recs); err != nil {
		return nil, fmt.Errorf("sandbox: refunds of %s: %w", paymentID, err)
	}
	out := make([]Refund, len(recs))
	for i, r := range recs {
		out[i] = Refund{ID: r.ID, Amount: r.Amount}
	}
	return out, nil
}

// Dispute opens a dispute of a succeeded sandbox payment for what is not
// refunded of it (one per payment: a second call returns the first), or,
// with outcome "won" or "lost", closes it so. It returns the payment and
// the dispute; EINVALID for a payment not succeeded or fully refunded, or
// closing a dispute never opened.
func (p *Provider) Dispute(ctx context.Context, paymentID, outcome string) (payments.Payment, Dispute, error) {
	pay, err := p.Payment(ctx, paymentID)
	if err != nil {
		return payments.Payment{}, Dispute{}, err
	}
	var rec disputeRecord
	err = p.items.Get(ctx, "SBPI#"+paymentID, "DP", &rec)
	switch {
	case billing.ErrorCode(err) == billing.ENOTFOUND && outcome != "":
		return pay, Dispute{}, billing.FieldError("outcome", "Open a dispute first.")
	case billing.ErrorCode(err) == billing.ENOTFOUND:
		refunds, err := p.Refunds(ctx, paymentID)
		if err != nil {
			return pay, Dispute{}, err
		}
		left := pay.Amount
		for _, r := range refunds {
			left -= r.Amount
		}
		if pay.Status != payments.StatusSucceeded || left <= 0 {
			return pay, Dispute{}, billing.FieldError("outcome", "Only a succeeded payment not fully refunded can be disputed.")
		}
		rec = disputeRecord{PK: "SBPI#" + paymentID, SK: "DP", ID: newID("dp"), Amount: left, Status: "needs_response", Created: p.now().UTC()}
		if err := p.items.Put(ctx, rec, true); err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
			return pay, Dispute{}, fmt.Errorf("sandbox: dispute %s: %w", paymentID, err)
		}
		if err := p.items.Get(ctx, "SBPI#"+paymentID, "DP", &rec); err != nil {
			return pay, Dispute{}, err
		}
	case err != nil:
		return pay, Dispute{}, err
	}
	if (outcome == "won" || outcome == "lost") && rec.Status == "needs_response" {
		rec.Status = outcome
		if err := p.items.Put(ctx, rec, false); err != nil {
			return pay, Dispute{}, fmt.Errorf("sandbox: close dispute %s: %w", paymentID, err)
		}
	}
	return pay, Dispute{ID: rec.ID, Amount: rec.Amount, Status: rec.Status}, nil
}
