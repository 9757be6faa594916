package stripeprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
)

// Events applies verified Stripe webhook events to the billing section.
// Every effect is keyed (a payment credits once, by its id), and each
// event id is recorded once applied, so an event applied twice, or events
// in any order, leave the same state: a payment_failed after its
// succeeded undoes nothing.
type Events struct {
	svc   *payments.Service
	api   *Provider // the Stripe provider of svc, for reads events need
	store *store.Store
	now   func() time.Time
	log   *slog.Logger
	// invoices, when set, applies invoice.* events to our invoices.
	invoices InvoiceUpdater
	// publisher, when set, publishes notices for the notifier.
	publisher Publisher
}

// NewEvents returns the webhook event applier.
func NewEvents(svc *payments.Service, st *store.Store, now func() time.Time, log *slog.Logger) *Events {
	api, _ := svc.Provider().(*Provider)
	return &Events{svc: svc, api: api, store: st, now: now, log: log}
}

// eventRecord marks an applied event; kept 30 days (Stripe retries for 3).
type eventRecord struct {
	PK        string    `dynamodbav:"PK"` // STRIPE_EVENT#<id>
	SK        string    `dynamodbav:"SK"` // EVENT
	Type      string    `dynamodbav:"type"`
	Applied   time.Time `dynamodbav:"applied"`
	ExpiresAt int64     `dynamodbav:"expires_at"`
}

// storedEvent keeps an event for a later capability (tax ids, invoices).
type storedEvent struct {
	PK      string          `dynamodbav:"PK"` // STRIPE#<org>
	SK      string          `dynamodbav:"SK"` // <type>#<created>#<event id>
	Type    string          `dynamodbav:"type"`
	Object  json.RawMessage `dynamodbav:"object"`
	Created time.Time       `dynamodbav:"created"`
}

// Apply applies one verified event at most once. An error means nothing
// was recorded as applied, and Stripe should retry (answer 500).
func (ev *Events) Apply(ctx context.Context, e stripe.Event) error {
	items := ev.store.Items()
	var seen eventRecord
	if err := items.Get(ctx, "STRIPE_EVENT#"+e.ID, "EVENT", &seen); err == nil {
		return nil
	} else if billing.ErrorCode(err) != billing.ENOTFOUND {
		return err
	}
	err := ev.apply(ctx, e)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		// Its organisation is not ours (e.g. metadata of another system on
		// the same Stripe account): acknowledge, so Stripe stops retrying.
		ev.log.Warn("stripe event for an unknown organisation", "type", e.Type, "event", e.ID, "error", err)
		err = nil
	}
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", e.Type, e.ID, err)
	}
	now := ev.now().UTC()
	err = items.Put(ctx, eventRecord{PK: "STRIPE_EVENT#" + e.ID, SK: "EVENT", Type: string(e.Type), Applied: now,
		ExpiresAt: now.Add(30 * 24 * time.Hour).Unix()}, true)
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return nil // applied concurrently by another delivery; the effects are keyed
	}
	return err
}

