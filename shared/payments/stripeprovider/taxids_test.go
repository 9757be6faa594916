package stripeprovider_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
)

// TestTaxIDsStripeMock proves that the tax ID requests are ones stripe-mock
// accepts against Stripe's OpenAPI spec, on the customer's own tax_ids
// path.
func TestTaxIDsStripeMock(t *testing.T) {
	ctx := t.Context()

	t.Run("adding a tax ID posts its type and normalised value to the customer's tax IDs", func(t *testing.T) {
		p, rec := newMockProvider(t)
		tid, err := p.CreateTaxID(ctx, "cus_123", payments.TaxIDInput{Country: "DE", Type: "eu_vat", Value: "de 123.456.789"})
		if err != nil {
			t.Fatal(err)
		}
		r := rec.last(t)
		wantAccepted(t, []request{r})
		if r.Method != http.MethodPost || r.Path != "/v1/customers/cus_123/tax_ids" {
			t.Errorf("request = %s %s, want POST /v1/customers/cus_123/tax_ids", r.Method, r.Path)
		}
		wantForm(t, r, map[string]string{"type": "eu_vat", "value": "DE123456789"})
		if len(r.Form) != 2 {
			t.Errorf("form = %v, want only type and value", r.Form)
		}
		if tid.ID == "" || tid.Status == "" {
			t.Errorf("tax id = %+v, want an id and a status from stripe-mock's fixture", tid)
		}
	})

	t.Run("invalid input is refused before any request", func(t *testing.T) {
		p, rec := newMockProvider(t)
		_, err := p.CreateTaxID(ctx, "cus_123", payments.TaxIDInput{Country: "DE", Type: "eu_vat", Value: "DE1"})
		if billing.ErrorCode(err) != billing.EINVALID {
			t.Fatalf("error = %v, want EINVALID", err)
		}
		if reqs := rec.requests(); len(reqs) != 0 {
			t.Errorf("requests = %+v, want none", reqs)
		}
	})

	t.Run("listing reads the customer's tax IDs", func(t *testing.T) {
		p, rec := newMockProvider(t)
		ts, err := p.TaxIDs(ctx, "cus_123")
		if err != nil {
			t.Fatal(err)
		}
		reqs := rec.requests()
		wantAccepted(t, reqs)
		if reqs[0].Method != http.MethodGet || reqs[0].Path != "/v1/customers/cus_123/tax_ids" {
			t.Errorf("request = %s %s, want GET /v1/customers/cus_123/tax_ids", reqs[0].Method, reqs[0].Path)
		}
		if len(ts) == 0 || ts[0].ID == "" {
			t.Errorf("tax ids = %+v, want stripe-mock's fixture", ts)
		}
	})

	t.Run("deleting deletes under the customer", func(t *testing.T) {
		p, rec := newMockProvider(t)
		if err := p.DeleteTaxID(ctx, "cus_123", "txi_123"); err != nil {
			t.Fatal(err)
		}
		r := rec.last(t)
		wantAccepted(t, []request{r})
		if r.Method != http.MethodDelete || r.Path != "/v1/customers/cus_123/tax_ids/txi_123" {
			t.Errorf("request = %s %s, want DELETE /v1/customers/cus_123/tax_ids/txi_123", r.Method, r.Path)
		}
	})
}

