package browsertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/infra/browsertest"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds one browser step (a navigation, a click, a check), so
// that a missing element fails the test instead of hanging it.
const stepTimeout = 20 * time.Second

// suite is what every browser test shares: the built local server, one
// Chromium, and the screenshot folder. It is made once, by the first test
// that needs it, and torn down by TestMain.
var suite struct {
	once    sync.Once
	skip    string
	err     error
	tmp     string
	bin     string
	shots   string
	browser context.Context
	stop    context.CancelFunc
}

func TestMain(m *testing.M) {
	code := m.Run()
	if suite.stop != nil {
		suite.stop()
	}
	if suite.tmp != "" {
		_ = os.RemoveAll(suite.tmp)
	}
	os.Exit(code)
}

// setup makes the suite, or skips the test when there is no Chromium.
func setup(t *testing.T) {
	t.Helper()
	suite.once.Do(func() {
		chromium, err := browsertest.FindChromium()
		if err != nil {
			suite.skip = err.Error()
			return
		}
		suite.err = func() error {
			root, err := browsertest.RepoRoot()
			if err != nil {
				return err
			}
			suite.shots = filepath.Join(root, "testartifacts", "screenshots")
			if err := os.MkdirAll(suite.shots, 0o755); err != nil {
				return err
			}
			if suite.tmp, err = os.MkdirTemp("", "browsertest-"); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if suite.bin, err = browsertest.BuildLocal(ctx, root, suite.tmp); err != nil {
				return err
			}
			profile := filepath.Join(suite.tmp, "chromium-profile")
			if err := os.Mkdir(profile, 0o700); err != nil {
				return err
			}
			suite.browser, suite.stop, err = browsertest.NewBrowser(context.Background(), chromium, profile)
			return err
		}()
	})
	if suite.skip != "" {
		// make test installs Chromium first, so there (and in CI) a
		// missing browser is a failure; a bare go test may skip.
		if os.Getenv("CI") != "" || os.Getenv("BROWSER_TESTS") == "required" {
			t.Fatal("browser tests need Chromium: " + suite.skip)
		}
		t.Skip("browser tests skipped: " + suite.skip)
	}
	if suite.err != nil {
		t.Fatal(suite.err)
	}
}

// startServer starts a local server of the test's own, with a fresh
// embedded database and demo, stopped when the test ends. Its logs are
// shown when the test fails.
func startServer(t *testing.T) *browsertest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := browsertest.StartServer(ctx, suite.bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("local server: %v", err)
		}
		if t.Failed() {
			t.Logf("local server logs:\n%s", srv.Logs())
		}
	})
	return srv
}

// tab is one browser tab with a cookie jar of its own, signed in to a
// local server.
type tab struct {
	ctx  context.Context
	base string
}

// signIn opens a tab in a new browser context and signs in through
// /dev/login as an admin of the demo organisation acme.
func signIn(t *testing.T, srv *browsertest.Server) *tab {
	t.Helper()
	return signInTo(t, srv, "acme", "Acme Inc.")
}

// signInTo is signIn to the organisation org, named name. A first sign-in
// creates it, with the trial credits and nothing else (its name is org).
func signInTo(t *testing.T, srv *browsertest.Server, org, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(suite.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &tab{ctx: ctx, base: srv.URL}
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("open a tab: %v", err)
	}
	b.do(t, "sign in", chromedp.Navigate(srv.URL+"/dev/login?org="+org+"&email=you@acme.test&role=admin"))
	if loc := run(t, b, "read the location", chromedp.Location()); loc != srv.URL+"/billing" {
		t.Fatalf("the sign-in landed on %s, not /billing", loc)
	}
	if got := b.text(t, ".topbar .org"); got != name {
		t.Fatalf("signed in to %q, not %s", got, name)
	}
	return b
}

