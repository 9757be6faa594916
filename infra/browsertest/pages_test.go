package browsertest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/acme/billing/infra/browsertest"
	"github.com/acme/billing/shared/html"
	"github.com/chromedp/chromedp"
)

// Viewports of the checks: a desktop and a phone.
const (
	desktopWidth, desktopHeight = 1280, 800
	phoneWidth, phoneHeight     = 390, 844
)

// page is one page the tests visit.
type page struct {
	Name string // the screenshot's file name before "-<width>.png"
	Path string
}

// sitePages are every page of the navigation, then the pages reached from
// them, then the local outbox.
func sitePages() []page {
	var ps []page
	for _, n := range html.Navigation {
		ps = append(ps, page{Name: strings.ToLower(strings.ReplaceAll(n.Label, " ", "-")), Path: n.Path})
	}
	return append(ps,
		page{Name: "add-new-credit-card", Path: "/billing/payment-methods/new"},
		page{Name: "add-tax-registration", Path: "/billing/tax/new"},
		page{Name: "outbox", Path: "/dev/outbox"},
	)
}

func TestPages(t *testing.T) {
	setup(t)
	b := signIn(t, startServer(t))
	for _, p := range sitePages() {
		t.Run(p.Name, func(t *testing.T) { checkPage(t, b, p) })
	}

	t.Run("the skip link moves focus to the main content", func(t *testing.T) {
		b.open(t, "/billing")
		b.do(t, "press Tab, then Enter", chromedp.KeyEvent("\t"), chromedp.KeyEvent("\r"))
		if got := b.str(t, `document.activeElement?.id ?? ""`); got != "main" {
			t.Errorf("after the skip link, focus is on #%s, not #main", got)
		}
	})
}

