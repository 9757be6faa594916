package payments_test

import (
	"testing"

	"github.com/acme/billing/shared/store"
)

// TestDefaultCardSummary: wherever our pages change the default card, the
// organisation's profile records it for the Overview.
func TestDefaultCardSummary(t *testing.T) {
	ctx := t.Context()
	summary := func(e *serviceEnv, org string) store.DefaultCard {
		t.Helper()
		o, err := e.store.ReadOverview(ctx, org, start)
		if err != nil {
			t.Fatal(err)
		}
		return o.DefaultCard
	}
	e := newService(t, "acme", "globex")
	if c := summary(e, "acme"); c.Known {
		t.Fatalf("before any card: %+v, want nothing known", c)
	}
	first := e.addCard("acme", "4242424242424242")
	visa := store.DefaultCard{Known: true, ID: first.ID, Label: "Visa •••• 4242", Last4: "4242", ExpMonth: 4, ExpYear: 2030}
	if _, err := e.svc.CardAdded(ctx, "acme", first.ID); err != nil {
		t.Fatal(err)
	}
	if c := summary(e, "acme"); c != visa {
		t.Errorf("after the first card was added: %+v, want %+v", c, visa)
	}
	second := e.addCard("acme", "5555555555554444")
	mastercard := store.DefaultCard{Known: true, ID: second.ID, Label: "Mastercard •••• 4444", Last4: "4444", ExpMonth: 4, ExpYear: 2030}
	if _, err := e.svc.CardAdded(ctx, "acme", second.ID); err != nil {
		t.Fatal(err)
	}
	if c := summary(e, "acme"); c != visa {
		t.Errorf("after a second card was added: %+v, want the first still, %+v", c, visa)
	}
	if err := e.svc.SetDefaultCard(ctx, "acme", second.ID); err != nil {
		t.Fatal(err)
	}
	if c := summary(e, "acme"); c != mastercard {
		t.Errorf("after the second was made the default: %+v, want %+v", c, mastercard)
	}
	if err := e.svc.DeleteCard(ctx, "acme", first.ID); err != nil {
		t.Fatal(err)
	}
	if c := summary(e, "acme"); c != mastercard {
		t.Errorf("after a card not the default was deleted: %+v, want %+v", c, mastercard)
	}
	if err := e.svc.DeleteCard(ctx, "acme", second.ID); err != nil {
		t.Fatal(err)
	}
	if c := summary(e, "acme"); !c.None() {
		t.Errorf("after the default was deleted: %+v, want none", c)
	}
	if c := summary(e, "globex"); c.Known {
		t.Errorf("globex: %+v, want nothing known", c)
	}
}
