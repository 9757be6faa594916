// Package web is the HTTP surface of the Billing section: one route list,
// the page handlers, and the middleware every request passes (sessions,
// roles, cross-origin protection, security headers, logging). Each route
// names the Lambda function that serves it in AWS; the local server mounts
// them all on one mux.
package web

import (
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/recharge"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/usage"
)

// Deps are the dependencies of the handlers. Handlers are built from the
// fields they use, so a zero Deps still lists the routes.
type Deps struct {
	Store    *store.Store
	Sessions *auth.Sessions
	Now      func() time.Time
	Log      *slog.Logger
	// Local enables local mode: the development sign-in and plain HTTP.
	Local bool
	// PublicURL is the one public origin, like https://billing.example.com
	// (no trailing slash): every absolute URL a handler builds (Stripe
	// return and Checkout URLs) starts with it, never with the request's
	// Host.
	PublicURL string
	// NewOrg is what an organisation created by its first sign-in starts with.
	NewOrg store.NewOrg
	// OIDC is the sign-in with the identity provider (AWS mode); nil
	// without one, when the sign-in page says it is not configured.
	OIDC *auth.OIDC
	// Usage records usage and answers allowances for the usage API.
	Usage *usage.Service
	// UsageAPIKey is the bearer key of the usage API in local mode; in AWS
	// the API's routes use IAM authorization instead.
	UsageAPIKey string
	// Payments runs cards and top-ups on the payment provider.
	Payments *payments.Service
	// StripePublishableKey is for Stripe.js (Elements, 3-D Secure).
	StripePublishableKey string
	// StripeWebhookSecret verifies Stripe's webhook signatures: a fixed
	// secret (tests). CurrentStripeWebhookSecret, when set, wins: it
	// returns the secret for each webhook (in AWS the cached value of
	// Secrets Manager, so a rotated secret takes effect without a deploy).
	StripeWebhookSecret        string
	CurrentStripeWebhookSecret func() string
	// StripeEvents applies verified Stripe webhook events (Stripe mode).
	StripeEvents *stripeprovider.Events
	// Notify sends and records notifications (emails, signed webhooks).
	Notify *notify.Notifier
	// Recharge is the auto-recharge engine.
	Recharge *recharge.Engine
	// Invoicing closes billing cycles and serves the invoices.
	Invoicing *invoicing.Service
}

// Access is who may call a route.
type Access int

// Kinds of access.
const (
	// AccessSession needs a signed-in member; changes need an admin.
	AccessSession Access = iota
	// AccessPublic needs nothing (sign-in, sign-out, webhooks that verify
	// their own signature).
	AccessPublic
	// AccessService is the product's own services: IAM in AWS, the bearer
	// key locally.
	AccessService
)

// Route is one method and path, the Lambda function that serves it, and its
// handler.
type Route struct {
	Function string
	Method   string
	Path     string
	Handler  http.Handler
	Access   Access
}

// Routes lists every route of the Billing section, with the same paths as
// template.yaml (a test checks both ways): each function's routes, from
// the function's own list. A function's main serves only its own list, so
// it links only its own handlers.
func Routes(d Deps) []Route {
	return slices.Concat(
		OverviewRoutes(d),
		BalanceHistoryRoutes(d),
		InvoicesRoutes(d),
		PaymentMethodsRoutes(d),
		SpendManagementRoutes(d),
		CreditsRoutes(d),
		AutoRechargePageRoutes(d),
		AddressRoutes(d),
		NotificationsRoutes(d),
		TaxRoutes(d),
		UsageRoutes(d),
		StripeWebhookRoutes(d),
		AuthRoutes(d),
	)
}

// OverviewRoutes are the routes of the overview function.
func OverviewRoutes(d Deps) []Route {
	return []Route{
		{Function: "overview", Method: http.MethodGet, Path: "/billing", Handler: handleOverview(d.Store, d.Now, d.Log)},
	}
}

// BalanceHistoryRoutes are the routes of the balance-history function.
func BalanceHistoryRoutes(d Deps) []Route {
	return []Route{
		{Function: "balance-history", Method: http.MethodGet, Path: "/billing/balance-history", Handler: handleBalanceHistory(d.Store, d.Log)},
		{Function: "balance-history", Method: http.MethodGet, Path: "/billing/balance-history.csv", Handler: handleBalanceHistoryCSV(d.Store, d.Now, d.Log)},
	}
}

// InvoicesRoutes are the routes of the invoices function.
func InvoicesRoutes(d Deps) []Route {
	return []Route{
		{Function: "invoices", Method: http.MethodGet, Path: "/billing/invoices", Handler: handleInvoices(d.Invoicing, d.Payments, d.Local, d.Log)},
		{Function: "invoices", Method: http.MethodGet, Path: "/billing/invoices/{id}", Handler: handleInvoice(d.Invoicing, d.Log)},
		{Function: "invoices", Method: http.MethodGet, Path: "/billing/invoices/{id}/pdf", Handler: handleInvoicePDF(d.Invoicing, d.Log)},
		{Function: "invoices", Method: http.MethodPost, Path: "/billing/invoices/{id}/pay", Handler: handlePayInvoice(d.Invoicing, d.Log)},
	}
}

