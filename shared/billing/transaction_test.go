package billing_test

import (
	"strings"
	"testing"

	"github.com/acme/billing/shared/billing"
)

func TestNewTransactionValidate(t *testing.T) {
	valid := []struct {
		name string
		tx   billing.NewTransaction
	}{
		{"a credit with a description is valid", billing.NewTransaction{Description: billing.DescFreeTrial, Amount: usd(5)}},
		{"a debit is valid", billing.NewTransaction{Description: billing.DescAppliedCredit, Amount: usd(-3)}},
		{"one micro-dollar is valid", billing.NewTransaction{Description: "Adjustment", Amount: 1}},
		{"a description of 200 multi-byte characters is valid", billing.NewTransaction{Description: strings.Repeat("é", 200), Amount: 1}},
		{"a key of 200 characters is valid", billing.NewTransaction{Description: "Top-up", Amount: usd(25), Key: strings.Repeat("k", 200)}},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.tx.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}

	invalid := []struct {
		name  string
		tx    billing.NewTransaction
		field string
	}{
		{"an empty description is invalid", billing.NewTransaction{Amount: usd(5)}, "description"},
		{"a description of 201 characters is invalid", billing.NewTransaction{Description: strings.Repeat("é", 201), Amount: usd(5)}, "description"},
		{"a zero amount is invalid", billing.NewTransaction{Description: "Top-up"}, "amount"},
		{"a key of 201 characters is invalid", billing.NewTransaction{Description: "Top-up", Amount: usd(25), Key: strings.Repeat("k", 201)}, "key"},
		{"the description is checked before the amount", billing.NewTransaction{}, "description"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, tt.tx.Validate(), tt.field)
		})
	}
}
