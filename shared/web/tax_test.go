package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	stdhtml "html"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/payments/stripetest"
	"github.com/acme/billing/shared/web"
)

// taxRow is one row of the Tax Settings table as a browser shows it.
type taxRow struct {
	id, country, description, value, status string
	badge                                   string // the status badge's classes
	deleteLink, verifyForm                  bool
}

var taxRowPattern = regexp.MustCompile(`<tr id="tax-([^"]+)"><td data-label="[^"]*" class="mono">([^<]*)</td><td data-label="[^"]*">([^<]*)</td><td data-label="[^"]*">([^<]*)</td>` +
	`<td data-label="[^"]*" class="mono">([^<]*)</td><td data-label="[^"]*"><span class="([^"]*)">([^<]*)</span></td><td data-label="[^"]*" class="num">(.*?)</td></tr>`)

func taxRows(t *testing.T, body string) []taxRow {
	t.Helper()
	var rows []taxRow
	for _, m := range taxRowPattern.FindAllStringSubmatch(body, -1) {
		if m[1] != m[2] {
			t.Errorf("row tax-%s shows id %s", m[1], m[2])
		}
		rows = append(rows, taxRow{
			id: m[2], country: stdhtml.UnescapeString(m[3]), description: stdhtml.UnescapeString(m[4]),
			value: stdhtml.UnescapeString(m[5]), badge: m[6], status: m[7],
			deleteLink: strings.Contains(m[8], `href="/billing/tax/`+m[2]+`/delete"`),
			verifyForm: strings.Contains(m[8], `action="/billing/tax/`+m[2]+`/verify"`),
		})
	}
	if n := strings.Count(body, `<tr id="tax-`); n != len(rows) {
		t.Fatalf("%d tax rows, %d parsed; body:\n%s", n, len(rows), body)
	}
	return rows
}

// taxIDs loads Tax Settings and returns its rows.
func (b *browser) taxIDs(t *testing.T) []taxRow {
	t.Helper()
	res := b.get("/billing/tax")
	if res.status != http.StatusOK {
		t.Fatalf("GET /billing/tax: status %d", res.status)
	}
	return taxRows(t, res.body)
}

func taxForm(country, typ, value string) url.Values {
	return url.Values{"country": {country}, "type": {typ}, "value": {value}}
}

// addTaxID adds a registration through the form, checks it is saved, and
// returns its row.
func (b *browser) addTaxID(t *testing.T, country, typ, value string) taxRow {
	t.Helper()
	before := b.taxIDs(t)
	page := b.redirected(t, b.post(t, "/billing/tax/new", taxForm(country, typ, value)), "/billing/tax", false)
	wantFlash(t, page, "success", "is added.")
	rows := taxRows(t, page.body)
	if len(rows) != len(before)+1 {
		t.Fatalf("%d rows after adding, want %d", len(rows), len(before)+1)
	}
	for _, r := range rows {
		if !slices.ContainsFunc(before, func(b taxRow) bool { return b.id == r.id }) {
			return r
		}
	}
	t.Fatal("no new row")
	return taxRow{}
}