// PaymentMethodsRoutes are the routes of the payment-methods function.
func PaymentMethodsRoutes(d Deps) []Route {
	return []Route{
		{Function: "payment-methods", Method: http.MethodGet, Path: "/billing/payment-methods", Handler: handlePaymentMethods(d.Payments, d.Log)},
		{Function: "payment-methods", Method: http.MethodPost, Path: "/billing/payment-methods/default", Handler: handleSetDefaultCard(d.Payments, d.Store, d.Log)},
		{Function: "payment-methods", Method: http.MethodGet, Path: "/billing/payment-methods/delete", Handler: handleDeleteCardConfirm(d.Payments, d.Log)},
		{Function: "payment-methods", Method: http.MethodPost, Path: "/billing/payment-methods/delete", Handler: handleDeleteCard(d.Payments, d.Store, d.Log)},
		{Function: "payment-methods", Method: http.MethodGet, Path: "/billing/payment-methods/new", Handler: handleAddCardForm(d.Payments, d.StripePublishableKey, d.Log)},
	}
}

// SpendManagementRoutes are the routes of the spend-management function.
func SpendManagementRoutes(d Deps) []Route {
	return []Route{
		{Function: "spend-management", Method: http.MethodGet, Path: "/billing/spend-management", Handler: handleSpend(d.Store, d.Notify, d.Now, d.Log)},
		{Function: "spend-management", Method: http.MethodPost, Path: "/billing/spend-management", Handler: handleSaveSpend(d.Store, d.Notify, d.Local, d.Now, d.Log)},
		{Function: "spend-management", Method: http.MethodPost, Path: "/billing/spend-management/rotate-secret", Handler: handleRotateSecret(d.Store, d.Now, d.Log)},
		{Function: "spend-management", Method: http.MethodPost, Path: "/billing/spend-management/test", Handler: handleTestWebhook(d.Notify, d.Log)},
	}
}

// CreditsRoutes are the routes of the credits function.
func CreditsRoutes(d Deps) []Route {
	return []Route{
		{Function: "credits", Method: http.MethodGet, Path: "/billing/credits", Handler: handleCreditsForm(d.Payments, d.Log)},
		{Function: "credits", Method: http.MethodPost, Path: "/billing/credits", Handler: handleAddCredits(d.Payments, d.StripePublishableKey, d.PublicURL, d.Log)},
		{Function: "credits", Method: http.MethodGet, Path: "/billing/credits/complete", Handler: handleCreditsComplete(d.Payments, d.Log)},
	}
}

// AutoRechargePageRoutes are the routes of the auto-recharge-page function.
func AutoRechargePageRoutes(d Deps) []Route {
	return []Route{
		{Function: "auto-recharge-page", Method: http.MethodGet, Path: "/billing/auto-recharge", Handler: handleAutoRecharge(d.Store, d.Payments, d.Now, d.Log)},
		{Function: "auto-recharge-page", Method: http.MethodPost, Path: "/billing/auto-recharge", Handler: handleSaveAutoRecharge(d.Store, d.Payments, d.Recharge, d.Now, d.Log)},
	}
}

// AddressRoutes are the routes of the address function.
func AddressRoutes(d Deps) []Route {
	return []Route{
		{Function: "address", Method: http.MethodGet, Path: "/billing/address", Handler: handleAddress(d.Store, d.Log)},
		{Function: "address", Method: http.MethodPost, Path: "/billing/address", Handler: handleSaveAddress(d.Store, customerUpdaterOf(d.Payments), d.Log)},
	}
}

// NotificationsRoutes are the routes of the notifications function.
func NotificationsRoutes(d Deps) []Route {
	return []Route{
		{Function: "notifications", Method: http.MethodGet, Path: "/billing/notifications", Handler: handleNotifications(d.Store, d.Log)},
		{Function: "notifications", Method: http.MethodPost, Path: "/billing/notifications", Handler: handleSaveNotifications(d.Store, customerUpdaterOf(d.Payments), d.Log)},
	}
}

// TaxRoutes are the routes of the tax function.
func TaxRoutes(d Deps) []Route {
	return []Route{
		{Function: "tax", Method: http.MethodGet, Path: "/billing/tax", Handler: handleTax(d.Store, d.Payments, d.Log)},
		{Function: "tax", Method: http.MethodGet, Path: "/billing/tax/new", Handler: handleTaxForm(d.Log)},
		{Function: "tax", Method: http.MethodPost, Path: "/billing/tax/new", Handler: handleAddTaxID(d.Store, d.Payments, d.Log)},
		{Function: "tax", Method: http.MethodGet, Path: "/billing/tax/{id}/delete", Handler: handleDeleteTaxIDConfirm(d.Store, d.Payments, d.Log)},
		{Function: "tax", Method: http.MethodPost, Path: "/billing/tax/{id}/delete", Handler: handleDeleteTaxID(d.Store, d.Payments, d.Log)},
	}
}

