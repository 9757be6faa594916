package browsertest_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/infra/browsertest"
	"github.com/chromedp/chromedp"
)

// TestCreditsConfirmation walks Add Usage Credits in the browser at both
// widths: a form with two bad fields shows both messages and a summary
// that has focus; a good one asks "Charge … to Visa •••• 4242 (exp …)?"
// with Remaining Credits now and after; "Confirm and pay" turns busy at
// once, ignores a second submit, and charges once.
func TestCreditsConfirmation(t *testing.T) {
	setup(t)
	b := signIn(t, startServer(t))
	expYear := strconv.Itoa(time.Now().Year() + 3)
	b.open(t, "/billing/payment-methods/new?next=/billing/credits")
	fillCard(t, b, "4242 4242 4242 4242", expYear)
	if status, at := b.submit(t, submitButton); status != 200 || !strings.HasPrefix(at, "/billing/credits?method=pm_") {
		t.Fatalf("adding a card from Add Usage Credits led to %s with %d", at, status)
	}
	if got := b.str(t, `document.getElementById("method").selectedOptions[0].textContent`); !strings.HasPrefix(got, "Visa •••• 4242 (exp 12/"+expYear[2:]+")") {
		t.Errorf("the new card is not chosen: %q", got)
	}

	t.Run("every error at once, with a summary that takes focus and links to each field", func(t *testing.T) {
		b.open(t, "/billing/credits")
		b.fill(t, "amount", "lots")
		b.choose(t, "method", "", "Select Method")
		if status, _ := b.submit(t, submitButton); status != 422 {
			t.Errorf("the form answered %d, not 422", status)
		}
		if got := b.str(t, `document.activeElement?.id ?? ""`); got != "error-summary" {
			t.Errorf("focus is on #%s, not on the error summary", got)
		}
		links := b.str(t, `[...document.querySelectorAll("#error-summary a")].map(a => a.getAttribute("href") + " " + a.textContent).join(" | ")`)
		if links != "#amount Enter an amount like 25 or 25.50. | #method Select a payment method." {
			t.Errorf("the summary links %q", links)
		}
		b.do(t, "follow the summary's link to the method", chromedp.Click(chromedp.CSS(`#error-summary a[href="#method"]`)))
		if got := b.str(t, `document.activeElement?.id ?? ""`); got != "method" {
			t.Errorf("the summary's link leaves focus on #%s, not on the field", got)
		}
		for _, id := range []string{"amount", "method"} {
			if !b.visible(t, "#"+id+"-error") {
				t.Errorf("no visible message at #%s", id)
			}
			wantDangerBorder(t, b, id)
		}
		for _, w := range []int{desktopWidth, phoneWidth} {
			b.do(t, "resize", chromedp.EmulateViewport(int64(w), desktopHeight))
			screenshot(t, b, "add-usage-credits-errors", w, desktopHeight)
		}
		b.do(t, "use the desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))
	})

	t.Run("the confirmation asks with Remaining Credits now and after, at both widths", func(t *testing.T) {
		b.open(t, "/billing")
		remaining := b.text(t, "#remaining-credits")
		b.open(t, "/billing/credits")
		b.fill(t, "amount", "5000")
		b.choose(t, "method", "", "4242")
		if status, at := b.submit(t, submitButton); status != 200 || at != "/billing/credits" {
			t.Fatalf("the form led to %s with %d", at, status)
		}
		if q, want := b.text(t, "#confirm-question"), "Charge $5,000.00 to Visa •••• 4242 (exp 12/"+expYear[2:]+")?"; q != want {
			t.Errorf("the confirmation asks %q, want %q", q, want)
		}
		if now := b.text(t, "#remaining-now"); !strings.Contains(remaining, now) {
			t.Errorf("Remaining Credits now %q, the Overview says %q", now, remaining)
		}
		for _, w := range []int{desktopWidth, phoneWidth} {
			b.do(t, "resize", chromedp.EmulateViewport(int64(w), desktopHeight))
			screenshot(t, b, "add-usage-credits-confirm", w, desktopHeight)
			if o := run(t, b, "measure overflow", browsertest.MeasureOverflow()); o.Scrolls() {
				t.Errorf("at %d px the confirmation scrolls sideways: %v", w, o.Culprits)
			}
		}
		b.do(t, "use the desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))
		if status, at := b.submit(t, "a.btn-secondary"); status != 200 || at != "/billing/credits?amount=5000.00&method="+b.value(t, "method") {
			t.Errorf("Back led to %s with %d", at, status)
		}
		if b.value(t, "amount") != "5000.00" || !strings.Contains(b.str(t, `document.getElementById("method").selectedOptions[0].textContent`), "4242") {
			t.Errorf("Back lost the values: amount %q", b.value(t, "amount"))
		}
	})

	t.Run("Confirm and pay turns busy, ignores a second submit, and charges once", func(t *testing.T) {
		b.open(t, "/billing/credits")
		b.fill(t, "amount", "30")
		b.choose(t, "method", "", "4242")
		b.submit(t, submitButton)
		type state struct {
			Text      string `json:"text"`
			Busy      string `json:"busy"`
			Disabled  bool   `json:"disabled"`
			Prevented []bool `json:"prevented"`
		}
		raw := run(t, b, "press Confirm and pay twice", chromedp.Evaluate[string](`(async () => {
  const form = document.querySelector("form[data-busy]");
  const button = form.querySelector("button[type=submit]");
  const prevented = [];
  document.addEventListener("submit", e => prevented.push(e.defaultPrevented));
  form.requestSubmit(button);
  form.requestSubmit(button);
  await new Promise(r => setTimeout(r, 0));
  return JSON.stringify({text: button.textContent, busy: button.getAttribute("aria-busy"), disabled: button.disabled, prevented});
})()`, chromedp.EvalAwaitPromise))
		var s state
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if s.Text != "Charging…" || s.Busy != "true" || !s.Disabled {
			t.Errorf("while charging the button is %+v, want Charging…, aria-busy and disabled", s)
		}
		if len(s.Prevented) != 2 || s.Prevented[0] || !s.Prevented[1] {
			t.Errorf("submits prevented: %v, want the first sent and the second stopped", s.Prevented)
		}
		b.do(t, "wait for the result", chromedp.WaitVisible(".flash-success"))
		if flash := b.text(t, ".flash-success"); !strings.Contains(flash, "$30.00 was added to your balance") {
			t.Errorf("after paying: %q", flash)
		}
		b.open(t, "/billing/balance-history")
		if n := b.eval(t, `[...document.querySelectorAll("main tbody tr")].filter(r => r.innerText.includes("Add Credits") && r.innerText.includes("$30.00")).length`); n != "1" {
			t.Errorf("Balance History lists %s credits of $30.00, want 1", n)
		}
	})
}
