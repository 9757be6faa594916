package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/acme/billing/shared/payments/stripetest"
	"github.com/stripe/stripe-go/v76"
)

// formRecorder keeps the form of each request as stripe-go sent it, and
// passes it on to stripe-mock unchanged (v0.203.0 knows API version
// 2023-10-16, so it checks every parameter).
type formRecorder struct {
	mu    sync.Mutex
	forms []url.Values
}

func (f *formRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	f.mu.Lock()
	f.forms = append(f.forms, form)
	f.mu.Unlock()
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return http.DefaultTransport.RoundTrip(r)
}

func TestRun(t *testing.T) {
	mock := stripetest.Mock(t)
	rec := &formRecorder{}
	api := stripetest.Client(mock.URL, &http.Client{Transport: rec})

	t.Run("it creates the endpoint pinned to API version 2023-10-16 with every handled event", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"-url", "https://api.example.com/webhooks/stripe"}, api, true, &out); err != nil {
			t.Fatal(err)
		}
		form := rec.forms[len(rec.forms)-1]
		if form.Get("api_version") != "2023-10-16" || stripe.APIVersion != "2023-10-16" {
			t.Errorf("api_version %q (stripe-go %s)", form.Get("api_version"), stripe.APIVersion)
		}
		if got := enabled(form); len(got) != len(Events) {
			t.Errorf("enabled events %v", got)
		}
		// Cards changed in Stripe's Dashboard are recorded from these.
		for _, want := range []string{"payment_method.detached", "customer.updated"} {
			if !slices.Contains(enabled(form), want) {
				t.Errorf("enabled events %v lack %s", enabled(form), want)
			}
		}
		if form.Get("url") != "https://api.example.com/webhooks/stripe" || !strings.Contains(out.String(), "webhook_secret") {
			t.Errorf("url %q, output %q", form.Get("url"), out.String())
		}
	})

	t.Run("a URL that is not https or not the webhook route is refused before any request", func(t *testing.T) {
		before := len(rec.forms)
		for _, u := range []string{"", "http://api.example.com/webhooks/stripe", "https://api.example.com/", "not a url"} {
			if err := run(context.Background(), []string{"-url", u}, api, true, io.Discard); err == nil {
				t.Errorf("%q accepted", u)
			}
		}
		if err := run(context.Background(), []string{"-url", "https://api.example.com/webhooks/stripe"}, api, false, io.Discard); err == nil {
			t.Error("ran without STRIPE_SECRET_KEY")
		}
		if len(rec.forms) != before {
			t.Errorf("%d requests sent", len(rec.forms)-before)
		}
	})
}

// enabled returns the enabled_events of a form, which stripe-go sends
// indexed: enabled_events[0], enabled_events[1], …
func enabled(form url.Values) []string {
	var events []string
	for i := 0; ; i++ {
		v, ok := form["enabled_events["+strconv.Itoa(i)+"]"]
		if !ok {
			return events
		}
		events = append(events, v...)
	}
}
