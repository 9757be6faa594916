package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/web"
)

var (
	viewerForm       = regexp.MustCompile(`(?s)<form\b[^>]*method="post"[^>]*>(.*?)</form>`)
	viewerFormAction = regexp.MustCompile(`action="([^"]*)"`)
	viewerControl    = regexp.MustCompile(`<(input|select|textarea|button)\b[^>]*>`)
	viewerLink       = regexp.MustCompile(`<a\b[^>]*href="(/billing[^"#]*)"`)
	// disabledFieldset is the opening tag of a disabled fieldset.
	disabledFieldset = regexp.MustCompile(`<fieldset\b[^>]*\sdisabled[\s>=]`)
	disabledAttr     = regexp.MustCompile(`\sdisabled([\s>=/]|$)`)
)

// readOnlyForm reports whether body holds the form whose submit button
// reads label with its fields and the button in a disabled fieldset (a
// viewer's form, html.changeFields).
func readOnlyForm(body, label string) bool {
	return regexp.MustCompile(`(?s)<fieldset class="change-fields" disabled>.*<button class="btn btn-primary" type="submit">` +
		regexp.QuoteMeta(label) + `</button>.*</fieldset>`).MatchString(body)
}

// TestViewersSeeReadOnlyPages: a viewer can look at every page of the
// section but change nothing there, so no page offers a viewer a control
// that would only answer 403. On every page a viewer reaches (each GET
// route, with acme's own ids, and every /billing link those pages show),
// every form that posts a change has each control disabled, and every
// link leads to a page the viewer may see.
func TestViewersSeeReadOnlyPages(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	ctx := t.Context()
	admin := e.signIn("acme", "admin@acme.test", "admin")
	admin.addCard(t, "Acme Payer", "5555 5555 5555 4444", "12", expYear)
	tax := admin.addTaxID(t, "DE", "eu_vat", "DE260543043")
	if err := e.store.AddUsage(ctx, "acme", lateInMonth, money.MustParse("400")); err != nil {
		t.Fatal(err)
	}
	admin.closeCycle(t) // an open invoice to pay
	invs, err := e.store.Invoices(ctx, "acme")
	if err != nil || len(invs) == 0 {
		t.Fatalf("acme invoices %v, %v", invs, err)
	}
	ids := []string{invs[0].ID, admin.cards(t)[0].id, tax.id}

	viewer := e.signIn("acme", "viewer@acme.test", "viewer")
	var queue []string
	for _, r := range web.Routes(web.Deps{}) {
		if r.Access != web.AccessSession || r.Method != http.MethodGet || strings.HasPrefix(r.Path, "/dev/") {
			continue
		}
		if !strings.Contains(r.Path, "{id}") {
			queue = append(queue, r.Path)
			continue
		}
		for _, id := range ids {
			queue = append(queue, strings.ReplaceAll(r.Path, "{id}", url.PathEscape(id)))
		}
	}
	if len(queue) < 10 {
		t.Fatalf("only %d pages to visit: %v", len(queue), queue)
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		if seen[path] {
			continue
		}
		seen[path] = true
		res := viewer.get(path)
		switch {
		case res.status == http.StatusForbidden:
			t.Errorf("GET %s answers a viewer 403: a page that links here offers what the viewer cannot use", path)
			continue
		case res.status == http.StatusNotFound && strings.Contains(path, "/billing/") && slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(path, id) }):
			continue // an id of another kind in this route
		case res.status != http.StatusOK || !strings.Contains(res.header.Get("Content-Type"), "text/html"):
			continue // a PDF, a CSV, a redirect
		}
		for _, f := range viewerForm.FindAllStringSubmatch(res.body, -1) {
			action := ""
			if m := viewerFormAction.FindStringSubmatch(f[0]); m != nil {
				action = m[1]
			}
			if action == "/auth/logout" {
				continue // signing out is the viewer's own
			}
			body := f[1]
			// Controls in a disabled fieldset are disabled (changeFields
			// wraps a form's fields in one): drop it up to its last close.
			if loc := disabledFieldset.FindStringIndex(body); loc != nil {
				if end := strings.LastIndex(body, "</fieldset>"); end > loc[1] {
					body = body[:loc[0]] + body[end:]
				}
			}
			for _, ctl := range viewerControl.FindAllString(body, -1) {
				if strings.Contains(ctl, `type="hidden"`) || disabledAttr.MatchString(ctl) {
					continue
				}
				t.Errorf("GET %s: the form posting to %s offers a viewer %s, which is not disabled", path, action, ctl)
			}
		}
		for _, m := range viewerLink.FindAllStringSubmatch(res.body, -1) {
			link := strings.ReplaceAll(m[1], "&amp;", "&")
			if !seen[link] && !strings.HasSuffix(link, ".csv") && !strings.HasSuffix(link, "/pdf") {
				queue = append(queue, link)
			}
		}
	}
	if !seen["/billing/payment-methods/new"] || !seen["/billing/tax"] {
		t.Errorf("the crawl missed pages: %v", slices.Sorted(func(yield func(string) bool) {
			for p := range seen {
				if !yield(p) {
					return
				}
			}
		}))
	}
}
