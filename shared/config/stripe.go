package config

import (
	"bytes"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/form"
)

// NewStripeClient returns a Stripe client that sends key() as the API key
// of every call, so a rotated key takes effect on the next call; there is
// no global stripe.Key. backends nil means Stripe's own API.
func NewStripeClient(key func() string, backends *stripe.Backends) *client.API {
	if backends == nil {
		backends = &stripe.Backends{
			API:     stripe.GetBackend(stripe.APIBackend),
			Connect: stripe.GetBackend(stripe.ConnectBackend),
			Uploads: stripe.GetBackend(stripe.UploadsBackend),
		}
	}
	keyed := func(b stripe.Backend) stripe.Backend {
		if b == nil {
			return nil
		}
		return keyedBackend{Backend: b, key: key}
	}
	return client.New("", &stripe.Backends{API: keyed(backends.API), Connect: keyed(backends.Connect), Uploads: keyed(backends.Uploads)})
}

// keyedBackend is a Stripe backend that replaces the API key of each call
// with the current one.
type keyedBackend struct {
	stripe.Backend
	key func() string
}

func (b keyedBackend) Call(method, path, _ string, params stripe.ParamsContainer, v stripe.LastResponseSetter) error {
	return b.Backend.Call(method, path, b.key(), params, v)
}

func (b keyedBackend) CallStreaming(method, path, _ string, params stripe.ParamsContainer, v stripe.StreamingLastResponseSetter) error {
	return b.Backend.CallStreaming(method, path, b.key(), params, v)
}

func (b keyedBackend) CallRaw(method, path, _ string, body *form.Values, params *stripe.Params, v stripe.LastResponseSetter) error {
	return b.Backend.CallRaw(method, path, b.key(), body, params, v)
}

func (b keyedBackend) CallMultipart(method, path, _, boundary string, body *bytes.Buffer, params *stripe.Params, v stripe.LastResponseSetter) error {
	return b.Backend.CallMultipart(method, path, b.key(), boundary, body, params, v)
}
