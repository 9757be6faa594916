// Package endpoint runs one HTTP function of the Billing section on AWS
// Lambda, built lean: each function builds only the clients its routes use
// and links only its own handlers (its routes list in shared/web). A
// function's main is one call, like
//
//	endpoint.Serve(endpoint.Overview())
//
// The functions that publish billing events are given the publisher's
// constructor by their main (events/eventbridge.New), so that the others
// never import the EventBridge client.
package endpoint

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/acme/billing/shared/config"
	"github.com/acme/billing/shared/gateway"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Function is one HTTP function: its name (as in template.yaml and
// shared/web/routes.go), its routes, and Build, which adds to what every
// function builds (config.Config.Parts) the parts its routes use.
type Function struct {
	Name   string
	Routes func(web.Deps) []web.Route
	Build  func(ctx context.Context, p *config.Parts) error
	// ManyOrganisations marks a function that reads many organisations
	// once each (the usage API, Stripe's webhook). The others, the pages,
	// read every possible counter shard of an organisation the first time
	// (store.ReadEveryShardFirst), so no page view takes a second request.
	ManyOrganisations bool
}

// Serve runs fn until Lambda stops it. A bad configuration, or a
// dependency that cannot be built, is reported on stderr with exit status
// 1, so the failure shows in the function's logs instead of as a broken
// page.
func Serve(fn Function) {
	h, err := fn.Handler(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "function %s: %v\n", fn.Name, err)
		os.Exit(1)
	}
	lambda.Start(gateway.Handler(h))
}

// Deps builds fn's dependencies in AWS mode, configured from getenv: the
// parts every function needs, and fn's own.
func (fn Function) Deps(ctx context.Context, getenv func(string) string) (web.Deps, error) {
	cfg, err := config.Load(getenv, false)
	if err != nil {
		return web.Deps{}, err
	}
	p, err := cfg.Parts(ctx, cfg.Logger(os.Stdout).With("function", fn.Name), nil)
	if err != nil {
		return web.Deps{}, err
	}
	if err := fn.Build(ctx, p); err != nil {
		return web.Deps{}, err
	}
	if !fn.ManyOrganisations {
		p.Deps.Store.ReadEveryShardFirst()
	}
	return p.Deps, nil
}

// Handler is what Serve serves: fn's routes, built by Deps from getenv,
// behind the shared middleware.
func (fn Function) Handler(ctx context.Context, getenv func(string) string) (http.Handler, error) {
	deps, err := fn.Deps(ctx, getenv)
	if err != nil {
		return nil, err
	}
	return web.Handler(deps, fn.Routes(deps)), nil
}

// NewPublisher makes the billing-event publisher of AWS mode from the AWS
// SDK's configuration and the bus name (events/eventbridge.New).
type NewPublisher[P usage.Publisher] func(cfg aws.Config, bus string) P

// nothing is the Build of a function that needs only what every function
// builds.
func nothing(context.Context, *config.Parts) error { return nil }

// stripe is the Build of a function that uses payments: Stripe (the key
// from the secret) and invoicing.
func stripe(_ context.Context, p *config.Parts) error {
	p.WithStripe()
	return nil
}

// publishing is the Build of a function that publishes billing events:
// add gets the publisher newPub makes.
func publishing[P usage.Publisher](newPub NewPublisher[P], add func(*config.Parts, usage.Publisher) *config.Parts) func(context.Context, *config.Parts) error {
	return func(ctx context.Context, p *config.Parts) error {
		cfg, err := p.Config().AWS(ctx)
		if err != nil {
			return err
		}
		add(p, newPub(cfg, p.Config().EventBus))
		return nil
	}
}

// Overview is the Overview page: the store and the sessions only.
func Overview() Function {
	return Function{Name: "overview", Routes: web.OverviewRoutes, Build: nothing}
}

// BalanceHistory is the Balance History page and its CSV export.
func BalanceHistory() Function {
	return Function{Name: "balance-history", Routes: web.BalanceHistoryRoutes, Build: nothing}
}

// Auth is the sign-in: the OIDC provider when configured.
func Auth() Function {
	return Function{Name: "auth", Routes: web.AuthRoutes, Build: func(_ context.Context, p *config.Parts) error { return p.WithOIDC() }}
}

// Invoices is the Invoices page, its documents and Pay now.
func Invoices() Function {
	return Function{Name: "invoices", Routes: web.InvoicesRoutes, Build: stripe}
}

// PaymentMethods is the Payment Methods page.
func PaymentMethods() Function {
	return Function{Name: "payment-methods", Routes: web.PaymentMethodsRoutes, Build: stripe}
}

// Credits is the Add Usage Credits page.
func Credits() Function {
	return Function{Name: "credits", Routes: web.CreditsRoutes, Build: stripe}
}

// Address is the Invoice Address page (synced to the payment customer).
func Address() Function {
	return Function{Name: "address", Routes: web.AddressRoutes, Build: stripe}
}

// Notifications is the Invoice Notifications page (synced to the payment
// customer).
func Notifications() Function {
	return Function{Name: "notifications", Routes: web.NotificationsRoutes, Build: stripe}
}

// Tax is the Tax Settings page (tax IDs on the payment customer).
func Tax() Function {
	return Function{Name: "tax", Routes: web.TaxRoutes, Build: stripe}
}

// SpendManagement is the Spend Management page: the notifier for its test
// webhook and delivery list. It sends no email, so it builds no SES client.
func SpendManagement() Function {
	return Function{Name: "spend-management", Routes: web.SpendManagementRoutes, Build: func(_ context.Context, p *config.Parts) error {
		p.WithNotify(nil)
		return nil
	}}
}

// Usage is the usage API: recording and allowance, its threshold events
// published with newPub's publisher.
func Usage[P usage.Publisher](newPub NewPublisher[P]) Function {
	return Function{Name: "usage", Routes: web.UsageRoutes, Build: publishing(newPub, (*config.Parts).WithUsage), ManyOrganisations: true}
}

// StripeWebhook is Stripe's webhook: its events applied through payments
// and invoicing, billing events published with newPub's publisher.
func StripeWebhook[P usage.Publisher](newPub NewPublisher[P]) Function {
	return Function{Name: "stripe-webhook", Routes: web.StripeWebhookRoutes, Build: publishing(newPub, (*config.Parts).WithStripeEvents), ManyOrganisations: true}
}

// AutoRechargePage is the Auto Recharge page: the engine's first charge
// when turned on, its events published with newPub's publisher.
func AutoRechargePage[P usage.Publisher](newPub NewPublisher[P]) Function {
	return Function{Name: "auto-recharge-page", Routes: web.AutoRechargePageRoutes, Build: publishing(newPub, (*config.Parts).WithRecharge)}
}

// All lists every HTTP function, the publishing ones with newPub, for
// tests and checks of the whole set.
func All[P usage.Publisher](newPub NewPublisher[P]) []Function {
	return []Function{
		Overview(), BalanceHistory(), Auth(), Invoices(), PaymentMethods(), Credits(), Address(), Notifications(), Tax(), SpendManagement(),
		Usage(newPub), StripeWebhook(newPub), AutoRechargePage(newPub),
	}
}
