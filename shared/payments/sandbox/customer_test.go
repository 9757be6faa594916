package sandbox_test

import (
	"reflect"
	"testing"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
)

func TestUpdateCustomer(t *testing.T) {
	addr := billing.Address{CompanyName: "Acme GmbH", Address1: "Unter den Linden 1", Address2: "3. OG", City: "Berlin",
		PostalCode: "10117", Region: "Berlin", Country: "DE", PONumber: "PO-7"}

	t.Run("a new customer has what it was created with", func(t *testing.T) {
		e := newSandbox(t)
		id := e.customer("acme")
		c, err := e.p.Customer(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		want := sandbox.Customer{ID: id, OrgID: "acme", Name: "Org acme", Email: "billing@acme.test", InvoiceFields: map[string]string{}}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("customer %+v, want %+v", c, want)
		}
	})

	t.Run("the address sets the name, the postal address and the PO number field; the email is kept", func(t *testing.T) {
		e := newSandbox(t)
		id := e.customer("acme")
		if err := e.p.UpdateCustomer(t.Context(), id, payments.CustomerUpdate{Address: &addr}); err != nil {
			t.Fatal(err)
		}
		c, err := e.p.Customer(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		want := sandbox.Customer{ID: id, OrgID: "acme", Name: "Acme GmbH", Email: "billing@acme.test",
			Address:       sandbox.Address{Line1: "Unter den Linden 1", Line2: "3. OG", City: "Berlin", PostalCode: "10117", State: "Berlin", Country: "DE"},
			InvoiceFields: map[string]string{payments.POField: "PO-7"}}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("customer %+v, want %+v", c, want)
		}
	})

	t.Run("the email is set alone, and an empty PO number removes the field", func(t *testing.T) {
		e := newSandbox(t)
		id := e.customer("acme")
		if err := e.p.UpdateCustomer(t.Context(), id, payments.CustomerUpdate{Address: &addr}); err != nil {
			t.Fatal(err)
		}
		if err := e.p.UpdateCustomer(t.Context(), id, payments.CustomerUpdate{Email: "ap@acme.test"}); err != nil {
			t.Fatal(err)
		}
		noPO := addr
		noPO.PONumber = ""
		if err := e.p.UpdateCustomer(t.Context(), id, payments.CustomerUpdate{Address: &noPO}); err != nil {
			t.Fatal(err)
		}
		c, err := e.p.Customer(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Email != "ap@acme.test" || c.Name != "Acme GmbH" || len(c.InvoiceFields) != 0 {
			t.Errorf("customer %+v, want the new email, the name kept and no invoice fields", c)
		}
	})

	t.Run("the card calls, which rewrite the customer, keep what was set", func(t *testing.T) {
		e := newSandbox(t)
		id := e.customer("acme")
		if err := e.p.UpdateCustomer(t.Context(), id, payments.CustomerUpdate{Address: &addr, Email: "ap@acme.test"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.p.AddCard(t.Context(), id, sandbox.NewCard{Number: cardOK, ExpMonth: 12, ExpYear: start.Year() + 2, CVC: "123", Name: "A"}); err != nil {
			t.Fatal(err)
		}
		c, err := e.p.Customer(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Email != "ap@acme.test" || c.Address.City != "Berlin" || c.InvoiceFields[payments.POField] != "PO-7" {
			t.Errorf("customer %+v after adding a card", c)
		}
	})

	t.Run("an unknown customer is not found", func(t *testing.T) {
		e := newSandbox(t)
		err := e.p.UpdateCustomer(t.Context(), "cus_sandbox_nobody", payments.CustomerUpdate{Email: "x@y.test"})
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("error %v, want ENOTFOUND", err)
		}
		if _, err := e.p.Customer(t.Context(), "cus_sandbox_nobody"); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("Customer: error %v, want ENOTFOUND", err)
		}
	})
}
