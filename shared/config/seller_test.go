package config_test

import (
	"reflect"
	"testing"

	"github.com/acme/billing/shared/config"
	"github.com/acme/billing/shared/invoicing"
)

func TestSeller(t *testing.T) {
	load := func(t *testing.T, env map[string]string) invoicing.Party {
		t.Helper()
		c, err := config.Load(func(k string) string { return env[k] }, true)
		if err != nil {
			t.Fatal(err)
		}
		return c.Seller
	}

	t.Run("unset, the seller is invoicing's default", func(t *testing.T) {
		if got := load(t, nil); !reflect.DeepEqual(got, invoicing.DefaultSeller()) {
			t.Errorf("seller %+v, want %+v", got, invoicing.DefaultSeller())
		}
	})

	t.Run("the SELLER_* variables set it, the address's lines split at | or newlines", func(t *testing.T) {
		want := invoicing.Party{Name: "Billing Co GmbH", Address: []string{"Unter den Linden 1", "10117 Berlin", "Germany"}, Email: "invoices@billing.test", TaxID: "VAT DE123456789"}
		for _, addr := range []string{"Unter den Linden 1 | 10117 Berlin | Germany", "Unter den Linden 1\n10117 Berlin\n\nGermany\n"} {
			got := load(t, map[string]string{config.EnvSellerName: " Billing Co GmbH ", config.EnvSellerAddress: addr,
				config.EnvSellerEmail: "invoices@billing.test", config.EnvSellerTaxID: "VAT DE123456789"})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("SELLER_ADDRESS %q: seller %+v, want %+v", addr, got, want)
			}
		}
	})
}
