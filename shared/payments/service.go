package payments

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// Service runs the Billing section's payments on a provider: the
// organisation's customer, its cards, top-ups by card or crypto, and the
// crediting of every successful payment exactly once.
type Service struct {
	store    *store.Store
	provider Provider
	now      func() time.Time
	log      *slog.Logger
}

// NewService returns a Service on provider.
func NewService(s *store.Store, p Provider, now func() time.Time, log *slog.Logger) *Service {
	return &Service{store: s, provider: p, now: now, log: log}
}

// Provider returns the provider, for flows only one provider has (the
// sandbox's card form, Stripe's SetupIntent).
func (s *Service) Provider() Provider { return s.provider }

// Customer returns the organisation's customer, creating it on first need.
// Two concurrent first calls end up with one recorded customer.
func (s *Service) Customer(ctx context.Context, orgID string) (string, error) {
	p, err := s.store.Profile(ctx, orgID)
	if err != nil {
		return "", err
	}
	if p.CustomerID != "" {
		return p.CustomerID, nil
	}
	acct, err := s.store.Account(ctx, orgID, s.now())
	if err != nil {
		return "", err
	}
	id, err := s.provider.CreateCustomer(ctx, orgID, acct.Name, p.BillingEmail)
	if err != nil {
		return "", fmt.Errorf("create customer for %s: %w", orgID, err)
	}
	id, err = s.store.SetCustomerID(ctx, orgID, id)
	if err != nil {
		return "", err
	}
	// An invoice address saved before there was a customer goes on it now.
	if cu, ok := s.provider.(interface {
		UpdateCustomer(ctx context.Context, customerID string, u CustomerUpdate) error
	}); ok && !p.Address.IsZero() {
		if err := cu.UpdateCustomer(ctx, id, CustomerUpdate{Address: &p.Address}); err != nil {
			// The address is ours to resend: the next save of the page does.
			s.log.Error("put the invoice address on the new customer", "org", orgID, "error", err)
		}
	}
	return id, nil
}