func TestTaxSettings(t *testing.T) {
	t.Run("an organisation without registrations sees an empty state that explains itself", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		res := admin.get("/billing/tax")
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		text := res.text()
		for _, want := range []string{"No tax registrations yet", "appears on your invoices", "Add Tax Registration"} {
			if !strings.Contains(text, want) {
				t.Errorf("page does not say %q:\n%s", want, text)
			}
		}
		if !strings.Contains(res.body, `<a class="btn btn-primary" href="/billing/tax/new">Add Tax Registration</a>`) {
			t.Error("no Add Tax Registration button to /billing/tax/new")
		}
		if p, err := e.store.Profile(t.Context(), demo.OrgID); err != nil || p.CustomerID != "" {
			t.Errorf("listing created a payment customer (%q, %v)", p.CustomerID, err)
		}
	})

	t.Run("an admin adds, verifies and deletes registrations, and the table shows them", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")

		form := admin.get("/billing/tax/new")
		if form.status != http.StatusOK {
			t.Fatalf("GET /billing/tax/new: status %d", form.status)
		}
		for _, want := range []string{`<select id="country" name="country"`, `<option value="DE">Germany</option>`,
			`<select id="type" name="type"`, `<option value="eu_vat">European VAT number (EU)</option>`, `<input id="value" name="value"`} {
			if !strings.Contains(form.body, want) {
				t.Errorf("form has no %s", want)
			}
		}

		vat := admin.addTaxID(t, "DE", "eu_vat", "de 123.456.789")
		want := taxRow{id: vat.id, country: "Germany", description: "European VAT number", value: "DE123456789",
			status: "unverified", badge: "badge badge-red", deleteLink: true, verifyForm: true}
		if vat != want || !strings.HasPrefix(vat.id, "txi_") {
			t.Errorf("row = %+v, want %+v", vat, want)
		}
		ein := admin.addTaxID(t, "US", "us_ein", "123456789")
		if ein.value != "12-3456789" || ein.description != "United States EIN" || ein.country != "United States" {
			t.Errorf("row = %+v, want the EIN 12-3456789 of the United States", ein)
		}
		if p, err := e.store.Profile(t.Context(), demo.OrgID); err != nil || p.CustomerID == "" {
			t.Errorf("no payment customer after adding (%v)", err)
		}

		page := admin.redirected(t, admin.post(t, "/billing/tax/"+vat.id+"/verify", nil), "/billing/tax", false)
		wantFlash(t, page, "success", "DE123456789 is marked verified")
		for _, r := range taxRows(t, page.body) {
			switch r.id {
			case vat.id:
				if r.status != "verified" || r.badge != "badge badge-black" || r.verifyForm {
					t.Errorf("after verify: %+v, want verified with a black badge and no verify button", r)
				}
			case ein.id:
				if r.status != "unverified" || r.badge != "badge badge-red" {
					t.Errorf("the other registration changed: %+v", r)
				}
			}
		}

		confirm := admin.get("/billing/tax/" + ein.id + "/delete")
		if confirm.status != http.StatusOK || !strings.Contains(confirm.text(), "Delete United States EIN 12-3456789?") ||
			!strings.Contains(confirm.body, `<form class="inline" method="post" action="/billing/tax/`+ein.id+`/delete">`) {
			t.Fatalf("confirmation: status %d:\n%s", confirm.status, confirm.text())
		}
		page = admin.redirected(t, admin.post(t, "/billing/tax/"+ein.id+"/delete", nil), "/billing/tax", false)
		wantFlash(t, page, "success", "United States EIN 12-3456789 is deleted.")
		if rows := taxRows(t, page.body); len(rows) != 1 || rows[0].id != vat.id {
			t.Errorf("rows after delete = %+v, want only the VAT number", rows)
		}
		if res := admin.post(t, "/billing/tax/"+ein.id+"/delete", nil); res.status != http.StatusNotFound {
			t.Errorf("deleting it again: status %d, want 404", res.status)
		}
	})

	t.Run("the same registration twice is refused at the value", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		admin.addTaxID(t, "GB", "gb_vat", "GB123456789")
		res := admin.post(t, "/billing/tax/new", taxForm("GB", "gb_vat", "gb 123 456 789"))
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", res.status)
		}
		if msg, _ := element(res.body, "value-error"); !strings.Contains(msg, "registered already") {
			t.Errorf("value error = %q", msg)
		}
		if rows := admin.taxIDs(t); len(rows) != 1 {
			t.Errorf("%d rows, want 1", len(rows))
		}
	})

	t.Run("bad input answers 422 with the message at its field, keeps what was typed and saves nothing", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		tests := []struct {
			name, country, typ, value, field, says string
		}{
			{"no country", "", "eu_vat", "DE123456789", "country", "Choose the country"},
			{"no type", "DE", "", "DE123456789", "type", "Choose the type"},
			{"a type not issued in the country", "US", "eu_vat", "DE123456789", "type", "not issued in the United States"},
			{"a value that does not match the type", "DE", "eu_vat", "DE 1234", "value", "“DE 1234” is not a valid European VAT number in Germany: enter it like DE123456789."},
			{"a Dutch VAT number without its B", "NL", "eu_vat", "NL12345678901", "value", "NL123456789B01"},
			{"an empty value", "FR", "eu_vat", "", "value", "Enter the tax ID"},
			{"a country that is not on the list", "ZZ", "eu_vat", "DE123456789", "country", "“ZZ” is not a country on the list"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := admin.post(t, "/billing/tax/new", taxForm(tt.country, tt.typ, tt.value))
				if res.status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", res.status)
				}
				msg, ok := element(res.body, tt.field+"-error")
				if !ok || !strings.Contains(msg, tt.says) {
					t.Errorf("%s error = %q, want it to say %q", tt.field, msg, tt.says)
				}
				if !strings.Contains(res.body, `aria-invalid="true" aria-describedby="`+tt.field) {
					t.Errorf("the %s control is not marked invalid", tt.field)
				}
				if strings.Count(res.body, `class="field-error"`) != 1 {
					t.Error("more than one field error")
				}
				if tt.value != "" && !strings.Contains(res.body, `value="`+stdhtml.EscapeString(tt.value)+`"`) {
					t.Errorf("the value %q is not kept", tt.value)
				}
				for _, sel := range []struct{ name, v string }{{"country", tt.country}, {"type", tt.typ}} {
					if sel.v == "" || sel.v == "ZZ" {
						continue
					}
					if !regexp.MustCompile(`<option value="` + sel.v + `" selected>`).MatchString(res.body) {
						t.Errorf("the %s %s is not kept selected", sel.name, sel.v)
					}
				}
			})
		}
		t.Run("every field's error shows at once, each at its field", func(t *testing.T) {
			wantErrorsAtOnce(t, admin.post(t, "/billing/tax/new", taxForm("", "", "")), map[string]string{
				"country": "Choose the country of the registration.",
				"type":    "Choose the type of tax ID.",
				"value":   "Enter the tax ID as on your registration, e.g. DE123456789.",
			})
		})
		if rows := admin.taxIDs(t); len(rows) != 0 {
			t.Errorf("rows = %+v, want none", rows)
		}
		if p, err := e.store.Profile(t.Context(), demo.OrgID); err != nil || p.CustomerID != "" {
			t.Errorf("bad input created a payment customer (%q, %v)", p.CustomerID, err)
		}
	})

	t.Run("another organisation's tax id is not found on delete and verify, and stays unchanged", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		other := e.signIn("globex", "ops@globex.test", "admin")
		theirs := other.addTaxID(t, "FR", "eu_vat", "FRAB123456789")

		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		admin.addTaxID(t, "DE", "eu_vat", "DE123456789") // acme has a customer and a registration of its own
		for _, req := range []struct{ method, path string }{
			{http.MethodGet, "/billing/tax/" + theirs.id + "/delete"},
			{http.MethodPost, "/billing/tax/" + theirs.id + "/delete"},
			{http.MethodPost, "/billing/tax/" + theirs.id + "/verify"},
			{http.MethodPost, "/billing/tax/txi_nonexistent/delete"},
		} {
			var res response
			if req.method == http.MethodGet {
				res = admin.get(req.path)
			} else {
				res = admin.post(t, req.path, nil)
			}
			if res.status != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 404", req.method, req.path, res.status)
			}
			if strings.Contains(res.body, "FRAB123456789") {
				t.Errorf("%s %s shows the other organisation's value", req.method, req.path)
			}
		}
		if rows := other.taxIDs(t); len(rows) != 1 || rows[0] != theirs {
			t.Errorf("globex's rows = %+v, want %+v unchanged", rows, theirs)
		}
		for _, r := range admin.taxIDs(t) {
			if r.id == theirs.id {
				t.Error("acme lists globex's registration")
			}
		}
	})

	t.Run("a viewer sees the registrations without buttons, and cannot change them", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		vat := admin.addTaxID(t, "DE", "eu_vat", "DE123456789")

		viewer := e.signIn(demo.OrgID, "reader@acme.test", "viewer")
		res := viewer.get("/billing/tax")
		rows := taxRows(t, res.body)
		if len(rows) != 1 || rows[0].value != "DE123456789" || rows[0].deleteLink || rows[0].verifyForm {
			t.Errorf("viewer rows = %+v, want the registration without actions", rows)
		}
		if strings.Contains(res.body, `href="/billing/tax/new"`) || strings.Contains(res.body, "Add Tax Registration</a>") {
			t.Error("a viewer is offered Add Tax Registration")
		}
		if strings.Count(res.body, "<form") != 1 { // sign-out
			t.Error("a viewer is offered a form besides sign-out")
		}
		if !strings.Contains(res.text(), "Only admins can add or delete tax registrations.") {
			t.Error("no note that only admins can change them")
		}
		if form := viewer.get("/billing/tax/new"); form.status != http.StatusOK || strings.Count(form.body, "<form") != 1 {
			t.Errorf("GET /billing/tax/new as viewer: status %d, %d forms", form.status, strings.Count(form.body, "<form"))
		}
		if confirm := viewer.get("/billing/tax/" + vat.id + "/delete"); confirm.status != http.StatusOK || strings.Count(confirm.body, "<form") != 1 {
			t.Errorf("delete confirmation as viewer: status %d, %d forms", confirm.status, strings.Count(confirm.body, "<form"))
		}
		for _, post := range []struct {
			path string
			form url.Values
		}{
			{"/billing/tax/new", taxForm("US", "us_ein", "12-3456789")},
			{"/billing/tax/" + vat.id + "/delete", nil},
			{"/billing/tax/" + vat.id + "/verify", nil},
		} {
			if res := viewer.post(t, post.path, post.form); res.status != http.StatusForbidden {
				t.Errorf("POST %s as viewer: status %d, want 403", post.path, res.status)
			}
		}
		if rows := admin.taxIDs(t); len(rows) != 1 || rows[0] != vat {
			t.Errorf("rows = %+v, want %+v unchanged", rows, vat)
		}
	})

	t.Run("a post from another site is refused", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		res := admin.do(http.MethodPost, "/billing/tax/new", http.Header{"Sec-Fetch-Site": {"cross-site"}})
		if res.status != http.StatusForbidden {
			t.Errorf("status %d, want 403", res.status)
		}
	})
}