func (ev *Events) apply(ctx context.Context, e stripe.Event) error {
	switch t := string(e.Type); {
	case t == "payment_intent.succeeded", t == "payment_intent.payment_failed":
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(e.Data.Raw, &pi); err != nil {
			return err
		}
		if slices.Contains(pi.PaymentMethodTypes, "crypto") {
			// A crypto checkout's own PaymentIntent, with the checkout's
			// metadata: checkout.session.* credits it under the session's
			// id, so crediting it here too would count it twice.
			return nil
		}
		if pi.Invoice != nil {
			// An invoice's PaymentIntent pays the invoice, not a top-up:
			// invoice.* events apply it.
			return nil
		}
		pay, err := toPayment(&pi)
		if err != nil {
			return err
		}
		org, err := ev.org(ctx, pay.OrgID, pay.CustomerID)
		if org == "" || err != nil {
			return err
		}
		if pay.Status != payments.StatusSucceeded {
			// A failure undoes nothing: a credit already made stays.
			ev.log.Info("stripe payment failed", "org", org, "payment", pi.ID, "decline_code", pay.DeclineCode)
			return nil
		}
		if pay.Method == "" {
			if pay.Method, err = ev.cardOf(ctx, pi.PaymentMethod); err != nil {
				return err
			}
		}
		_, err = ev.svc.PaymentSucceeded(ctx, org, pay, "Card")
		return notOurs(err)
	case strings.HasPrefix(t, "checkout.session."):
		return ev.applyCheckout(ctx, t, e.Data.Raw)
	case t == "charge.refunded", t == "charge.refund.updated":
		return ev.applyRefund(ctx, t, e.Data.Raw)
	case t == "charge.dispute.created", t == "charge.dispute.closed":
		return ev.applyDispute(ctx, t, e.Data.Raw)
	case t == "setup_intent.succeeded":
		var si stripe.SetupIntent
		if err := json.Unmarshal(e.Data.Raw, &si); err != nil {
			return err
		}
		org, err := ev.org(ctx, "", customerID(si.Customer))
		if org == "" || err != nil || si.PaymentMethod == nil {
			return err
		}
		card, err := ev.svc.CardAdded(ctx, org, si.PaymentMethod.ID)
		if err != nil {
			return err
		}
		actor := si.Metadata[MetaAddedBy]
		if actor == "" {
			actor = "Stripe"
		}
		ev.auditCard(ctx, org, actor, "card "+payments.CardLabel(card)+" added")
		return nil
	case t == "payment_method.detached":
		return ev.applyCardDetached(ctx, e)
	case t == "customer.updated":
		return ev.applyDefaultCard(ctx, e)
	case t == "payment_method.updated":
		// A new expiry, say: the profile's summary of the default card
		// follows when it is the default. Cards are otherwise read live
		// from Stripe.
		var pm stripe.PaymentMethod
		if err := json.Unmarshal(e.Data.Raw, &pm); err != nil {
			return err
		}
		org, err := ev.org(ctx, "", customerID(pm.Customer))
		if org == "" || err != nil || pm.Card == nil {
			return err
		}
		cur, err := ev.store.DefaultCard(ctx, org)
		if err != nil || cur.ID != pm.ID {
			return err
		}
		return ev.store.SetDefaultCard(ctx, org, defaultCardSummary(&pm))
	case strings.HasPrefix(t, "payment_method."):
		// Attached: setup_intent.succeeded records a card added.
		return nil
	case strings.HasPrefix(t, "customer.tax_id."), strings.HasPrefix(t, "invoice."):
		var obj struct {
			Customer json.RawMessage `json:"customer"`
		}
		if err := json.Unmarshal(e.Data.Raw, &obj); err != nil {
			return err
		}
		var cus string
		if json.Unmarshal(obj.Customer, &cus) != nil {
			var c struct{ ID string }
			_ = json.Unmarshal(obj.Customer, &c)
			cus = c.ID
		}
		org, err := ev.org(ctx, "", cus)
		if org == "" || err != nil {
			return err
		}
		created := time.Unix(e.Created, 0).UTC()
		err = ev.store.Items().Put(ctx, storedEvent{
			PK: "STRIPE#" + org, SK: t + "#" + created.Format(time.RFC3339) + "#" + e.ID, Type: t, Object: e.Data.Raw, Created: created,
		}, false)
		if err != nil || !strings.HasPrefix(t, "invoice.") {
			return err
		}
		return ev.applyInvoice(ctx, org, t, e.Data.Raw)
	}
	ev.log.Info("stripe event ignored", "type", e.Type, "event", e.ID)
	return nil
}

// applyCardDetached records a card removed at Stripe (its Dashboard or
// API) in the organisation's audit trail, by "Stripe"; one removed through
// our pages, which recorded it by the member, has its mark consumed and is
// not recorded again. The detached payment method has no customer any
// more: the event's previous attributes name it. When it was the default
// card, the profile's summary first records that there is none (before
// the audit entry, so a retry after a failure records the removal once).
func (ev *Events) applyCardDetached(ctx context.Context, e stripe.Event) error {
	var pm stripe.PaymentMethod
	if err := json.Unmarshal(e.Data.Raw, &pm); err != nil {
		return err
	}
	org, err := ev.org(ctx, "", objectID(e.Data.PreviousAttributes["customer"]))
	if org == "" || err != nil {
		return err
	}
	cur, err := ev.store.DefaultCard(ctx, org)
	if err != nil {
		return err
	}
	if cur.ID == pm.ID {
		if err := ev.store.SetDefaultCard(ctx, org, defaultCardSummary(nil)); err != nil {
			return err
		}
	}
	return ev.cardChanged(ctx, org, store.CardRemoved, &pm, "removed")
}

// applyDefaultCard records the customer's default card changed at Stripe,
// by "Stripe", unless our pages made the change (its mark is consumed).
// Other changes of the customer, and a default cleared (the card's detach
// is recorded), record nothing. A change of the default, cleared too,
// first records the new default (or none) in the profile's summary of the
// default card, unless it is recorded already (our pages record the
// default they set).
func (ev *Events) applyDefaultCard(ctx context.Context, e stripe.Event) error {
	prev, _ := e.Data.PreviousAttributes["invoice_settings"].(map[string]any)
	if _, changed := prev["default_payment_method"]; !changed {
		return nil
	}
	var c stripe.Customer
	if err := json.Unmarshal(e.Data.Raw, &c); err != nil {
		return err
	}
	org, err := ev.org(ctx, "", c.ID)
	if org == "" || err != nil {
		return err
	}
	var pm *stripe.PaymentMethod // nil: the default cleared
	if c.InvoiceSettings != nil {
		pm = c.InvoiceSettings.DefaultPaymentMethod
	}
	cur, err := ev.store.DefaultCard(ctx, org)
	if err != nil {
		return err
	}
	if pm == nil || cur.ID != pm.ID { // our pages record the default they set
		if pm, err = ev.expanded(ctx, pm); err != nil {
			return err
		}
		if err := ev.store.SetDefaultCard(ctx, org, defaultCardSummary(pm)); err != nil {
			return err
		}
	}
	if pm == nil {
		return nil
	}
	return ev.cardChanged(ctx, org, store.CardSetDefault, pm, "set as default")
}

