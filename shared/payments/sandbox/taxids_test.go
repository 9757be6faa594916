package sandbox_test

import (
	"testing"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
)

func (e *sandboxEnv) taxIDs(customer string) []payments.TaxID {
	e.t.Helper()
	ts, err := e.p.TaxIDs(e.t.Context(), customer)
	if err != nil {
		e.t.Fatalf("tax ids of %s: %v", customer, err)
	}
	return ts
}

func TestTaxIDs(t *testing.T) {
	german := payments.TaxIDInput{Country: "DE", Type: "eu_vat", Value: "de 123 456 789"}

	t.Run("a tax ID is added normalised and unverified, and listed newest first", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		if got := e.taxIDs(cus); len(got) != 0 {
			t.Fatalf("a new customer has tax ids %+v", got)
		}
		first, err := e.p.CreateTaxID(t.Context(), cus, german)
		if err != nil {
			t.Fatal(err)
		}
		want := payments.TaxID{ID: first.ID, Type: "eu_vat", Country: "DE", Value: "DE123456789", Status: payments.TaxIDUnverified, Created: first.Created}
		if first != want || first.Created.IsZero() || len(first.ID) < len("txi_sandbox_") || first.ID[:12] != "txi_sandbox_" {
			t.Errorf("created %+v, want %+v with a txi_sandbox_ id and a time", first, want)
		}
		second, err := e.p.CreateTaxID(t.Context(), cus, payments.TaxIDInput{Country: "US", Type: "us_ein", Value: "123456789"})
		if err != nil {
			t.Fatal(err)
		}
		got := e.taxIDs(cus)
		if len(got) != 2 || got[0] != second || got[1] != first {
			t.Errorf("listed %+v, want the EIN then the VAT number", got)
		}
	})

	t.Run("bad input is refused on its field and nothing is stored", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		_, err := e.p.CreateTaxID(t.Context(), cus, payments.TaxIDInput{Country: "DE", Type: "eu_vat", Value: "DE12345"})
		wantCode(t, err, billing.EINVALID, "value")
		_, err = e.p.CreateTaxID(t.Context(), cus, payments.TaxIDInput{Country: "US", Type: "eu_vat", Value: "DE123456789"})
		wantCode(t, err, billing.EINVALID, "type")
		if n := len(e.taxIDs(cus)); n != 0 {
			t.Errorf("%d tax ids stored", n)
		}
	})

	t.Run("the same tax ID twice is refused", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		if _, err := e.p.CreateTaxID(t.Context(), cus, german); err != nil {
			t.Fatal(err)
		}
		_, err := e.p.CreateTaxID(t.Context(), cus, payments.TaxIDInput{Country: "DE", Type: "eu_vat", Value: "DE123456789"})
		wantCode(t, err, billing.EINVALID, "value")
		if n := len(e.taxIDs(cus)); n != 1 {
			t.Errorf("%d tax ids stored, want 1", n)
		}
	})

	t.Run("an unknown customer is not found", func(t *testing.T) {
		e := newSandbox(t)
		_, err := e.p.CreateTaxID(t.Context(), "cus_nobody", german)
		wantCode(t, err, billing.ENOTFOUND, "")
		_, err = e.p.TaxIDs(t.Context(), "cus_nobody")
		wantCode(t, err, billing.ENOTFOUND, "")
	})

	t.Run("verify marks it verified, and delete removes it", func(t *testing.T) {
		e := newSandbox(t)
		cus := e.customer("acme")
		tid, err := e.p.CreateTaxID(t.Context(), cus, german)
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.p.VerifyTaxID(t.Context(), cus, tid.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != payments.TaxIDVerified || e.taxIDs(cus)[0].Status != payments.TaxIDVerified {
			t.Errorf("status after verify = %q, listed %+v", v.Status, e.taxIDs(cus))
		}
		if err := e.p.DeleteTaxID(t.Context(), cus, tid.ID); err != nil {
			t.Fatal(err)
		}
		if got := e.taxIDs(cus); len(got) != 0 {
			t.Errorf("after delete: %+v", got)
		}
		wantCode(t, e.p.DeleteTaxID(t.Context(), cus, tid.ID), billing.ENOTFOUND, "")
	})

	t.Run("another customer's tax ID is not found and stays unchanged", func(t *testing.T) {
		e := newSandbox(t)
		acme, globex := e.customer("acme"), e.customer("globex")
		theirs, err := e.p.CreateTaxID(t.Context(), globex, german)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.p.DeleteTaxID(t.Context(), acme, theirs.ID), billing.ENOTFOUND, "")
		_, err = e.p.VerifyTaxID(t.Context(), acme, theirs.ID)
		wantCode(t, err, billing.ENOTFOUND, "")
		if got := e.taxIDs(globex); len(got) != 1 || got[0] != theirs {
			t.Errorf("globex's tax ids = %+v, want %+v unchanged", got, theirs)
		}
		if got := e.taxIDs(acme); len(got) != 0 {
			t.Errorf("acme sees %+v", got)
		}
	})
}