// UsageRoutes are the routes of the usage function.
func UsageRoutes(d Deps) []Route {
	return []Route{
		{Function: "usage", Method: http.MethodPost, Path: "/v1/usage", Handler: handleRecordUsage(d.Usage, d.Log), Access: AccessService},
		{Function: "usage", Method: http.MethodGet, Path: "/v1/allowance", Handler: handleAllowance(d.Usage, d.Log), Access: AccessService},
	}
}

// StripeWebhookRoutes are the routes of the stripe-webhook function.
func StripeWebhookRoutes(d Deps) []Route {
	return []Route{
		{Function: "stripe-webhook", Method: http.MethodPost, Path: "/webhooks/stripe", Handler: stripeWebhook(d.StripeEvents, d.StripeWebhookSecret, d.CurrentStripeWebhookSecret, d.Log), Access: AccessPublic},
	}
}

// AuthRoutes are the routes of the auth function.
func AuthRoutes(d Deps) []Route {
	return []Route{
		{Function: "auth", Method: http.MethodGet, Path: "/auth/login", Handler: handleLogin(d.Local, d.OIDC, d.Log), Access: AccessPublic},
		{Function: "auth", Method: http.MethodGet, Path: "/auth/callback", Handler: handleCallback(d.OIDC, d.Store, d.Sessions, d.NewOrg, d.Now, d.Log), Access: AccessPublic},
		{Function: "auth", Method: http.MethodPost, Path: "/auth/logout", Handler: handleLogout(d.Sessions, d.OIDC, d.Log), Access: AccessPublic},
	}
}

// LocalRoutes are the routes that exist only in local mode: the
// development sign-in of DESIGN.md and the sandbox payment provider's card
// form and simulated crypto checkout. They are never deployed.
func LocalRoutes(d Deps) []Route {
	return []Route{
		{Function: "local", Method: http.MethodPost, Path: "/billing/payment-methods/new", Handler: handleAddCard(d.Payments, d.Store, d.Log)},
		{Function: "local", Method: http.MethodGet, Path: "/billing/credits/checkout/{id}", Handler: handleSandboxCheckout(d.Payments, d.Log)},
		{Function: "local", Method: http.MethodPost, Path: "/billing/credits/checkout/{id}", Handler: handleSandboxCheckoutFinish(d.Payments, d.Log)},
		{Function: "local", Method: http.MethodGet, Path: "/dev/login", Handler: handleDevLogin(d.Store, d.Sessions, d.NewOrg, d.Now, d.Log), Access: AccessPublic},
		{Function: "local", Method: http.MethodGet, Path: "/dev/outbox", Handler: handleOutbox(d.Store, d.Log)},
		{Function: "local", Method: http.MethodPost, Path: "/dev/close-cycle", Handler: handleCloseCycle(d.Invoicing, d.Now, d.Log)},
		{Function: "local", Method: http.MethodGet, Path: "/dev/payments", Handler: handleDevPayments(d.Payments, d.Store, d.Log)},
		{Function: "local", Method: http.MethodPost, Path: "/dev/payments/{id}/refund", Handler: handleDevRefund(d.Payments, d.Invoicing, d.Log)},
		{Function: "local", Method: http.MethodPost, Path: "/dev/payments/{id}/dispute", Handler: handleDevDispute(d.Payments, d.Log)},
		{Function: "local", Method: http.MethodPost, Path: "/billing/tax/{id}/verify", Handler: handleVerifyTaxID(d.Store, d.Payments, d.Log)},
	}
}

// Handler mounts routes on one mux behind the middleware every request
// passes: logging with a request id, security headers, cross-origin
// protection for every unsafe method, a session for pages and the admin
// role for any change, and the service's credentials for the usage API.
func Handler(d Deps, routes []Route) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := rt.Handler
		switch rt.Access {
		case AccessSession:
			h = requireSession(d.Sessions, d.Log, adminForChanges(d.Log, h))
		case AccessService:
			h = requireService(d.Local, d.UsageAPIKey, h)
		}
		mux.Handle(rt.Method+" "+rt.Path, h)
	}
	return withRequest(d.Log, !d.Local, crossOrigin(d.Log, d.PublicURL, notFound(mux, d.Sessions, d.Log)))
}

// stripeWebhook is handleStripeWebhook with the webhook secret of each
// request: current() when set (a rotating secret), else the fixed secret.
func stripeWebhook(ev *stripeprovider.Events, secret string, current func() string, log *slog.Logger) http.Handler {
	if current == nil {
		return handleStripeWebhook(ev, secret, log)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handleStripeWebhook(ev, current(), log).ServeHTTP(w, r)
	})
}
