// Command stripesetup registers the Billing section's Stripe webhook
// endpoint, pinned to the API version stripe-go v76 accepts (2023-10-16),
// with every event type the webhook handles, and prints its signing
// secret for the StripeSecretArn secret (webhook_secret).
//
//	STRIPE_SECRET_KEY=sk_live_… go run ./infra/stripesetup -url https://API/webhooks/stripe
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Events are the event types the webhook handles (see
// shared/payments/stripeprovider/events.go).
var Events = []string{
	"payment_intent.succeeded", "payment_intent.payment_failed",
	"checkout.session.completed", "checkout.session.async_payment_succeeded",
	"checkout.session.async_payment_failed", "checkout.session.expired",
	"charge.refunded", "charge.refund.updated", "charge.dispute.created", "charge.dispute.closed",
	"setup_intent.succeeded",
	"payment_method.attached", "payment_method.detached", "payment_method.updated", "customer.updated",
	"customer.tax_id.created", "customer.tax_id.updated", "customer.tax_id.deleted",
	"invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_failed", "invoice.payment_action_required",
	"invoice.voided", "invoice.marked_uncollectible",
}

func main() {
	key := os.Getenv("STRIPE_SECRET_KEY")
	if err := run(context.Background(), os.Args[1:], client.New(key, nil), key != "", os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "stripesetup:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, api *client.API, haveKey bool, stdout io.Writer) error {
	fs := flag.NewFlagSet("stripesetup", flag.ContinueOnError)
	endpoint := fs.String("url", "", "the deployed webhook URL, https://…/webhooks/stripe (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !haveKey {
		return errors.New("STRIPE_SECRET_KEY is required")
	}
	u, err := url.Parse(*endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "/webhooks/stripe" {
		return errors.New("-url must be https://<your API>/webhooks/stripe")
	}
	params := &stripe.WebhookEndpointParams{
		URL:           stripe.String(u.String()),
		EnabledEvents: stripe.StringSlice(Events),
		APIVersion:    stripe.String(stripe.APIVersion),
		Description:   stripe.String("Billing section"),
	}
	params.Context = ctx
	ep, err := api.WebhookEndpoints.New(params)
	if err != nil {
		return fmt.Errorf("create webhook endpoint: %w", err)
	}
	fmt.Fprintf(stdout, "Created webhook endpoint %s for %s (API version %s).\n", ep.ID, ep.URL, stripe.APIVersion)
	fmt.Fprintf(stdout, "Store its signing secret as webhook_secret in the StripeSecretArn secret:\n%s\n", ep.Secret)
	return nil
}