// expanded returns the payment method pm with its card, read from Stripe
// when the event names it by id only; pm as it is when it is nil, has its
// card, or is gone from Stripe.
func (ev *Events) expanded(ctx context.Context, pm *stripe.PaymentMethod) (*stripe.PaymentMethod, error) {
	if pm == nil || pm.Card != nil || pm.ID == "" || ev.api == nil {
		return pm, nil
	}
	params := &stripe.PaymentMethodParams{}
	params.Context = ctx
	got, err := ev.api.api.PaymentMethods.Get(pm.ID, params)
	if isMissing(err) {
		return pm, nil
	}
	if err != nil {
		return nil, wrap("get payment method", err)
	}
	return got, nil
}

// defaultCardSummary is what the organisation's profile records of its
// default payment method pm for the Overview: none when pm is nil or not
// a card (auto-recharge charges cards).
func defaultCardSummary(pm *stripe.PaymentMethod) store.DefaultCard {
	if pm == nil || pm.Card == nil {
		return payments.DefaultCardSummary(nil)
	}
	return payments.DefaultCardSummary(&payments.Card{ID: pm.ID, Brand: string(pm.Card.Brand), Last4: pm.Card.Last4,
		ExpMonth: int(pm.Card.ExpMonth), ExpYear: int(pm.Card.ExpYear)})
}

// cardChanged records the change kind of the organisation's card pm, "card
// Visa •••• 4242 <what>" by "Stripe", unless it consumes the mark of our
// pages making it. An error (reading the mark or the card) records nothing,
// so Stripe's retry can.
func (ev *Events) cardChanged(ctx context.Context, org string, kind store.CardChange, pm *stripe.PaymentMethod, what string) error {
	ours, err := ev.store.ConsumeCardChange(ctx, org, kind, pm.ID)
	if ours || err != nil {
		return err
	}
	label, err := ev.cardOf(ctx, pm)
	if err != nil {
		return err
	}
	if label == "Card" { // not a card, or no longer at Stripe
		label = pm.ID
	}
	ev.auditCard(ctx, org, "Stripe", "card "+label+" "+what)
	return nil
}

// auditCard records a change of a card in the organisation's audit trail.
// The change is made; a missing audit line must not make Stripe retry, so
// a failure is logged.
func (ev *Events) auditCard(ctx context.Context, org, actor, what string) {
	entry := billing.AuditEntry{Time: ev.now().UTC(), Actor: actor, Page: "Payment Methods", Changes: billing.Changes{{What: what}}}
	if err := ev.store.AddAudit(ctx, org, entry); err != nil {
		ev.log.Error("record card change", "org", org, "change", what, "error", err)
	}
}

// objectID returns the id of an object in an event's previous attributes,
// given as its id or expanded; "" when it is neither.
func objectID(v any) string {
	switch o := v.(type) {
	case string:
		return o
	case map[string]any:
		id, _ := o["id"].(string)
		return id
	}
	return ""
}

// org finds the organisation of an event's object from its customer,
// through the customer → organisation mapping; metadata alone never names
// it (invariant 10). An object of no customer of ours, or whose metadata
// names another organisation than its customer's, returns "" and no error
// (logged): the event changes nothing and is acknowledged, not retried.
func (ev *Events) org(ctx context.Context, fromMetadata, customer string) (string, error) {
	if customer == "" {
		ev.log.Warn("stripe event of no customer ignored", "metadata_org", fromMetadata)
		return "", nil
	}
	org, err := ev.store.OrgByCustomer(ctx, customer)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		ev.log.Warn("stripe event for an unknown customer", "customer", customer)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if fromMetadata != "" && fromMetadata != org {
		ev.log.Warn("stripe event's metadata names another organisation than its customer's; ignored",
			"customer", customer, "org", org, "metadata_org", fromMetadata)
		return "", nil
	}
	return org, nil
}

// notOurs acknowledges the ENOTFOUND of a payment that is not one of the
// organisation's top-ups (the service logged why): nothing changes, and
// Stripe need not retry.
func notOurs(err error) error {
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return nil
	}
	return err
}

func customerID(c *stripe.Customer) string {
	if c == nil {
		return ""
	}
	return c.ID
}

// cardLabel names an expanded card payment method for the order history,
// "Visa •••• 4242"; "" when it is not expanded or not a card.
func cardLabel(pm *stripe.PaymentMethod) string {
	if pm == nil || pm.Card == nil {
		return ""
	}
	return payments.CardLabel(payments.Card{Brand: string(pm.Card.Brand), Last4: pm.Card.Last4})
}
