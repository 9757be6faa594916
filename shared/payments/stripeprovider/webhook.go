package stripeprovider

import (
	"fmt"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/acme/billing/shared/billing"
)

// VerifyWebhook checks the Stripe-Signature header of a webhook's raw body
// against the endpoint's signing secret and returns the event. A bad,
// missing or stale signature (older than webhook.DefaultTolerance), a body
// that is not an event, or an event of another API version than stripe-go
// v76's 2023-10-16 (so the endpoint must be created with that version) is
// an EINVALID error, which also wraps webhook's reason (errors.Is with
// webhook.ErrNoValidSignature, ErrNotSigned, ErrTooOld, …); the caller
// answers 400 and changes nothing.
func VerifyWebhook(payload []byte, header, secret string) (stripe.Event, error) {
	ev, err := webhook.ConstructEvent(payload, header, secret)
	if err != nil {
		return stripe.Event{}, fmt.Errorf("stripe: verify webhook: %w: %w", billing.Errorf(billing.EINVALID, "Invalid Stripe webhook."), err)
	}
	return ev, nil
}
