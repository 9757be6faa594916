package browsertest_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSpendManagementBrowser uses Spend Management as the demo admin: the
// switch at the top disables its fields live, the chart's text is readable
// on a phone, and the blocked state and the threshold warning show.
func TestSpendManagementBrowser(t *testing.T) {
	setup(t)
	b := signIn(t, startServer(t))
	const path = "/billing/spend-management"
	disabled := func(id string) bool { return b.eval(t, `document.getElementById(`+js(id)+`).disabled`) == "true" }

	t.Run("the switch heads the form, and flipping it disables and enables the fields at once", func(t *testing.T) {
		b.open(t, path)
		if first := b.str(t, `document.querySelector("form.form input, form.form select")?.id ?? ""`); first != "enabled" {
			t.Errorf("the form's first control is #%s, not the switch", first)
		}
		b.setToggle(t, "enabled", false)
		for _, id := range []string{"daily_budget", "email_threshold", "webhook_url"} {
			if !disabled(id) {
				t.Errorf("#%s is enabled with the switch off", id)
			}
		}
		b.setToggle(t, "enabled", true)
		for _, id := range []string{"daily_budget", "email_threshold", "webhook_url"} {
			if disabled(id) {
				t.Errorf("#%s is disabled with the switch on", id)
			}
		}
	})

	t.Run("saved off, the fields keep their values and come back disabled", func(t *testing.T) {
		b.open(t, path)
		budget := b.value(t, "daily_budget")
		b.setToggle(t, "enabled", false)
		wantSuccess(t, b, path, "Spend Management is saved.")
		if !disabled("daily_budget") || b.value(t, "daily_budget") != budget {
			t.Errorf("after saving off, the budget is disabled %v with %q, want disabled with %q", disabled("daily_budget"), b.value(t, "daily_budget"), budget)
		}
		b.setToggle(t, "enabled", true)
		wantSuccess(t, b, path, "Spend Management is saved.")
		if got := b.value(t, "daily_budget"); got != budget {
			t.Errorf("turned on again, the budget is %q, want the saved %q", got, budget)
		}
	})

	t.Run("a threshold at the budget saves with a warning at the field", func(t *testing.T) {
		b.open(t, path)
		b.fill(t, "daily_budget", "30")
		b.fill(t, "email_threshold", "30")
		wantSuccess(t, b, path, "at or above your daily budget")
		if !b.visible(t, "#email_threshold-warning") {
			t.Error("no warning at the email threshold")
		}
	})

	t.Run("at 390 px the chart's axis and line labels are at least 11 px and inside the chart", func(t *testing.T) {
		b.do(t, "use the phone viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight))
		defer b.do(t, "use the desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))
		b.open(t, path)
		got := b.str(t, `(() => {
  const svg = document.querySelector("svg.usage-chart");
  if (!svg) return "no chart";
  const box = svg.getBoundingClientRect();
  const out = [];
  for (const t of svg.querySelectorAll("text")) {
    const px = parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a;
    const r = t.getBoundingClientRect();
    if (px < 11) out.push(JSON.stringify(t.textContent) + " is " + px.toFixed(1) + " px");
    if (r.left < box.left - 1 || r.right > box.right + 1) out.push(JSON.stringify(t.textContent) + " reaches past the chart");
  }
  return out.join("; ") || "ok";
})()`)
		if got != "ok" {
			t.Error(got)
		}
		labels := b.str(t, `[...document.querySelectorAll("svg.usage-chart .chart-line-label")].map(t => t.textContent).join("|")`)
		if labels != "Daily budget $30.00|Email threshold $30.00" {
			t.Errorf("line labels %q", labels)
		}
		if n := b.eval(t, `document.querySelectorAll("svg.usage-chart g.chart-day > title").length`); n != "30" {
			t.Errorf("%s days have a tooltip, want 30", n)
		}
	})

	t.Run("today's usage at the budget shows the blocked state at both widths", func(t *testing.T) {
		b.open(t, path)
		b.fill(t, "daily_budget", "0.01")
		b.fill(t, "email_threshold", "")
		wantSuccess(t, b, path, "Spend Management is saved.")
		if got := b.text(t, "#spend-blocked"); !strings.HasPrefix(got, "Blocked until 00:00 UTC — raise the budget") {
			t.Errorf("blocked state %q", got)
		}
		screenshot(t, b, "spend-management-blocked", desktopWidth, desktopHeight)
		b.do(t, "use the phone viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight))
		screenshot(t, b, "spend-management-blocked", phoneWidth, phoneHeight)
		b.do(t, "use the desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))
		b.do(t, "follow raise the budget", chromedp.Click(chromedp.CSS("#spend-blocked a")))
		if got := b.str(t, `location.hash`); got != "#daily_budget" {
			t.Errorf("“raise the budget” led to %q", got)
		}
	})
}

// TestOverviewBannersAndFormErrorsBrowser shows the Overview's
// auto-recharge banner and next invoice at both widths, and the Tax and
// Auto Recharge forms' errors all at once.
func TestOverviewBannersAndFormErrorsBrowser(t *testing.T) {
	setup(t)
	b := signIn(t, startServer(t))

	t.Run("Add Tax Registration shows every field's error at once, with a focused summary", func(t *testing.T) {
		b.open(t, "/billing/tax/new")
		wantErrorsAtOnce(t, b, "country", "type", "value")
	})

	t.Run("Auto Recharge shows every bad amount at once", func(t *testing.T) {
		b.open(t, "/billing/auto-recharge")
		b.setToggle(t, "enabled", true)
		b.fill(t, "threshold", "5000.01")
		b.fill(t, "amount", "abc")
		b.fill(t, "monthly_cap", "-1")
		wantErrorsAtOnce(t, b, "threshold", "amount", "monthly_cap")
		if got := b.text(t, "#threshold-error"); got != "$5,000.01 is above the $5,000 maximum." {
			t.Errorf("#threshold-error %q", got)
		}
	})

	t.Run("after a declined auto-recharge the Overview says why and when it tries again, with the next invoice", func(t *testing.T) {
		b.open(t, "/billing/payment-methods/new")
		fillCard(t, b, "4000 0000 0000 0341", strconv.Itoa(time.Now().Year()+3)) // declined
		wantSuccess(t, b, "/billing/payment-methods", "Your card is saved.")
		// The demo has a default card already: the declined one becomes it.
		if b.eval(t, `(() => {
  const row = [...document.querySelectorAll("main table tbody tr")].find(r => r.textContent.includes("0341"));
  const button = row?.querySelector("form button[type=submit]");
  if (!button) return false;
  button.id = "make-default";
  return true;
})()`) == "true" {
			b.submit(t, "#make-default")
		}
		if row := b.str(t, `[...document.querySelectorAll("main table tbody tr")].find(r => r.textContent.includes("0341"))?.innerText ?? ""`); !strings.Contains(row, "Default") {
			t.Fatalf("the declined card is not the default: %q", row)
		}
		b.open(t, "/billing/auto-recharge")
		b.setToggle(t, "enabled", true)
		b.fill(t, "threshold", "5000") // above the demo's credits: it charges at once
		b.fill(t, "amount", "25")
		wantSuccess(t, b, "/billing/auto-recharge", "the charge failed")
		b.open(t, "/billing")
		banner := b.text(t, "#recharge-banner")
		for _, want := range []string{"Auto-recharge failed", "Next try after", "Check your cards"} {
			if !strings.Contains(banner, want) {
				t.Errorf("banner %q does not say %q", banner, want)
			}
		}
		if got := b.text(t, "#next-invoice"); !strings.HasPrefix(got, "Next invoice on ") {
			t.Errorf("next invoice %q", got)
		}
		screenshot(t, b, "overview-recharge-banner", desktopWidth, desktopHeight)
		b.do(t, "use the phone viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight))
		if !b.visible(t, "#recharge-banner a.btn") {
			t.Error("the banner's button is not visible at 390 px")
		}
		screenshot(t, b, "overview-recharge-banner", phoneWidth, phoneHeight)
		b.do(t, "use the desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))
	})
}

// wantErrorsAtOnce submits the page's form and expects it back with 422,
// the error summary focused and linking to every field in ids, and each
// field's message visible next to it, the field marked invalid.
func wantErrorsAtOnce(t *testing.T, b *tab, ids ...string) {
	t.Helper()
	if status, _ := b.submit(t, submitButton); status != 422 {
		t.Errorf("the form answered %d, not 422", status)
	}
	if got := b.str(t, `document.activeElement?.id ?? ""`); got != "error-summary" {
		t.Errorf("focus is on #%s, not the error summary", got)
	}
	for _, id := range ids {
		if !b.visible(t, "#error-summary a[href='#"+id+"']") {
			t.Errorf("the summary has no link to #%s", id)
		}
		if !b.visible(t, "#"+id+"-error") {
			t.Errorf("no visible message at #%s", id)
		}
		if got := b.attr(t, id, "aria-invalid"); got != "true" {
			t.Errorf("#%s has aria-invalid=%q", id, got)
		}
		if b.attr(t, id, "type") != "checkbox" {
			wantDangerBorder(t, b, id)
		}
	}
}
