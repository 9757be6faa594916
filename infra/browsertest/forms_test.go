package browsertest_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// submitButton is the submit button of a page's form (the top bar's
// "Sign out" is a form too).
const submitButton = "form.form button[type=submit]"

// TestForms fills in every form of the Billing section in the browser, as
// the demo admin of acme, with bad input first (a message at the field,
// nothing saved) and then good input (a success message, the change shown).
// The subtests run in order; acme starts with the demo's two cards, so the
// one about having no card signs in to an organisation of its own.
func TestForms(t *testing.T) {
	setup(t)
	srv := startServer(t)
	b := signIn(t, srv)
	expYear := strconv.Itoa(time.Now().Year() + 3)

	t.Run("Auto Recharge cannot be turned on without a card", func(t *testing.T) {
		b := signInTo(t, srv, "cardless", "cardless")
		b.open(t, "/billing/auto-recharge")
		b.setToggle(t, "enabled", true)
		b.fill(t, "threshold", "10")
		b.fill(t, "amount", "50")
		wantFieldError(t, b, "enabled", "Add a card")
		b.open(t, "/billing/auto-recharge")
		if b.checked(t, "enabled") {
			t.Error("auto-recharge is on after the error")
		}
	})

	t.Run("Add New Credit Card shows an error at the number for 1234", func(t *testing.T) {
		b.open(t, "/billing/payment-methods/new")
		fillCard(t, b, "1234", expYear)
		wantFieldError(t, b, "number", "4242 4242 4242 4242")
		if got := b.value(t, "name"); got != "Ada Lovelace" {
			t.Errorf("the name on card is %q after the error, not what was typed", got)
		}
	})

	t.Run("Add New Credit Card saves the sandbox card 4242 4242 4242 4242", func(t *testing.T) {
		b.open(t, "/billing/payment-methods/new")
		fillCard(t, b, "4242 4242 4242 4242", expYear)
		wantSuccess(t, b, "/billing/payment-methods", "Your card is saved.")
		if cards := b.text(t, "main table"); strings.Count(cards, "•••• 4242") != 2 {
			t.Errorf("the new card is not listed beside the demo's Visa •••• 4242:\n%s", cards)
		}
	})

	t.Run("Add Usage Credits with a card", func(t *testing.T) {
		checkPage(t, b, page{Name: "add-usage-credits-with-card", Path: "/billing/credits"})
	})

	t.Run("Add Usage Credits asks, then adds $25 with the card", func(t *testing.T) {
		b.open(t, "/billing/credits")
		b.fill(t, "amount", "25")
		b.choose(t, "method", "", "4242")
		if status, at := b.submit(t, submitButton); status != 200 || at != "/billing/credits" {
			t.Errorf("the form led to %s with %d, want the confirmation at /billing/credits", at, status)
		}
		if q := b.text(t, "#confirm-question"); !strings.HasPrefix(q, "Charge $25.00 to Visa •••• 4242 (exp 12/") {
			t.Fatalf("the confirmation asks %q", q)
		}
		wantSuccess(t, b, "/billing/credits", "$25.00 was added to your balance")
	})

	t.Run("Add Usage Credits shows an error at the amount for $4.99", func(t *testing.T) {
		b.open(t, "/billing/credits")
		b.fill(t, "amount", "4.99")
		b.choose(t, "method", "", "4242")
		wantFieldError(t, b, "amount", "$4.99 is below the $5.00 minimum")
		if got := b.value(t, "amount"); got != "4.99" {
			t.Errorf("the amount is %q after the error, not what was typed", got)
		}
	})

	t.Run("Auto Recharge turns on with the card", func(t *testing.T) {
		b.open(t, "/billing/auto-recharge")
		b.setToggle(t, "enabled", true)
		b.fill(t, "threshold", "10")
		b.fill(t, "amount", "50")
		wantSuccess(t, b, "/billing/auto-recharge", "Auto-recharge is on.")
		if !b.checked(t, "enabled") || b.value(t, "amount") != "50.00" {
			t.Errorf("the saved settings show on=%v, amount %q", b.checked(t, "enabled"), b.value(t, "amount"))
		}
	})

	t.Run("Spend Management shows an error at a budget that is not an amount", func(t *testing.T) {
		b.open(t, "/billing/spend-management")
		b.setToggle(t, "enabled", true)
		b.fill(t, "daily_budget", "lots")
		wantFieldError(t, b, "daily_budget", "amount")
	})

	t.Run("Spend Management's webhook: the secret is revealed with a working Copy button, and rotating asks first", func(t *testing.T) {
		b.open(t, "/billing/spend-management")
		b.fill(t, "webhook_url", "https://127.0.0.1:9/hooks/billing")
		wantSuccess(t, b, "/billing/spend-management", "reveal it under Webhook")
		if b.visible(t, "#signing-secret") {
			t.Error("the secret shows before Reveal signing secret is pressed")
		}
		b.do(t, "reveal the secret", chromedp.Click(chromedp.CSS("details.secret summary")))
		secret := b.text(t, "#signing-secret")
		if !strings.HasPrefix(secret, "whsec_") || !b.visible(t, "#signing-secret") {
			t.Errorf("the revealed secret is %q", secret)
		}
		if !b.visible(t, "button[data-copy]") {
			t.Error("the Copy button stays hidden: copy.js did not run under the Content-Security-Policy")
		}
		if b.visible(t, "details.confirm form") {
			t.Error("Rotate now shows before Rotate signing secret is pressed")
		}
		b.do(t, "ask to rotate", chromedp.Click(chromedp.CSS("details.confirm summary")))
		if _, at := b.submit(t, "details.confirm form button[type=submit]"); at != "/billing/spend-management" {
			t.Errorf("rotating led to %s", at)
		}
		if flash := b.text(t, ".flash-success"); !strings.Contains(flash, "The signing secret is rotated.") {
			t.Errorf("after rotating: %q", flash)
		}
		b.do(t, "reveal the new secret", chromedp.Click(chromedp.CSS("details.secret summary")))
		if got := b.text(t, "#signing-secret"); got == secret || !strings.HasPrefix(got, "whsec_") {
			t.Errorf("after rotating the page holds %q, want a new secret", got)
		}
	})

	t.Run("Spend Management saves a daily budget and an email threshold", func(t *testing.T) {
		b.open(t, "/billing/spend-management")
		b.setToggle(t, "enabled", true)
		b.fill(t, "daily_budget", "100")
		b.fill(t, "email_threshold", "50")
		wantSuccess(t, b, "/billing/spend-management", "Spend Management is saved.")
		if got := b.value(t, "daily_budget"); got != "100.00" {
			t.Errorf("the saved budget shows as %q", got)
		}
	})

	t.Run("Invoice Address shows an error at a missing city", func(t *testing.T) {
		b.open(t, "/billing/address")
		b.fill(t, "city", "")
		wantFieldError(t, b, "city", "city")
		b.open(t, "/billing/address")
		if got := b.value(t, "city"); got != "San Francisco" {
			t.Errorf("the saved city is %q after the error, not the demo's San Francisco", got)
		}
	})

	t.Run("Invoice Address saves a complete address", func(t *testing.T) {
		b.open(t, "/billing/address")
		b.fill(t, "city", "Oakland")
		b.fill(t, "postal_code", "94607")
		wantSuccess(t, b, "/billing/address", "Your invoice address is saved.")
		if got := b.value(t, "city"); got != "Oakland" {
			t.Errorf("the saved city shows as %q", got)
		}
	})

	t.Run("Invoice Notifications shows an error at an email without @", func(t *testing.T) {
		b.open(t, "/billing/notifications")
		saved := b.value(t, "email")
		b.fill(t, "email", "billing.acme.test")
		wantFieldError(t, b, "email", "email")
		b.open(t, "/billing/notifications")
		if got := b.value(t, "email"); got != saved {
			t.Errorf("the billing email is %q after the error, not %q as before", got, saved)
		}
	})

	t.Run("Invoice Notifications saves a billing email", func(t *testing.T) {
		b.open(t, "/billing/notifications")
		b.fill(t, "email", "billing@acme.test")
		wantSuccess(t, b, "/billing/notifications", "will be sent to billing@acme.test")
	})

	t.Run("Tax Settings shows an error at a VAT number that is not one", func(t *testing.T) {
		b.open(t, "/billing/tax/new")
		b.choose(t, "country", "DE", "")
		b.choose(t, "type", "eu_vat", "")
		b.fill(t, "value", "DE12")
		wantFieldError(t, b, "value", "DE123456789")
	})

	t.Run("Tax Settings lists the added VAT number DE123456789", func(t *testing.T) {
		b.open(t, "/billing/tax/new")
		b.choose(t, "country", "DE", "")
		b.choose(t, "type", "eu_vat", "")
		b.fill(t, "value", "DE123456789")
		wantSuccess(t, b, "/billing/tax", "DE123456789 is added.")
		if ids := b.text(t, "#tax-ids"); !strings.Contains(ids, "DE123456789") {
			t.Errorf("the tax registrations do not list DE123456789:\n%s", ids)
		}
	})
}

