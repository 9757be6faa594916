package payments

import (
	"context"
	"errors"
)

// ErrNotConfigured is the error of every call to Unconfigured.
var ErrNotConfigured = errors.New("payments: no payment provider configured for this function (STRIPE_SECRET_KEY unset)")

// Unconfigured is the provider of a deployed function that has no Stripe
// key because it takes no payments: any call fails with ErrNotConfigured
// (a clear log line, a generic error page), never with the sandbox.
type Unconfigured struct{}

var _ Provider = Unconfigured{}

func (Unconfigured) CreateCustomer(context.Context, string, string, string) (string, error) {
	return "", ErrNotConfigured
}
func (Unconfigured) Cards(context.Context, string) ([]Card, error)        { return nil, ErrNotConfigured }
func (Unconfigured) SetDefaultCard(context.Context, string, string) error { return ErrNotConfigured }
func (Unconfigured) DeleteCard(context.Context, string, string) error     { return ErrNotConfigured }
func (Unconfigured) Charge(context.Context, ChargeRequest) (Payment, error) {
	return Payment{}, ErrNotConfigured
}
func (Unconfigured) Payment(context.Context, string) (Payment, error) {
	return Payment{}, ErrNotConfigured
}
func (Unconfigured) CryptoCheckout(context.Context, CheckoutRequest) (Checkout, error) {
	return Checkout{}, ErrNotConfigured
}
