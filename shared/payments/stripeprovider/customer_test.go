package stripeprovider_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
)

func TestUpdateCustomer(t *testing.T) {
	ctx := context.Background()
	addr := billing.Address{CompanyName: "Acme GmbH", Address1: "Unter den Linden 1", Address2: "3. OG", City: "Berlin",
		PostalCode: "10117", Region: "Berlin", Country: "DE", PONumber: "PO-7"}

	tests := []struct {
		name   string
		update payments.CustomerUpdate
		want   url.Values
	}{
		{
			"the address sends the name, the whole address and the PO number as the one invoice custom field",
			payments.CustomerUpdate{Address: &addr},
			url.Values{
				"name": {"Acme GmbH"}, "address[line1]": {"Unter den Linden 1"}, "address[line2]": {"3. OG"}, "address[city]": {"Berlin"},
				"address[postal_code]": {"10117"}, "address[state]": {"Berlin"}, "address[country]": {"DE"},
				"invoice_settings[custom_fields][0][name]": {"PO number"}, "invoice_settings[custom_fields][0][value]": {"PO-7"},
			},
		},
		{
			"an empty PO number clears the custom fields, and empty lines are cleared too",
			payments.CustomerUpdate{Address: &billing.Address{CompanyName: "Acme GmbH", Address1: "Unter den Linden 1", City: "Berlin", PostalCode: "10117", Country: "DE"}},
			url.Values{
				"name": {"Acme GmbH"}, "address[line1]": {"Unter den Linden 1"}, "address[line2]": {""}, "address[city]": {"Berlin"},
				"address[postal_code]": {"10117"}, "address[state]": {""}, "address[country]": {"DE"},
				"invoice_settings[custom_fields]": {""},
			},
		},
		{
			"the email alone sends only the email",
			payments.CustomerUpdate{Email: "ap@acme.test"},
			url.Values{"email": {"ap@acme.test"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, rec := newMockProvider(t)
			if err := p.UpdateCustomer(ctx, "cus_123", tt.update); err != nil {
				t.Fatal(err)
			}
			reqs := rec.requests()
			wantAccepted(t, reqs)
			if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Path != "/v1/customers/cus_123" {
				t.Fatalf("requests %+v, want one POST /v1/customers/cus_123", reqs)
			}
			if !reflect.DeepEqual(reqs[0].Form, tt.want) {
				t.Errorf("form\n%v\nwant\n%v", reqs[0].Form, tt.want)
			}
		})
	}

	t.Run("a customer Stripe does not know is not found", func(t *testing.T) {
		p, _ := newFakeStripe(t, map[string]reply{"POST /v1/customers/cus_missing": {http.StatusNotFound, "customer_missing.json"}})
		err := p.UpdateCustomer(ctx, "cus_missing", payments.CustomerUpdate{Email: "ap@acme.test"})
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("error %v, want ENOTFOUND", err)
		}
	})

	t.Run("any other failure is an internal error without the key", func(t *testing.T) {
		p, _ := newFakeStripe(t, map[string]reply{"POST /v1/customers/cus_123": {http.StatusInternalServerError, "api_error.json"}})
		err := p.UpdateCustomer(ctx, "cus_123", payments.CustomerUpdate{Email: "ap@acme.test"})
		if billing.ErrorCode(err) != billing.EINTERNAL {
			t.Errorf("error %v, want an internal error", err)
		}
		noSecret(t, err)
	})
}