// checkPage opens p signed in, and checks it at both widths: screenshots,
// labels, focus order, and no sideways scrolling on a phone. It leaves the
// tab at the desktop width.
func checkPage(t *testing.T, b *tab, p page) {
	t.Helper()
	b.do(t, "use the desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))
	if status := b.open(t, p.Path); status != 200 {
		t.Fatalf("%s answered %d", p.Path, status)
	}
	if h1 := b.text(t, "main h1"); h1 == "" {
		t.Fatalf("%s has no heading in main", p.Path)
	}
	screenshot(t, b, p.Name, desktopWidth, desktopHeight)

	t.Run("at 1280 px every table fits without scrolling", func(t *testing.T) {
		wide := run(t, b, "measure the tables", chromedp.Evaluate[[]string](`[...document.querySelectorAll('.table-wrap')]
  .filter(w => w.scrollWidth > w.clientWidth + 1)
  .map(w => (w.querySelector('table')?.id || 'a table') + ': ' + w.scrollWidth + ' px in ' + w.clientWidth + ' px')`))
		if len(wide) > 0 {
			t.Errorf("tables wider than the page, scrolled sideways on a desktop: %s", strings.Join(wide, "; "))
		}
	})

	t.Run("every input, select and textarea has a label", func(t *testing.T) {
		if bad := run(t, b, "find unlabelled controls", browsertest.UnlabelledControls()); len(bad) > 0 {
			t.Errorf("controls without a label: %s", strings.Join(bad, "; "))
		}
	})

	t.Run("Tab goes from the skip link through the navigation to the page's controls in DOM order", func(t *testing.T) {
		order := run(t, b, "press Tab through the page", browsertest.RecordTabOrder(5))
		checkTabOrder(t, order)
		b.do(t, "blur", chromedp.Evaluate[chromedp.Void](`document.activeElement?.blur()`))
	})

	b.do(t, "use the phone viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight))
	t.Run("at 390 px the page does not scroll sideways", func(t *testing.T) {
		o := run(t, b, "measure the page's width", browsertest.MeasureOverflow())
		if o.InnerWidth != phoneWidth {
			t.Errorf("the viewport is %d px wide, not %d", o.InnerWidth, phoneWidth)
		}
		if o.Scrolls() {
			t.Errorf("the page is %d px wide in a %d px viewport; reaching past the edge: %s",
				o.ScrollWidth, o.InnerWidth, strings.Join(o.Culprits, "; "))
		}
	})
	t.Run("at 390 px the navigation is a closed menu above the page's heading, and opens to every page", func(t *testing.T) {
		if wide, menu, open := b.visible(t, ".nav-wide"), b.visible(t, ".nav-menu summary"), b.eval(t, `document.querySelector(".nav-menu .nav a").checkVisibility()`) == "true"; wide || !menu || open {
			t.Fatalf("the phone does not show a closed menu in place of the navigation: navigation shown %v, menu shown %v, its links shown %v", wide, menu, open)
		}
		if top, err := strconv.Atoi(b.eval(t, `Math.round(document.querySelector("main h1").getBoundingClientRect().top + scrollY)`)); err != nil || top > 300 {
			t.Errorf("the page's heading starts %d px down the page (%v): the navigation pushes it down", top, err)
		}
		b.do(t, "open the menu", chromedp.Click(chromedp.CSS(".nav-menu summary")))
		links := b.str(t, `[...document.querySelectorAll(".nav-menu .nav a")].filter(a => a.checkVisibility()).map(a => a.textContent).join("|")`)
		var want []string
		for _, n := range html.Navigation {
			want = append(want, n.Label)
		}
		if links != strings.Join(want, "|") {
			t.Errorf("the open menu shows %q, want %q", links, strings.Join(want, "|"))
		}
		b.do(t, "close the menu", chromedp.Click(chromedp.CSS(".nav-menu summary")))
	})
	t.Run("at 390 px every table fits, its rows stacked as cards with every cell labelled", func(t *testing.T) {
		bad := run(t, b, "measure the tables", chromedp.Evaluate[[]string](`[...document.querySelectorAll('.table-wrap')].flatMap(w => {
  const name = w.querySelector('table')?.id || w.querySelector('caption')?.textContent || 'a table';
  const out = [];
  if (w.scrollWidth > w.clientWidth + 1) out.push(name + ' scrolls sideways: ' + w.scrollWidth + ' px in ' + w.clientWidth + ' px');
  for (const td of w.querySelectorAll('tbody td')) {
    if (td.getBoundingClientRect().right > w.getBoundingClientRect().right + 1) out.push(name + ': a cell reaches past the edge: ' + td.textContent.trim().slice(0, 40));
    if (!td.dataset.label) out.push(name + ': a cell has no label: ' + td.textContent.trim().slice(0, 40));
  }
  return out.slice(0, 5);
})`))
		if len(bad) > 0 {
			t.Errorf("tables on a phone: %s", strings.Join(bad, "; "))
		}
	})
	screenshot(t, b, p.Name, phoneWidth, phoneHeight)
	b.do(t, "use the desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))
}

// checkTabOrder checks that the first stop is the skip link, that the
// navigation's links follow in html.Navigation's order (after the brand
// link home), and that Tab then visits every focusable element of the page
// once, in DOM order, and finally leaves the page.
func checkTabOrder(t *testing.T, o browsertest.TabOrder) {
	t.Helper()
	if len(o.PositiveTabIndex) > 0 {
		t.Errorf("tabindex > 0 reorders focus on: %s", strings.Join(o.PositiveTabIndex, "; "))
	}
	if len(o.Expected) == 0 || o.Expected[0].Class != "skip-link" {
		t.Fatalf("the first focusable element is not the skip link: %s", stops(o.Expected))
	}
	var nav, wantNav []string
	for _, s := range o.Expected[1:] {
		if !s.InSidebar {
			break
		}
		if s.Class != "brand" {
			nav = append(nav, s.Href)
		}
	}
	for _, n := range html.Navigation {
		wantNav = append(wantNav, n.Path)
	}
	if !slices.Equal(nav, wantNav) {
		t.Errorf("after the skip link come the links %v, not the navigation %v", nav, wantNav)
	}

	var visited []int // indexes into o.Expected, in the order Tab reached them
	end := "the presses ran out"
	for i, s := range o.Stops {
		switch {
		case s.Body:
			end = "focus left the page"
		case s.Index == 0 && i > 0:
			end = "focus came back to the skip link"
		case s.Index >= 0:
			visited = append(visited, s.Index)
		case s.Scroller:
			t.Logf("Tab %d stops on the scrollable box %s", i+1, s.Desc)
		default:
			t.Errorf("Tab %d focused %s, which is not one of the page's focusable elements", i+1, s.Desc)
		}
	}
	for i, want := range o.Expected {
		if i >= len(visited) {
			t.Errorf("Tab never reached %s (%d of %d focusable elements reached, then %s); stops: %s",
				want.Desc, len(visited), len(o.Expected), end, stops(o.Stops))
			return
		}
		if i > 0 && visited[i] == visited[i-1] {
			t.Errorf("focus is trapped: Tab %d stayed on %s instead of moving to %s; stops: %s", i+1, o.Expected[visited[i]].Desc, want.Desc, stops(o.Stops))
			return
		}
		if visited[i] != i {
			t.Errorf("Tab %d went to %s instead of %s; stops: %s", i+1, o.Expected[visited[i]].Desc, want.Desc, stops(o.Stops))
			return
		}
	}
	if end == "the presses ran out" {
		t.Errorf("focus is trapped: after the last element Tab kept to the page; stops: %s", stops(o.Stops))
	}
}

func stops(ss []browsertest.Stop) string {
	var d []string
	for _, s := range ss {
		d = append(d, s.Desc)
	}
	return strings.Join(d, " | ")
}

// screenshot saves a full-page PNG of the tab as
// testartifacts/screenshots/<name>-<width>.png. It makes the viewport as
// tall as the page for the capture, as a browser window that tall would
// show it (the sidebar is sticky and 100vh high, so a capture beyond a
// shorter viewport would cut it off), then restores height.
func screenshot(t *testing.T, b *tab, name string, width, height int) {
	t.Helper()
	pageHeight := run(t, b, "measure the page's height", chromedp.Evaluate[int64](`Math.ceil(document.documentElement.scrollHeight)`))
	b.do(t, "fit the viewport to the page", chromedp.EmulateViewport(int64(width), max(pageHeight, int64(height))))
	png := run(t, b, "take a screenshot", chromedp.FullScreenshot(100))
	b.do(t, "restore the viewport", chromedp.EmulateViewport(int64(width), int64(height)))
	file := filepath.Join(suite.shots, fmt.Sprintf("%s-%d.png", name, width))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatalf("save the screenshot: %v", err)
	}
}