// fakeStripeTaxIDs is a Stripe API with one customer, cus_acme, whose tax
// IDs are in each verification state; it records the requests.
type fakeStripeTaxIDs struct {
	mu   sync.Mutex
	reqs []string
}

func (f *fakeStripeTaxIDs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	taxID := func(id, typ, country, value string, status any) map[string]any {
		v := map[string]any{"id": id, "object": "tax_id", "country": country, "created": 1795000000, "customer": "cus_acme",
			"livemode": false, "type": typ, "value": value, "verification": nil}
		if status != nil {
			v["verification"] = map[string]any{"status": status, "verified_address": nil, "verified_name": nil}
		}
		return v
	}
	var body any
	switch r.Method + " " + r.URL.Path {
	case "POST /v1/customers":
		body = map[string]any{"id": "cus_acme", "object": "customer", "metadata": map[string]string{"org_id": demo.OrgID}}
	case "GET /v1/customers/cus_acme/tax_ids":
		body = map[string]any{"object": "list", "url": r.URL.Path, "has_more": false, "data": []any{
			taxID("txi_pending", "gb_vat", "GB", "GB123456789", "pending"),
			taxID("txi_verified", "eu_vat", "DE", "DE123456789", "verified"),
			taxID("txi_unverified", "eu_vat", "FR", "FRAB123456789", "unverified"),
			taxID("txi_unavailable", "au_abn", "AU", "12345678912", "unavailable"),
		}}
	case "POST /v1/customers/cus_acme/tax_ids":
		body = taxID("txi_new", "eu_vat", "NL", "NL123456789B01", "pending")
	default:
		w.WriteHeader(http.StatusNotFound)
		body = map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such object."}}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body) // a failed write shows up as a client error
}

func (f *fakeStripeTaxIDs) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs...)
}

