package browsertest_test

import (
	"strings"
	"testing"

	"github.com/acme/billing/infra/browsertest"
	"github.com/chromedp/chromedp"
)

// TestDocumentsAndLongValues: an invoice and a receipt fit a phone (their
// ids must not widen the page), and the tax registrations table fits a
// desktop with the longest type names and values, every row's action in
// view.
func TestDocumentsAndLongValues(t *testing.T) {
	setup(t)
	b := signIn(t, startServer(t))

	t.Run("an invoice and a receipt fit 390 px", func(t *testing.T) {
		docs := axePages(t, b)
		docs = docs[len(docs)-2:] // the invoice and the receipt
		b.do(t, "use the phone viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight))
		defer b.do(t, "use the desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))
		for _, d := range docs {
			if status := b.open(t, d.Path); status != 200 {
				t.Fatalf("%s answered %d", d.Path, status)
			}
			if o := run(t, b, "measure the page's width", browsertest.MeasureOverflow()); o.Scrolls() {
				t.Errorf("%s is %d px wide in a %d px viewport; reaching past the edge: %s", d.Name, o.ScrollWidth, o.InnerWidth, strings.Join(o.Culprits, "; "))
			}
		}
	})

	t.Run("the tax registrations fit 1280 px with the longest names and values, every action in view", func(t *testing.T) {
		for _, r := range []struct{ country, typ, value string }{{"JP", "jp_trn", "T1234567891234"}, {"ES", "es_cif", "A12345678"}} {
			b.open(t, "/billing/tax/new")
			b.choose(t, "country", r.country, "")
			b.choose(t, "type", r.typ, "")
			b.fill(t, "value", r.value)
			wantSuccess(t, b, "/billing/tax", r.value+" is added.")
		}
		b.open(t, "/billing/tax")
		bad := run(t, b, "measure the table", chromedp.Evaluate[[]string](`(() => {
  const out = [];
  const wrap = document.querySelector("#tax-ids")?.closest(".table-wrap");
  if (!wrap) return ["no tax registrations table"];
  if (wrap.scrollWidth > wrap.clientWidth + 1) out.push("the table is " + wrap.scrollWidth + " px in " + wrap.clientWidth + " px");
  const box = wrap.getBoundingClientRect();
  for (const b of wrap.querySelectorAll("tbody a, tbody button")) {
    const r = b.getBoundingClientRect();
    if (r.right > box.right + 1 || r.left < box.left - 1 || !b.checkVisibility()) out.push((b.textContent.trim() || b.getAttribute("aria-label")) + " is out of view");
  }
  return out;
})()`))
		for _, m := range bad {
			t.Error(m)
		}
	})
}