// fillCard fills the sandbox card form with number.
func fillCard(t *testing.T, b *tab, number, expYear string) {
	t.Helper()
	b.fill(t, "name", "Ada Lovelace")
	b.fill(t, "number", number)
	b.fill(t, "exp_month", "12")
	b.fill(t, "exp_year", expYear)
	b.fill(t, "cvc", "123")
}

// wantFieldError submits the page's form and expects it back with 422, a
// visible message containing want next to the field id, the field marked
// invalid and described by the message, and no success message.
func wantFieldError(t *testing.T, b *tab, id, want string) {
	t.Helper()
	status, _ := b.submit(t, submitButton)
	if status != 422 {
		t.Errorf("the form answered %d, not 422", status)
	}
	msg := b.text(t, "#"+id+"-error")
	t.Logf("at #%s: %q", id, msg)
	if !strings.Contains(msg, want) {
		t.Errorf("the message at #%s is %q; want it to mention %q", id, msg, want)
	}
	if !b.visible(t, "#"+id+"-error") {
		t.Errorf("the message at #%s is not visible", id)
	}
	if got := b.attr(t, id, "aria-invalid"); got != "true" {
		t.Errorf("#%s has aria-invalid=%q", id, got)
	}
	// A text field or menu has the danger colour's border (a base input
	// rule of higher specificity once hid it); a switch shows its message.
	if b.attr(t, id, "type") != "checkbox" {
		wantDangerBorder(t, b, id)
	}
	if got := b.attr(t, id, "aria-describedby"); !strings.Contains(got, id+"-error") {
		t.Errorf("#%s is not described by its message (aria-describedby=%q)", id, got)
	}
	if flash := b.text(t, ".flash-success"); flash != "" {
		t.Errorf("a success message shows after the error: %q", flash)
	}
}

