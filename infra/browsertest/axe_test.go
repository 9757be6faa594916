package browsertest_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme/billing/infra/browsertest"
	"github.com/chromedp/chromedp"
)

// axeTags are the rules axe-core runs: WCAG 2.0 and 2.1, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// axeViolation is one element that breaks one axe-core rule.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Target  string `json:"target"`
	Help    string `json:"help"`
	Summary string `json:"summary"`
}

func (v axeViolation) String() string {
	return fmt.Sprintf("%s (%s) at %s: %s\n    %s", v.ID, v.Impact, v.Target, v.Help, strings.ReplaceAll(v.Summary, "\n", "\n    "))
}

// axeScript returns axe-core's axe.min.js, as `make test` installs it
// with npm ci from infra/browsertest/package-lock.json, and the version
// that lock file pins. Without it the test fails where the browser tests
// are required and is skipped elsewhere, as a missing Chromium is.
func axeScript(t *testing.T) (src, version string) {
	t.Helper()
	root, err := browsertest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "infra", "browsertest")
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if err := json.Unmarshal(lock, &l); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	version = l.Packages["node_modules/axe-core"].Version
	if version == "" {
		t.Fatal("package-lock.json pins no axe-core")
	}
	js, err := os.ReadFile(filepath.Join(dir, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		msg := fmt.Sprintf("axe-core is not installed (%v): run make test, or npm ci in infra/browsertest", err)
		if os.Getenv("CI") != "" || os.Getenv("BROWSER_TESTS") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return string(js), version
}

// axePages are the pages axe-core checks: every page of the navigation and
// the forms reached from it (sitePages), and the invoice and the receipt
// the Invoices page links to first.
func axePages(t *testing.T, b *tab) []page {
	t.Helper()
	ps := sitePages()
	if status := b.open(t, "/billing/invoices"); status != 200 {
		t.Fatalf("/billing/invoices answered %d", status)
	}
	for _, doc := range []struct{ name, prefix string }{{"invoice", "/billing/invoices/in_"}, {"receipt", "/billing/invoices/pi_"}} {
		href := b.str(t, `document.querySelector('main a[href^="`+doc.prefix+`"]')?.getAttribute("href") ?? ""`)
		if href == "" {
			t.Fatalf("the Invoices page links to no %s (%s…)", doc.name, doc.prefix)
		}
		ps = append(ps, page{Name: doc.name, Path: href})
	}
	return ps
}

// TestAxe runs axe-core in every page at 1280 and 390 px wide and fails
// for each violation of WCAG 2.1 A and AA it reports.
func TestAxe(t *testing.T) {
	setup(t)
	src, version := axeScript(t)
	b := signIn(t, startServer(t))
	tags, _ := json.Marshal(axeTags)
	expr := `axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}, resultTypes: ["violations"]})
  .then(r => r.violations.flatMap(v => v.nodes.map(n => ({
    id: v.id, impact: v.impact ?? "", help: v.help, target: n.target.join(" "), summary: n.failureSummary ?? ""}))))`
	t.Run("axe-core reports a violation planted in a page", func(t *testing.T) {
		b.open(t, "/billing")
		b.do(t, "inject axe-core", chromedp.Evaluate[chromedp.Void](src))
		b.do(t, "plant an image without a text alternative", chromedp.Evaluate[chromedp.Void](
			`document.querySelector("main").append(Object.assign(document.createElement("img"), {src: "/static/favicon.svg", id: "planted"}))`))
		vs := runAxe(t, b, expr)
		if len(vs) != 1 || vs[0].ID != "image-alt" || vs[0].Target != "#planted" {
			t.Errorf("axe-core reported %v, not the one image-alt at #planted", vs)
		}
	})
	check := func(t *testing.T, what string) {
		t.Helper()
		b.do(t, "inject axe-core", chromedp.Evaluate[chromedp.Void](src))
		if got := b.str(t, `axe.version`); got != version {
			t.Fatalf("axe-core %s is installed, package-lock.json pins %s: run npm ci in infra/browsertest", got, version)
		}
		for _, w := range []struct{ width, height int64 }{{desktopWidth, desktopHeight}, {phoneWidth, phoneHeight}} {
			b.do(t, "set the viewport", chromedp.EmulateViewport(w.width, w.height))
			for _, v := range runAxe(t, b, expr) {
				t.Errorf("%s at %d px: %s", what, w.width, v)
			}
		}
		b.do(t, "use the desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))
	}
	for _, p := range axePages(t, b) {
		t.Run(p.Name, func(t *testing.T) {
			if status := b.open(t, p.Path); status != 200 {
				t.Fatalf("%s answered %d", p.Path, status)
			}
			check(t, p.Path)
		})
	}
	// The states a form leads to: its errors, and the confirmations before
	// money moves.
	for _, s := range []struct {
		name, path, button string
		fill               func(t *testing.T)
		status             int64
	}{
		{"add-usage-credits-errors", "/billing/credits", submitButton, func(t *testing.T) {
			b.fill(t, "amount", "lots")
			b.choose(t, "method", "", "Select Method")
		}, 422},
		{"add-usage-credits-confirmation", "/billing/credits", submitButton, func(t *testing.T) {
			b.fill(t, "amount", "25")
			b.choose(t, "method", "", "4242")
		}, 200},
		{"pay-now-confirmation", "/billing/invoices", "#payments-due-table button[type=submit]", func(*testing.T) {}, 200},
		{"invoice-address-errors", "/billing/address", submitButton, func(t *testing.T) {
			b.fill(t, "city", "")
			b.fill(t, "postal_code", "")
		}, 422},
		{"add-tax-registration-errors", "/billing/tax/new", submitButton, func(t *testing.T) {
			b.choose(t, "country", "DE", "")
			b.choose(t, "type", "eu_vat", "")
			b.fill(t, "value", "DE12")
		}, 422},
	} {
		t.Run(s.name, func(t *testing.T) {
			b.open(t, s.path)
			s.fill(t)
			if status, _ := b.submit(t, s.button); status != s.status {
				t.Fatalf("the form on %s answered %d, not %d", s.path, status, s.status)
			}
			check(t, s.name)
		})
	}

	t.Run("the Overview's two Modify links have distinct accessible names", func(t *testing.T) {
		b.open(t, "/billing")
		b.do(t, "inject axe-core", chromedp.Evaluate[chromedp.Void](src))
		names := run(t, b, "name the Modify links", chromedp.Evaluate[[]string](
			`(() => {
  axe.setup(document);
  try {
    return [...document.querySelectorAll("main a")].filter(a => a.textContent.trim() === "Modify").map(a => axe.commons.text.accessibleText(a));
  } finally {
    axe.teardown();
  }
})()`))
		t.Logf("the Modify links are named %q", names)
		if len(names) != 2 || names[0] == names[1] || !strings.HasPrefix(names[0], "Modify") || !strings.HasPrefix(names[1], "Modify") {
			t.Errorf("the Modify links are named %q, want two names that differ and start with Modify", names)
		}
	})
}

// runAxe runs axe-core in the tab's page and returns its violations.
func runAxe(t *testing.T, b *tab, expr string) []axeViolation {
	t.Helper()
	return run(t, b, "run axe-core", chromedp.Evaluate[[]axeViolation](expr, chromedp.EvalAwaitPromise))
}