// do runs actions with the step timeout, failing the test on error.
func (b *tab) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// run runs an action that returns a value, with the step timeout.
func run[T any](t *testing.T, b *tab, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// open navigates to path and returns the HTTP status of the page.
func (b *tab) open(t *testing.T, path string) int64 {
	t.Helper()
	resp := run(t, b, "open "+path, chromedp.NavigateResponse(b.base+path))
	if resp == nil {
		t.Fatalf("open %s: no response", path)
	}
	return resp.Status
}

// submit clicks the button and waits for the page the form leads to. It
// returns that page's status and path (after any redirect).
func (b *tab) submit(t *testing.T, button string) (int64, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		t.Fatalf("click %s: %v", button, err)
	}
	if resp == nil {
		t.Fatalf("click %s: no page loaded", button)
	}
	return resp.Status, strings.TrimPrefix(run(t, b, "read the location", chromedp.Location()), b.base)
}

// fill empties the field with id, then types value into it. (It empties
// the field in the page: chromedp v0.23.0's SetValue cannot set "", because
// its JSON encoding omits the empty argument and the field gets
// "undefined".)
func (b *tab) fill(t *testing.T, id, value string) {
	t.Helper()
	if b.eval(t, `(e => !!e && (e.value = '', true))(document.getElementById(`+js(id)+`))`) != "true" {
		t.Fatalf("no field #%s", id)
	}
	if value != "" {
		b.do(t, "type into #"+id, chromedp.SendKeys(chromedp.ID(id), value))
	}
	if got := b.value(t, id); got != value {
		t.Fatalf("#%s holds %q after typing %q", id, got, value)
	}
}

// choose selects the option of the select with id whose value is value,
// or, when value is empty, the first option whose text contains text.
func (b *tab) choose(t *testing.T, id, value, text string) {
	t.Helper()
	ok := b.eval(t, fmt.Sprintf(`(() => {
  const s = document.getElementById(%s);
  const o = s && [...s.options].find(o => %s ? o.value === %s : o.textContent.includes(%s));
  if (!o) return false;
  s.value = o.value;
  s.dispatchEvent(new Event('change', {bubbles: true}));
  return true;
})()`, js(id), js(value), js(value), js(text)))
	if ok != "true" {
		t.Fatalf("#%s has no option %q %q", id, value, text)
	}
}

// setToggle sets the toggle switch of the page (a checkbox inside
// label.toggle) on or off by clicking it as a person does.
func (b *tab) setToggle(t *testing.T, id string, on bool) {
	t.Helper()
	if b.checked(t, id) != on {
		b.do(t, "click the toggle", chromedp.Click(chromedp.CSS("label.toggle:has(#"+id+")")))
	}
	if b.checked(t, id) != on {
		t.Fatalf("clicking the toggle did not turn #%s %v", id, on)
	}
}

func (b *tab) checked(t *testing.T, id string) bool {
	t.Helper()
	return b.eval(t, `document.getElementById(`+js(id)+`)?.checked === true`) == "true"
}

// text is the visible text of the first element matching the CSS
// selector, or "" when there is none.
func (b *tab) text(t *testing.T, selector string) string {
	t.Helper()
	return b.str(t, `document.querySelector(`+js(selector)+`)?.innerText.trim() ?? ""`)
}

// value is the current value of the form control with id.
func (b *tab) value(t *testing.T, id string) string {
	t.Helper()
	return b.str(t, `document.getElementById(`+js(id)+`)?.value ?? ""`)
}

// attr is the attribute name of the element with id, or "".
func (b *tab) attr(t *testing.T, id, name string) string {
	t.Helper()
	return b.str(t, `document.getElementById(`+js(id)+`)?.getAttribute(`+js(name)+`) ?? ""`)
}

// visible reports whether the first element matching the CSS selector is
// rendered with a size and not hidden, inside a closed <details> included.
func (b *tab) visible(t *testing.T, selector string) bool {
	t.Helper()
	return b.eval(t, `(() => {
  const e = document.querySelector(`+js(selector)+`);
  if (!e) return false;
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && e.checkVisibility({visibilityProperty: true});
})()`) == "true"
}

// str evaluates a JavaScript expression that gives a string.
func (b *tab) str(t *testing.T, expr string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal([]byte(b.eval(t, expr)), &s); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return s
}

// eval evaluates a JavaScript expression and returns its JSON.
func (b *tab) eval(t *testing.T, expr string) string {
	t.Helper()
	return string(run(t, b, "evaluate", chromedp.Evaluate[[]byte](expr)))
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
