package web_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	stdhtml "html"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/payments/stripetest"
	"github.com/acme/billing/shared/web"
)

const addressPath = "/billing/address"

// berlin is a valid address form, different from the demo's.
func berlin() url.Values {
	return url.Values{
		"company_name": {"Acme Europe GmbH"}, "address1": {"Unter den Linden 1"}, "address2": {"3. OG"}, "city": {"Berlin"},
		"postal_code": {"10117"}, "region": {"Berlin"}, "country": {"DE"}, "po_number": {"PO-2027-0001"},
	}
}

var berlinAddress = billing.Address{
	CompanyName: "Acme Europe GmbH", Address1: "Unter den Linden 1", Address2: "3. OG", City: "Berlin",
	PostalCode: "10117", Region: "Berlin", Country: "DE", PONumber: "PO-2027-0001",
}

func (e *env) profile(t *testing.T, org string) billing.Profile {
	t.Helper()
	p, err := e.store.Profile(t.Context(), org)
	if err != nil {
		t.Fatalf("profile %s: %v", org, err)
	}
	return p
}

func (e *env) changes(t *testing.T, org string) []billing.AuditEntry {
	t.Helper()
	cs, err := e.store.RecentChanges(t.Context(), org, 100)
	if err != nil {
		t.Fatalf("recent changes %s: %v", org, err)
	}
	return cs
}

// inputValue returns the value attribute of the input named name.
func inputValue(body, name string) (string, bool) {
	m := regexp.MustCompile(`<input [^>]*name="` + regexp.QuoteMeta(name) + `"[^>]*>`).FindString(body)
	if m == "" {
		return "", false
	}
	v := regexp.MustCompile(`\svalue="([^"]*)"`).FindStringSubmatch(m)
	if v == nil {
		return "", true
	}
	return stdhtml.UnescapeString(v[1]), true
}