// fakeTaxStripe answers the tax ID endpoints of cus_123 as Stripe does:
// the list with each verification state, resource_missing for a tax ID
// that is not the customer's, and tax_id_invalid for a value Stripe
// refuses.
func fakeTaxStripe(t *testing.T) (*httptest.Server, *recorder) {
	t.Helper()
	taxID := func(id, typ, country, value string, verification any) map[string]any {
		return map[string]any{
			"id": id, "object": "tax_id", "country": country, "created": 1795000000, "customer": "cus_123", "livemode": false,
			"type": typ, "value": value, "verification": verification,
			"owner": map[string]any{"type": "customer", "customer": "cus_123"},
		}
	}
	status := func(s string) map[string]any {
		return map[string]any{"status": s, "verified_address": nil, "verified_name": nil}
	}
	writeJSON := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_fake")
		w.WriteHeader(code)
		if err := json.NewEncoder(w).Encode(v); err != nil {
			t.Errorf("write: %v", err)
		}
	}
	missing := map[string]any{"error": map[string]any{
		"type": "invalid_request_error", "code": "resource_missing", "param": "id", "message": "No such tax ID: 'txi_other'",
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "GET /v1/customers/cus_123/tax_ids":
			writeJSON(w, http.StatusOK, map[string]any{"object": "list", "url": "/v1/customers/cus_123/tax_ids", "has_more": false, "data": []any{
				taxID("txi_4", "us_ein", "US", "12-3456789", nil),
				taxID("txi_3", "au_abn", "AU", "12345678912", status("unavailable")),
				taxID("txi_2", "gb_vat", "GB", "GB123456789", status("pending")),
				taxID("txi_1", "eu_vat", "DE", "DE123456789", status("verified")),
			}})
		case "GET /v1/customers/cus_gone/tax_ids", "DELETE /v1/customers/cus_123/tax_ids/txi_other":
			writeJSON(w, http.StatusNotFound, missing)
		case "POST /v1/customers/cus_123/tax_ids":
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
				"type": "invalid_request_error", "code": "tax_id_invalid", "param": "value",
				"message": "Invalid value for eu_vat.", "doc_url": "https://stripe.com/docs/error-codes/tax-id-invalid",
			}})
		case "DELETE /v1/customers/cus_123/tax_ids/txi_boom":
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]any{"type": "api_error", "message": "Something went wrong."}})
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			writeJSON(w, http.StatusNotFound, missing)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &recorder{next: srv.Client().Transport}
}

// TestTaxIDsResponses maps Stripe's answers: verification states, a
// missing tax ID or customer, a refused value, a server error.
func TestTaxIDsResponses(t *testing.T) {
	ctx := t.Context()
	srv, rec := fakeTaxStripe(t)
	p := newProvider(t, srv.URL, &http.Client{Transport: rec})

	t.Run("statuses are Stripe's verification statuses, and a type Stripe does not verify is unverified", func(t *testing.T) {
		ts, err := p.TaxIDs(ctx, "cus_123")
		if err != nil {
			t.Fatal(err)
		}
		created := time.Unix(1795000000, 0).UTC()
		want := []payments.TaxID{
			{ID: "txi_4", Type: "us_ein", Country: "US", Value: "12-3456789", Status: payments.TaxIDUnverified, Created: created},
			{ID: "txi_3", Type: "au_abn", Country: "AU", Value: "12345678912", Status: payments.TaxIDUnavailable, Created: created},
			{ID: "txi_2", Type: "gb_vat", Country: "GB", Value: "GB123456789", Status: payments.TaxIDPending, Created: created},
			{ID: "txi_1", Type: "eu_vat", Country: "DE", Value: "DE123456789", Status: payments.TaxIDVerified, Created: created},
		}
		if len(ts) != len(want) {
			t.Fatalf("tax ids = %+v, want %+v", ts, want)
		}
		for i := range want {
			if ts[i] != want[i] {
				t.Errorf("tax id %d = %+v, want %+v", i, ts[i], want[i])
			}
		}
	})

	t.Run("another customer's tax ID is not found", func(t *testing.T) {
		err := p.DeleteTaxID(ctx, "cus_123", "txi_other")
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("error = %v, want ENOTFOUND", err)
		}
	})

	t.Run("an unknown customer is not found", func(t *testing.T) {
		_, err := p.TaxIDs(ctx, "cus_gone")
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("error = %v, want ENOTFOUND", err)
		}
	})

	t.Run("a value Stripe refuses is a field error on the value, not Stripe's text", func(t *testing.T) {
		_, err := p.CreateTaxID(ctx, "cus_123", payments.TaxIDInput{Country: "DE", Type: "eu_vat", Value: "DE123456789"})
		be, ok := errors.AsType[*billing.Error](err)
		if !ok || be.Code != billing.EINVALID || be.Field != "value" {
			t.Fatalf("error = %v, want EINVALID on value", err)
		}
	})

	t.Run("a server error is internal and carries no secret", func(t *testing.T) {
		err := p.DeleteTaxID(ctx, "cus_123", "txi_boom")
		if billing.ErrorCode(err) != billing.EINTERNAL {
			t.Errorf("error = %v, want an internal error", err)
		}
		noSecret(t, err)
	})
}