// Cards lists the organisation's saved cards; none before it has a
// customer.
func (s *Service) Cards(ctx context.Context, orgID string) ([]Card, error) {
	p, err := s.store.Profile(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return s.CustomerCards(ctx, p.CustomerID)
}

// CustomerCards returns the cards of the organisation's payment customer
// customerID, from a profile the caller read already (with other items,
// in one round trip); none when it has no customer yet.
func (s *Service) CustomerCards(ctx context.Context, customerID string) ([]Card, error) {
	if customerID == "" {
		return nil, nil
	}
	return s.provider.Cards(ctx, customerID)
}

// card returns the organisation's card cardID and all its cards;
// ENOTFOUND when the card is not the organisation's.
func (s *Service) card(ctx context.Context, orgID, cardID string) (Card, []Card, error) {
	cards, err := s.Cards(ctx, orgID)
	if err != nil {
		return Card{}, nil, err
	}
	for _, c := range cards {
		if c.ID == cardID {
			return c, cards, nil
		}
	}
	return Card{}, cards, billing.Errorf(billing.ENOTFOUND, "That card is not on your account.")
}

// SetDefaultCard makes one of the organisation's cards the default.
func (s *Service) SetDefaultCard(ctx context.Context, orgID, cardID string) error {
	c, _, err := s.card(ctx, orgID, cardID)
	if err != nil {
		return err
	}
	p, err := s.store.Profile(ctx, orgID)
	if err != nil {
		return err
	}
	err = s.markedCardChange(ctx, orgID, store.CardSetDefault, cardID, func() error {
		return s.provider.SetDefaultCard(ctx, p.CustomerID, cardID)
	})
	if err != nil {
		return err
	}
	s.recordDefaultCard(ctx, orgID, &c)
	return nil
}

// DefaultCardSummary is what the organisation's profile records of its
// default card c; nil records "no default card".
func DefaultCardSummary(c *Card) store.DefaultCard {
	if c == nil {
		return store.DefaultCard{Known: true}
	}
	return store.DefaultCard{Known: true, ID: c.ID, Label: CardLabel(*c), Last4: c.Last4, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear}
}

// recordDefaultCard records the organisation's default card c (nil: none)
// on its profile, for the Overview. The change of the card is made
// already, so a failure is logged, not returned.
func (s *Service) recordDefaultCard(ctx context.Context, orgID string, c *Card) {
	if err := s.store.SetDefaultCard(ctx, orgID, DefaultCardSummary(c)); err != nil {
		s.log.Error("record the default card", "org", orgID, "error", err)
	}
}

// DeleteCard removes one of the organisation's cards. The default card
// goes only when it is the last one: otherwise another card must be made
// the default first, so the default never vanishes silently.
func (s *Service) DeleteCard(ctx context.Context, orgID, cardID string) error {
	c, cards, err := s.card(ctx, orgID, cardID)
	if err != nil {
		return err
	}
	if c.Default && len(cards) > 1 {
		return billing.FieldError("card", "This is your default card. Set another card as default first, then delete this one.")
	}
	p, err := s.store.Profile(ctx, orgID)
	if err != nil {
		return err
	}
	err = s.markedCardChange(ctx, orgID, store.CardRemoved, cardID, func() error {
		return s.provider.DeleteCard(ctx, p.CustomerID, cardID)
	})
	if err == nil && c.Default {
		s.recordDefaultCard(ctx, orgID, nil)
	}
	return err
}

// markedCardChange makes a change of a card that the caller records in the
// audit trail: a mark announces it first, so the provider's webhook
// reporting it does not record it a second time. The mark is taken back
// when the change fails (had it been made after all, the webhook records
// it once, as the provider's).
func (s *Service) markedCardChange(ctx context.Context, orgID string, kind store.CardChange, cardID string, change func() error) error {
	if err := s.store.MarkCardChange(ctx, orgID, kind, cardID); err != nil {
		return err
	}
	err := change()
	if err != nil {
		if uerr := s.store.UnmarkCardChange(ctx, orgID, kind, cardID); uerr != nil {
			s.log.Error("take back a card change mark", "org", orgID, "card", cardID, "error", uerr)
		}
	}
	return err
}

// RemainingCredits returns the organisation's Remaining Credits now (what
// a top-up's confirmation shows before and after the payment).
func (s *Service) RemainingCredits(ctx context.Context, orgID string) (money.Money, error) {
	acct, err := s.store.Account(ctx, orgID, s.now())
	if err != nil {
		return 0, err
	}
	return acct.Figures().Remaining, nil
}

// ValidateTopUp returns an EINVALID error on the amount field unless the
// amount is $5–$5000 in whole cents.
func ValidateTopUp(amount money.Money) error {
	if amount < MinTopUp || amount > MaxTopUp {
		return billing.FieldError("amount", "Enter an amount between $5 and $5000.")
	}
	if amount%money.Cent != 0 {
		return billing.FieldError("amount", "Enter the amount in dollars and cents, e.g. 25.50.")
	}
	return nil
}

// TopUp is the outcome of a card top-up.
type TopUp struct {
	Payment Payment
	// Credited reports whether this call credited the balance (false when
	// the payment was credited before, or did not succeed).
	Credited bool
}

// AddCreditsByCard charges one of the organisation's cards and credits the
// balance. token is the purchase form's one-time token: a repeated submit
// of one form charges once. A decline is an EINVALID error on the method
// field carrying the provider's message; a payment that needs 3-D Secure
// comes back with StatusRequiresAction for Stripe.js to finish.
func (s *Service) AddCreditsByCard(ctx context.Context, orgID string, amount money.Money, cardID, token, returnURL string) (TopUp, error) {
	if err := ValidateTopUp(amount); err != nil {
		return TopUp{}, err
	}
	c, _, err := s.card(ctx, orgID, cardID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return TopUp{}, billing.FieldError("method", "Select one of your payment methods.")
	}
	if err != nil {
		return TopUp{}, err
	}
	customer, err := s.Customer(ctx, orgID)
	if err != nil {
		return TopUp{}, err
	}
	pay, err := s.provider.Charge(ctx, ChargeRequest{
		OrgID: orgID, CustomerID: customer, CardID: c.ID, Amount: amount, Purpose: PurposeAddCredits,
		IdempotencyKey: "credits-" + orgID + "-" + token, ReturnURL: returnURL,
	})
	if err != nil {
		return TopUp{}, fmt.Errorf("charge %s: %w", orgID, err)
	}
	switch pay.Status {
	case StatusFailed:
		msg := pay.Message
		if msg == "" {
			msg = "Your card was declined."
		}
		return TopUp{Payment: pay}, billing.FieldError("method", "%s Nothing was charged; try another card.", msg)
	case StatusSucceeded:
		credited, err := s.PaymentSucceeded(ctx, orgID, pay, CardLabel(c))
		return TopUp{Payment: pay, Credited: credited}, err
	}
	return TopUp{Payment: pay}, nil
}

// CardLabel names a card for people: "Visa •••• 4242".
func CardLabel(c Card) string {
	brand := c.Brand
	switch strings.ToLower(brand) {
	case "visa":
		brand = "Visa"
	case "mastercard":
		brand = "Mastercard"
	case "amex":
		brand = "American Express"
	case "discover":
		brand = "Discover"
	case "":
		brand = "Card"
	}
	return brand + " •••• " + c.Last4
}

// PaymentDescription is the balance transaction of a card payment:
// "Stripe Payment Intent pi_… via Add Credits".
func PaymentDescription(paymentID, purpose string) string {
	return "Stripe Payment Intent " + paymentID + " via " + purpose
}

// credit records a succeeded payment once, whoever reports it first.
func (s *Service) credit(ctx context.Context, orgID string, pay Payment, method string) (bool, error) {
	purpose := pay.Purpose
	if purpose == "" {
		purpose = PurposeAddCredits
	}
	if pay.Method != "" {
		method = pay.Method
	}
	credited, err := s.store.CreditPayment(ctx, orgID, store.PaymentCredit{
		PaymentID: pay.ID, Amount: pay.Amount, Description: PaymentDescription(pay.ID, purpose), Method: method, Paid: s.now(),
	})
	if err != nil {
		return false, fmt.Errorf("credit %s for %s: %w", pay.ID, orgID, err)
	}
	return credited, nil
}

// errNoSuchPayment is what a caller learns of a payment that is not one of
// the organisation's top-ups: the same whether it exists elsewhere or not.
func errNoSuchPayment() error { return billing.Errorf(billing.ENOTFOUND, "No such payment.") }

// checkTopUp returns nil when pay may become credit of orgID (invariant
// 10): a payment made as a top-up, of the organisation's own customer,
// whose metadata names no other organisation, in USD. Otherwise it logs
// why (a foreign currency at ERROR, for the alarm) and returns ENOTFOUND;
// nothing changes.
func (s *Service) checkTopUp(ctx context.Context, orgID string, pay Payment) error {
	p, err := s.store.Profile(ctx, orgID)
	if err != nil {
		return err
	}
	switch {
	case pay.CustomerID == "" || pay.CustomerID != p.CustomerID:
		s.log.Warn("payment of another customer is not credited", "org", orgID, "payment", pay.ID, "customer", pay.CustomerID)
		return errNoSuchPayment()
	case pay.OrgID != "" && pay.OrgID != orgID:
		s.log.Warn("payment metadata names another organisation than its customer's; not credited",
			"org", orgID, "payment", pay.ID, "metadata_org", pay.OrgID)
		return errNoSuchPayment()
	case !pay.TopUp:
		s.log.Warn("payment was not made as a top-up; not credited", "org", orgID, "payment", pay.ID, "purpose", pay.Purpose)
		return errNoSuchPayment()
	case pay.Currency != USD:
		s.log.Error("payment in a currency other than USD is not credited", "org", orgID, "payment", pay.ID, "currency", pay.Currency)
		return errNoSuchPayment()
	}
	return nil
}

// PaymentSucceeded credits a payment the provider reports succeeded (a
// webhook, or the return from 3-D Secure), once. It returns ENOTFOUND, and
// changes nothing, unless the payment is a USD top-up of orgID's own
// customer (see checkTopUp); a payment that has not succeeded is
// (false, nil).
func (s *Service) PaymentSucceeded(ctx context.Context, orgID string, pay Payment, method string) (bool, error) {
	if err := s.checkTopUp(ctx, orgID, pay); err != nil {
		return false, err
	}
	if pay.Status != StatusSucceeded {
		return false, nil
	}
	return s.credit(ctx, orgID, pay, method)
}

// TopUpPayment reads one of the organisation's top-ups, without crediting
// it. It returns ENOTFOUND for any payment that is not a USD top-up of the
// organisation's own customer.
func (s *Service) TopUpPayment(ctx context.Context, orgID, paymentID string) (Payment, error) {
	if paymentID == "" {
		return Payment{}, errNoSuchPayment()
	}
	pay, err := s.provider.Payment(ctx, paymentID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return Payment{}, errNoSuchPayment()
	}
	if err != nil {
		return Payment{}, err
	}
	if err := s.checkTopUp(ctx, orgID, pay); err != nil {
		return Payment{}, err
	}
	return pay, nil
}

// ConfirmReturn finishes a top-up after 3-D Secure: it reads the payment
// and credits it if it succeeded. It returns ENOTFOUND for any payment
// that is not a USD top-up of the organisation's own customer.
func (s *Service) ConfirmReturn(ctx context.Context, orgID, paymentID string) (Payment, error) {
	pay, err := s.TopUpPayment(ctx, orgID, paymentID)
	if err != nil {
		return Payment{}, err
	}
	if _, err := s.PaymentSucceeded(ctx, orgID, pay, "Card"); err != nil {
		return pay, err
	}
	return pay, nil
}

// CryptoEnabled reports whether top-ups by crypto are offered: the
// provider must say it can take them (see CryptoCapable).
func (s *Service) CryptoEnabled() bool {
	c, ok := s.provider.(CryptoCapable)
	return ok && c.CryptoEnabled()
}

// AddCreditsByCrypto opens a hosted crypto checkout for a top-up; the
// balance is credited when the provider reports it completed. Without
// crypto (CryptoEnabled) it is an EINVALID error on the method field.
func (s *Service) AddCreditsByCrypto(ctx context.Context, orgID string, amount money.Money, token, successURL, cancelURL string) (Checkout, error) {
	if err := ValidateTopUp(amount); err != nil {
		return Checkout{}, err
	}
	if !s.CryptoEnabled() {
		return Checkout{}, billing.FieldError("method", "Select one of your payment methods.")
	}
	customer, err := s.Customer(ctx, orgID)
	if err != nil {
		return Checkout{}, err
	}
	co, err := s.provider.CryptoCheckout(ctx, CheckoutRequest{
		OrgID: orgID, CustomerID: customer, Amount: amount, SuccessURL: successURL, CancelURL: cancelURL,
		IdempotencyKey: "crypto-" + orgID + "-" + token,
	})
	if err != nil {
		return Checkout{}, fmt.Errorf("crypto checkout %s: %w", orgID, err)
	}
	return co, nil
}

// CheckoutCompleted credits a completed crypto checkout of the sandbox
// once, as "Stripe Checkout Session cs_… via Add Credits". The caller has
// found the checkout to be orgID's own.
func (s *Service) CheckoutCompleted(ctx context.Context, orgID, checkoutID string, amount money.Money) (bool, error) {
	return s.creditCheckout(ctx, orgID, PaidCheckout{ID: checkoutID, Amount: amount})
}

// PaidCheckout is a hosted checkout the provider reports paid.
type PaidCheckout struct {
	ID         string // cs_…
	PaymentID  string // the checkout's PaymentIntent, which refunds and disputes name
	CustomerID string
	Currency   string
	Amount     money.Money
	// OrgID and Purpose come from the checkout's metadata.
	OrgID   string
	Purpose string
}

// CheckoutPaid credits a paid checkout the provider reports, once, when it
// is a USD top-up of orgID's own customer (the rules of checkTopUp); else
// it returns ENOTFOUND and changes nothing.
func (s *Service) CheckoutPaid(ctx context.Context, orgID string, c PaidCheckout) (bool, error) {
	pay := Payment{ID: c.ID, Status: StatusSucceeded, Amount: c.Amount, OrgID: c.OrgID, Purpose: c.Purpose,
		CustomerID: c.CustomerID, Currency: c.Currency, TopUp: IsTopUpPurpose(c.Purpose)}
	if err := s.checkTopUp(ctx, orgID, pay); err != nil {
		return false, err
	}
	return s.creditCheckout(ctx, orgID, c)
}

func (s *Service) creditCheckout(ctx context.Context, orgID string, c PaidCheckout) (bool, error) {
	credited, err := s.store.CreditPayment(ctx, orgID, store.PaymentCredit{
		PaymentID: c.ID, Amount: c.Amount, Description: "Stripe Checkout Session " + c.ID + " via " + PurposeAddCredits,
		Method: "Cryptocurrency", Paid: s.now(), AliasID: c.PaymentID,
	})
	if err != nil {
		return false, fmt.Errorf("credit checkout %s for %s: %w", c.ID, orgID, err)
	}
	return credited, nil
}

// CardAdded makes a newly added card the default when the organisation has
// no default card yet, and records it as the default on the profile when
// it is (made) the default.
// It returns the card, ENOTFOUND when it is not the organisation's.
func (s *Service) CardAdded(ctx context.Context, orgID, cardID string) (Card, error) {
	c, cards, err := s.card(ctx, orgID, cardID)
	if err != nil {
		return Card{}, err
	}
	for _, other := range cards {
		if other.Default {
			if other.ID == c.ID { // the provider made it the default (the sandbox does, for a first card)
				s.recordDefaultCard(ctx, orgID, &c)
			}
			return c, nil
		}
	}
	c.Default = true
	return c, s.SetDefaultCard(ctx, orgID, cardID)
}

// ChargeOffSession charges one of the organisation's cards without the
// customer present (auto-recharge) and credits a success once, as
// "Stripe Payment Intent pi_… via Auto Recharge call.". A decline, or a
// card that needs 3-D Secure, comes back as the Payment's status.
func (s *Service) ChargeOffSession(ctx context.Context, orgID string, card Card, amount money.Money, idempotencyKey string) (Payment, error) {
	customer, err := s.Customer(ctx, orgID)
	if err != nil {
		return Payment{}, err
	}
	pay, err := s.provider.Charge(ctx, ChargeRequest{
		OrgID: orgID, CustomerID: customer, CardID: card.ID, Amount: amount, Purpose: PurposeAutoRecharge,
		IdempotencyKey: idempotencyKey, OffSession: true,
	})
	if err != nil {
		return Payment{}, fmt.Errorf("auto-recharge charge %s: %w", orgID, err)
	}
	if pay.Status == StatusSucceeded {
		if _, err := s.PaymentSucceeded(ctx, orgID, pay, CardLabel(card)); err != nil {
			return pay, err
		}
	}
	return pay, nil
}

// Confirmer is a provider that can bring a payment the bank wants
// authenticated back on-session (both providers are).
type Confirmer interface {
	// ConfirmOnSession confirms the payment with the customer present;
	// it then requires action (3-D Secure, finished by Stripe.js's
	// handleNextAction or the sandbox's page) or is settled.
	ConfirmOnSession(ctx context.Context, paymentID, returnURL string) (Payment, error)
}

// ConfirmPayment brings one of the organisation's top-ups that waits for
// the customer (an auto-recharge the bank refused off-session with
// authentication_required) back on-session. It returns the payment: one
// that requires action carries the client secret for Stripe.js; one that
// succeeded is credited, once. It returns ENOTFOUND for any payment that
// is not a USD top-up of the organisation's own customer.
func (s *Service) ConfirmPayment(ctx context.Context, orgID, paymentID, returnURL string) (Payment, error) {
	pay, err := s.TopUpPayment(ctx, orgID, paymentID)
	if err != nil {
		return Payment{}, err
	}
	if NeedsCustomer(pay) {
		c, ok := s.provider.(Confirmer)
		if !ok {
			return Payment{}, fmt.Errorf("confirm %s: the provider cannot confirm payments", paymentID)
		}
		if pay, err = c.ConfirmOnSession(ctx, paymentID, returnURL); err != nil {
			return Payment{}, fmt.Errorf("confirm %s: %w", paymentID, err)
		}
	}
	if _, err := s.PaymentSucceeded(ctx, orgID, pay, ""); err != nil {
		return pay, err
	}
	return pay, nil
}

// OwnPayment reads a payment of the organisation's own customer, whatever
// its purpose (a top-up or an invoice's). It returns ENOTFOUND for any
// other payment.
func (s *Service) OwnPayment(ctx context.Context, orgID, paymentID string) (Payment, error) {
	if paymentID == "" {
		return Payment{}, errNoSuchPayment()
	}
	p, err := s.store.Profile(ctx, orgID)
	if err != nil {
		return Payment{}, err
	}
	pay, err := s.provider.Payment(ctx, paymentID)
	if billing.ErrorCode(err) == billing.ENOTFOUND || (err == nil && (pay.CustomerID == "" || pay.CustomerID != p.CustomerID)) {
		return Payment{}, errNoSuchPayment()
	}
	return pay, err
}