// selectedCountry returns the value of the country select's selected
// option.
func selectedCountry(body string) string {
	m := regexp.MustCompile(`<option value="([A-Z]*)" selected>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestAddressPage(t *testing.T) {
	e := newEnv(t, lateInMonth)
	plan := e.seed()
	admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
	res := admin.get(addressPath)
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: status %d:\n%s", addressPath, res.status, res.text())
	}

	t.Run("the form has the spec's fields, named as DESIGN.md says, filled with the stored address", func(t *testing.T) {
		a := plan.Org.Profile.Address
		for _, f := range []struct{ name, label, value string }{
			{"company_name", "Company Name", a.CompanyName}, {"address1", "Address 1", a.Address1}, {"address2", "Address 2", a.Address2},
			{"city", "City", a.City}, {"postal_code", "Postal code", a.PostalCode}, {"region", "Region/Province", a.Region},
			{"po_number", "Purchase order (PO) number", a.PONumber},
		} {
			if got, ok := inputValue(res.body, f.name); !ok || got != f.value {
				t.Errorf("input %s = %q (present %v), want %q", f.name, got, ok, f.value)
			}
			if !strings.Contains(res.body, `<label for="`+f.name+`">`+stdhtml.EscapeString(f.label)+`</label>`) {
				t.Errorf("no label %q for %s", f.label, f.name)
			}
		}
		if !strings.Contains(res.body, `<label for="country">Country</label><select id="country" name="country"`) {
			t.Error("no labelled country select")
		}
		if got := selectedCountry(res.body); got != "US" {
			t.Errorf("selected country %q, want US", got)
		}
		if !regexp.MustCompile(`<button class="btn btn-primary" type="submit">Save changes</button>`).MatchString(res.body) {
			t.Error(`no enabled "Save changes" button`)
		}
	})

	t.Run("the country list is ISO 3166-1 from the library: DE is Germany", func(t *testing.T) {
		for code, name := range map[string]string{"DE": "Germany", "FR": "France", "GB": "United Kingdom", "NL": "Netherlands"} {
			if !strings.Contains(res.body, `<option value="`+code+`">`+name+`</option>`) {
				t.Errorf("no option %s → %s", code, name)
			}
		}
		if n := strings.Count(res.body, "<option "); n != len(billing.Countries())+1 {
			t.Errorf("%d options, want %d countries and the prompt", n, len(billing.Countries()))
		}
	})
}

func TestSaveAddress(t *testing.T) {
	t.Run("bad input answers 422 with the message at the field, keeps the input and saves nothing", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		plan := e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		tests := []struct {
			field, value, want string
			also               map[string]string // other fields changed with it
		}{
			{"company_name", "", "Enter the company name.", nil},
			{"company_name", strings.Repeat("x", 121), "at most 120 characters", nil},
			{"address1", "", "Enter the first line of the address.", nil},
			{"address1", strings.Repeat("x", 201), "at most 200 characters", nil},
			{"address2", strings.Repeat("x", 201), "at most 200 characters", nil},
			{"city", "", "Enter the city.", nil},
			{"city", strings.Repeat("x", 121), "at most 120 characters", nil},
			{"postal_code", "", "Enter the postal code.", nil},
			{"postal_code", "1011", "Enter 5 digits, like 10115 for Germany.", nil},
			{"postal_code", "9410", "ZIP code", map[string]string{"country": "US"}},
			{"postal_code", "12345", "K1A 0B1", map[string]string{"country": "CA"}},
			{"postal_code", "12345", "SW1A 1AA", map[string]string{"country": "GB"}},
			{"postal_code", "1012", "1012 AB", map[string]string{"country": "NL"}},
			{"postal_code", "750", "for France", map[string]string{"country": "FR"}},
			{"region", strings.Repeat("x", 121), "at most 120 characters", nil},
			{"country", "", "Select a country.", nil},
			{"country", "ZZ", "Select a country from the list.", nil},
			{"po_number", strings.Repeat("1", 41), "at most 40 characters", nil},
		}
		for _, tt := range tests {
			t.Run(tt.field+" "+tt.want, func(t *testing.T) {
				form := berlin()
				form.Set(tt.field, tt.value)
				for k, v := range tt.also {
					form.Set(k, v)
				}
				res := admin.post(t, addressPath, form)
				if res.status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422:\n%s", res.status, res.text())
				}
				if got, _ := element(res.body, tt.field+"-error"); !strings.Contains(got, tt.want) {
					t.Errorf("message at %s = %q, want %q", tt.field, got, tt.want)
				}
				if !strings.Contains(res.body, `aria-invalid="true"`) {
					t.Error("the field is not marked invalid")
				}
				for k := range form {
					if k == "country" {
						continue
					}
					if got, _ := inputValue(res.body, k); got != form.Get(k) {
						t.Errorf("input %s = %q, want what was typed, %q", k, got, form.Get(k))
					}
				}
				if p := e.profile(t, demo.OrgID); p.Address != plan.Org.Profile.Address {
					t.Errorf("the address changed to %+v", p.Address)
				}
				if cs := e.changes(t, demo.OrgID); len(cs) != 0 {
					t.Errorf("audit entries %+v, want none", cs)
				}
			})
		}
		t.Run("the chosen country is kept", func(t *testing.T) {
			form := berlin()
			form.Set("city", "")
			if got := selectedCountry(admin.post(t, addressPath, form).body); got != "DE" {
				t.Errorf("selected %q, want DE", got)
			}
		})
	})

	t.Run("a good address is saved, redirected with a flash, and shown on the Overview", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		plan := e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		page := admin.redirected(t, admin.post(t, addressPath, berlin()), addressPath, false)
		wantFlash(t, page, "success", "Your invoice address is saved.")
		if got, _ := inputValue(page.body, "company_name"); got != "Acme Europe GmbH" {
			t.Errorf("the form shows %q after saving", got)
		}
		p := e.profile(t, demo.OrgID)
		if p.Address != berlinAddress || p.BillingEmail != plan.Org.Profile.BillingEmail {
			t.Errorf("profile %+v, want the new address and the email kept", p)
		}
		if got, _ := element(admin.get("/billing").body, "invoice-address-value"); got != "Acme Europe GmbH" {
			t.Errorf("the Overview's invoice address shows %q", got)
		}
	})

	t.Run("input is trimmed and normalised before it is saved", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		form := berlin()
		form.Set("company_name", "  Acme   Europe GmbH ")
		form.Set("country", "GB")
		form.Set("postal_code", "sw1a 1aa")
		admin.redirected(t, admin.post(t, addressPath, form), addressPath, false)
		if a := e.profile(t, demo.OrgID).Address; a.CompanyName != "Acme Europe GmbH" || a.PostalCode != "SW1A 1AA" || a.Country != "GB" {
			t.Errorf("saved %+v", a)
		}
	})

	t.Run("viewers see the form disabled and get 403; nothing changes", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		plan := e.seed()
		viewer := e.signIn(demo.OrgID, "viewer@acme.test", "viewer")
		res := viewer.get(addressPath)
		if !readOnlyForm(res.body, "Save changes") {
			t.Error("the viewer's fields and Save changes button are not in a disabled fieldset")
		}
		if !strings.Contains(res.text(), "Only admins can change the invoice address.") {
			t.Error("the viewer is not told why")
		}
		if res := viewer.post(t, addressPath, berlin()); res.status != http.StatusForbidden {
			t.Errorf("a viewer's POST: status %d, want 403", res.status)
		}
		if p := e.profile(t, demo.OrgID); p.Address != plan.Org.Profile.Address {
			t.Errorf("a viewer changed the address to %+v", p.Address)
		}
	})

	t.Run("another organisation never sees or changes acme's address", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		plan := e.seed()
		other := e.signIn("globex", "you@globex.test", "admin")
		res := other.get(addressPath)
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		for _, v := range []string{"Acme", "Market Street", "94105", "PO-2026-0042"} {
			if strings.Contains(res.body, v) {
				t.Errorf("globex's address page shows acme's %q", v)
			}
		}
		// A form field naming another organisation is ignored: the session decides.
		form := berlin()
		form.Set("org", demo.OrgID)
		form.Set("org_id", demo.OrgID)
		other.redirected(t, other.post(t, addressPath, form), addressPath, false)
		if p := e.profile(t, demo.OrgID); p.Address != plan.Org.Profile.Address {
			t.Errorf("globex changed acme's address to %+v", p.Address)
		}
		if p := e.profile(t, "globex"); p.Address != berlinAddress {
			t.Errorf("globex's address %+v, want its own save", p.Address)
		}
	})
}

// sandboxCustomer gives the organisation a sandbox customer, as its first
// card would, and returns the provider to read it back.
func (e *env) sandboxCustomer(t *testing.T, org string) (*sandbox.Provider, string) {
	t.Helper()
	sb := sandbox.New(e.store, func() time.Time { return e.now }, "/billing/credits/checkout/")
	id, err := payments.NewService(e.store, sb, func() time.Time { return e.now }, slog.New(slog.DiscardHandler)).Customer(t.Context(), org)
	if err != nil {
		t.Fatalf("customer for %s: %v", org, err)
	}
	return sb, id
}

func TestAddressSync(t *testing.T) {
	t.Run("the sandbox customer gets the name, the address and the PO number", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		sb, id := e.sandboxCustomer(t, demo.OrgID)
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		wantFlash(t, admin.redirected(t, admin.post(t, addressPath, berlin()), addressPath, false), "success", "Your invoice address is saved.")
		c, err := sb.Customer(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		want := sandbox.Address{Line1: "Unter den Linden 1", Line2: "3. OG", City: "Berlin", PostalCode: "10117", State: "Berlin", Country: "DE"}
		if c.Name != "Acme Europe GmbH" || c.Address != want || c.InvoiceFields[payments.POField] != "PO-2027-0001" || c.Email != "billing@acme.test" {
			t.Errorf("sandbox customer %+v", c)
		}
		if p := e.profile(t, demo.OrgID); p.CustomerID != id {
			t.Errorf("customer id %q, want %q kept", p.CustomerID, id)
		}
	})

	t.Run("when the provider fails, the address stays saved and the customer is told it is not on invoices yet", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		if _, err := e.store.SetCustomerID(t.Context(), demo.OrgID, "cus_sandbox_gone"); err != nil {
			t.Fatal(err)
		}
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		page := admin.redirected(t, admin.post(t, addressPath, berlin()), addressPath, false)
		wantFlash(t, page, "error", "Your invoice address is saved here, but it is not yet on the invoices from our payment provider")
		if p := e.profile(t, demo.OrgID); p.Address != berlinAddress {
			t.Errorf("address %+v, want the save kept", p.Address)
		}
		if !strings.Contains(e.log.String(), "update payment customer") {
			t.Error("the failure is not logged")
		}
		if cs := e.changes(t, demo.OrgID); len(cs) != 1 {
			t.Errorf("%d audit entries, want 1", len(cs))
		}
	})

	t.Run("Stripe gets one customers.Update with name, address and the PO number custom field", func(t *testing.T) {
		api := stripetest.Mock(t)
		rec := &formRecorder{next: api.Client().Transport}
		e := newEnvWith(t, lateInMonth, func(d *web.Deps) {
			d.Payments = payments.NewService(d.Store, stripeprovider.New(stripetest.Client(api.URL, &http.Client{Transport: rec})), d.Now, d.Log)
		})
		e.seed()
		if _, err := e.store.SetCustomerID(t.Context(), demo.OrgID, "cus_123"); err != nil {
			t.Fatal(err)
		}
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		wantFlash(t, admin.redirected(t, admin.post(t, addressPath, berlin()), addressPath, false), "success", "Your invoice address is saved.")
		reqs := rec.requests()
		if len(reqs) != 1 || reqs[0].method != http.MethodPost || reqs[0].path != "/v1/customers/cus_123" || reqs[0].status != http.StatusOK {
			t.Fatalf("requests %+v, want one POST /v1/customers/cus_123 that stripe-mock accepts", reqs)
		}
		want := url.Values{
			"name": {"Acme Europe GmbH"}, "address[line1]": {"Unter den Linden 1"}, "address[line2]": {"3. OG"}, "address[city]": {"Berlin"},
			"address[postal_code]": {"10117"}, "address[state]": {"Berlin"}, "address[country]": {"DE"},
			"invoice_settings[custom_fields][0][name]": {"PO number"}, "invoice_settings[custom_fields][0][value]": {"PO-2027-0001"},
		}
		if got := reqs[0].form; got.Encode() != want.Encode() {
			t.Errorf("params\n%s\nwant\n%s", got.Encode(), want.Encode())
		}

		form := berlin()
		form.Set("po_number", "")
		admin.redirected(t, admin.post(t, addressPath, form), addressPath, false)
		reqs = rec.requests()
		if len(reqs) != 1 || reqs[0].status != http.StatusOK || reqs[0].form.Get("invoice_settings[custom_fields]") != "" ||
			!reqs[0].form.Has("invoice_settings[custom_fields]") || reqs[0].form.Has("invoice_settings[custom_fields][0][name]") {
			t.Errorf("an emptied PO number sent %+v, want invoice_settings[custom_fields]= (removing the field)", reqs)
		}
	})
}

// stripeRequest is one request to Stripe as stripe-go sent it, and the
// status stripe-mock answered.
type stripeRequest struct {
	method, path string
	form         url.Values
	status       int
}

// formRecorder is an http.RoundTripper that records each request's form
// before passing it on.
type formRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []stripeRequest
}

func (f *formRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	raw := r.URL.RawQuery
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		_ = r.Body.Close() // an in-memory body
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
		if r.Method == http.MethodPost {
			raw = string(b)
		}
	}
	form, err := url.ParseQuery(raw)
	if err != nil {
		return nil, err
	}
	res, err := f.next.RoundTrip(r)
	rq := stripeRequest{method: r.Method, path: r.URL.Path, form: form}
	if res != nil {
		rq.status = res.StatusCode
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, rq)
	f.mu.Unlock()
	return res, err
}

// requests returns the recorded requests and forgets them.
func (f *formRecorder) requests() []stripeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	reqs := f.reqs
	f.reqs = nil
	return reqs
}
