package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestCreditsFormPresets: preset amounts fill the form, and a card added
// from the form comes back chosen; neither changes anything, and values
// that are not the organisation's own or not a valid top-up are ignored.
func TestCreditsFormPresets(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	admin := e.signIn("globex", "you@globex.test", "admin")
	other := e.signIn("initech", "you@initech.test", "admin")
	other.addCard(t, "Init Tech", "4242424242424242", "12", expYear)
	otherCard := other.cards(t)[0].id
	amountValue := regexp.MustCompile(`name="amount"[^>]*value="([^"]*)"`)
	selected := regexp.MustCompile(`<option value="([^"]+)" selected>`)

	page := admin.get("/billing/credits")
	for _, d := range []string{"25", "50", "100", "500"} {
		if !strings.Contains(page.body, `href="/billing/credits?amount=`+d+`"`) {
			t.Errorf("no preset of $%s", d)
		}
	}
	for q, want := range map[string]string{"?amount=50": "50.00", "?amount=4.99": "", "?amount=abc": "", "?amount=5000.01": ""} {
		got := ""
		if m := amountValue.FindStringSubmatch(admin.get("/billing/credits" + q).body); m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("%s fills in %q, want %q", q, got, want)
		}
	}

	page = admin.redirected(t, admin.post(t, "/billing/payment-methods/new", func() url.Values {
		v := cardForm("Jenny Rosen", "4242424242424242", "12", expYear, "123")
		v.Set("next", "/billing/credits")
		return v
	}()), "/billing/credits?method=", true)
	card := admin.cards(t)[0].id
	if m := selected.FindStringSubmatch(page.body); m == nil || m[1] != card {
		t.Errorf("after adding a card from the form, %v is chosen, want the new card %s", m, card)
	}
	if m := selected.FindStringSubmatch(admin.get("/billing/credits?method=" + otherCard).body); m != nil && m[1] == otherCard {
		t.Error("another organisation's card is offered")
	}
}