func TestTaxSettingsStripe(t *testing.T) {
	fake := &fakeStripeTaxIDs{}
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	e := newEnvWith(t, lateInMonth, func(d *web.Deps) {
		d.Payments = payments.NewService(d.Store, stripeprovider.New(stripetest.Client(api.URL, api.Client())), d.Now, d.Log)
	})
	e.seed()
	admin := e.signIn(demo.OrgID, "you@acme.test", "admin")

	t.Run("adding creates the customer on first need and posts to its tax IDs", func(t *testing.T) {
		page := admin.redirected(t, admin.post(t, "/billing/tax/new", taxForm("NL", "eu_vat", "NL 1234.56.789 B01")), "/billing/tax", false)
		wantFlash(t, page, "success", "European VAT number NL123456789B01 is added.")
		reqs := fake.requests()
		// The demo has an invoice address, which goes on the new customer.
		if !strings.Contains(strings.Join(reqs, ","), "POST /v1/customers,POST /v1/customers/cus_acme,POST /v1/customers/cus_acme/tax_ids") {
			t.Errorf("requests = %v, want the customer created, given the invoice address, then the tax ID added", reqs)
		}
	})

	t.Run("statuses show Stripe's verification with the right badge, and no sandbox verify button", func(t *testing.T) {
		rows := admin.taxIDs(t)
		want := map[string][2]string{
			"txi_pending":     {"pending", "badge badge-amber"},
			"txi_verified":    {"verified", "badge badge-black"},
			"txi_unverified":  {"unverified", "badge badge-red"},
			"txi_unavailable": {"unavailable", "badge badge-gray"},
		}
		if len(rows) != len(want) {
			t.Fatalf("rows = %+v", rows)
		}
		for _, r := range rows {
			if w := want[r.id]; r.status != w[0] || r.badge != w[1] {
				t.Errorf("%s: %s with %q, want %s with %q", r.id, r.status, r.badge, w[0], w[1])
			}
			if r.verifyForm || !r.deleteLink {
				t.Errorf("%s: verify form %v, delete link %v; want only delete", r.id, r.verifyForm, r.deleteLink)
			}
		}
	})

	t.Run("the local verify action does nothing in Stripe mode", func(t *testing.T) {
		if res := admin.post(t, "/billing/tax/txi_unverified/verify", nil); res.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", res.status)
		}
	})

	t.Run("a tax ID Stripe does not list for the customer is not found, and no delete is sent", func(t *testing.T) {
		if res := admin.post(t, "/billing/tax/txi_someone_else/delete", nil); res.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", res.status)
		}
		for _, r := range fake.requests() {
			if strings.HasPrefix(r, http.MethodDelete) {
				t.Errorf("sent %s", r)
			}
		}
	})
}