// wantDangerBorder expects the field id to have the danger colour's border.
func wantDangerBorder(t *testing.T, b *tab, id string) {
	t.Helper()
	if got := b.str(t, `(() => {
		const probe = document.createElement("span");
		probe.style.color = "var(--danger)";
		document.body.append(probe);
		const danger = getComputedStyle(probe).color;
		probe.remove();
		const border = getComputedStyle(document.getElementById(`+js(id)+`)).borderTopColor;
		return border === danger ? "danger" : border + ", not " + danger;
	})()`); got != "danger" {
		t.Errorf("#%s's border is %s: an invalid field must have a red border", id, got)
	}
}

// wantSuccess submits the page's form and expects to land on path with a
// visible success message containing want, and no field errors.
func wantSuccess(t *testing.T, b *tab, path, want string) {
	t.Helper()
	status, at := b.submit(t, submitButton)
	if status != 200 || at != path {
		t.Errorf("the form led to %s with %d; want %s with 200", at, status, path)
	}
	flash := b.text(t, ".flash-success")
	t.Logf("on %s: %q", at, flash)
	if !strings.Contains(flash, want) || !b.visible(t, ".flash-success") {
		t.Errorf("the success message is %q; want it to contain %q (errors on the page: %q)", flash, want, b.text(t, ".flash-error, .field-error"))
	}
	if errs := b.text(t, ".field-error:not(:empty)"); errs != "" {
		t.Errorf("a field error shows after success: %q", errs)
	}
}
