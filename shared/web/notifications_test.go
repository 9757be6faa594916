package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/payments/stripetest"
	"github.com/acme/billing/shared/web"
)

const notificationsPath = "/billing/notifications"

func TestNotificationsPage(t *testing.T) {
	e := newEnv(t, lateInMonth)
	plan := e.seed()
	res := e.signIn(demo.OrgID, "you@acme.test", "admin").get(notificationsPath)
	if res.status != http.StatusOK {
		t.Fatalf("status %d:\n%s", res.status, res.text())
	}
	t.Run("the spec's heading, note, Email field and Updates button, with the stored email", func(t *testing.T) {
		if !strings.Contains(res.body, ">Billing email</h2>") {
			t.Error(`no "Billing email" heading`)
		}
		if !strings.Contains(res.text(), "Invoices and other billing notifications will be sent here") {
			t.Error("no note")
		}
		if !regexp.MustCompile(`<label for="email">Email</label><input id="email" name="email" type="email"`).MatchString(res.body) {
			t.Error("no labelled email input named email")
		}
		if got, _ := inputValue(res.body, "email"); got != plan.Org.Profile.BillingEmail {
			t.Errorf("email %q, want %q", got, plan.Org.Profile.BillingEmail)
		}
		if !strings.Contains(res.body, `<button class="btn btn-primary" type="submit">Updates</button>`) {
			t.Error(`no enabled "Updates" button`)
		}
	})
}

func TestSaveNotifications(t *testing.T) {
	t.Run("a bad email answers 422 with the message at the field, keeps the input and saves nothing", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		plan := e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		for _, tt := range []struct{ value, want string }{
			{"", "Enter an email address."},
			{"not-an-email", "Enter an email address like name@example.com."},
			{"Billing <billing@acme.test>", "Enter an email address like name@example.com."},
			{"billing@localhost", "Enter an email address like name@example.com."},
			{"a@b.test, c@d.test", "Enter an email address like name@example.com."},
			{strings.Repeat("a", 250) + "@b.test", "Enter an email address like name@example.com."},
		} {
			t.Run(tt.value, func(t *testing.T) {
				res := admin.post(t, notificationsPath, url.Values{"email": {tt.value}})
				if res.status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", res.status)
				}
				if got, _ := element(res.body, "email-error"); got != tt.want {
					t.Errorf("message %q, want %q", got, tt.want)
				}
				if got, _ := inputValue(res.body, "email"); got != tt.value {
					t.Errorf("input %q, want what was typed", got)
				}
				if p := e.profile(t, demo.OrgID); p.BillingEmail != plan.Org.Profile.BillingEmail {
					t.Errorf("billing email changed to %q", p.BillingEmail)
				}
				if cs := e.changes(t, demo.OrgID); len(cs) != 0 {
					t.Errorf("audit entries %+v, want none", cs)
				}
			})
		}
	})

	t.Run("a good email is saved where notifications read it, keeps the address, and shows on the Overview", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		plan := e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		page := admin.redirected(t, admin.post(t, notificationsPath, url.Values{"email": {" ap@acme.test "}}), notificationsPath, false)
		wantFlash(t, page, "success", "Invoices and other billing notifications will be sent to ap@acme.test.")
		p := e.profile(t, demo.OrgID)
		if p.BillingEmail != "ap@acme.test" || p.Address != plan.Org.Profile.Address {
			t.Errorf("profile %+v, want the new email and the address kept", p)
		}
		if got, _ := element(admin.get("/billing").body, "billing-email-value"); got != "ap@acme.test" {
			t.Errorf("the Overview's billing email shows %q", got)
		}
	})

	t.Run("viewers see the form disabled and get 403", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		plan := e.seed()
		viewer := e.signIn(demo.OrgID, "viewer@acme.test", "viewer")
		if !readOnlyForm(viewer.get(notificationsPath).body, "Updates") {
			t.Error("the viewer's email field and Updates button are not in a disabled fieldset")
		}
		if res := viewer.post(t, notificationsPath, url.Values{"email": {"x@acme.test"}}); res.status != http.StatusForbidden {
			t.Errorf("status %d, want 403", res.status)
		}
		if p := e.profile(t, demo.OrgID); p.BillingEmail != plan.Org.Profile.BillingEmail {
			t.Errorf("a viewer changed the billing email to %q", p.BillingEmail)
		}
	})

	t.Run("another organisation never sees or changes acme's email", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		plan := e.seed()
		other := e.signIn("globex", "you@globex.test", "admin")
		if strings.Contains(other.get(notificationsPath).body, plan.Org.Profile.BillingEmail) {
			t.Error("globex sees acme's billing email")
		}
		other.redirected(t, other.post(t, notificationsPath, url.Values{"email": {"ap@globex.test"}, "org": {demo.OrgID}}), notificationsPath, false)
		if p := e.profile(t, demo.OrgID); p.BillingEmail != plan.Org.Profile.BillingEmail {
			t.Errorf("globex changed acme's email to %q", p.BillingEmail)
		}
	})

	t.Run("the sandbox customer's email follows", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		sb, id := e.sandboxCustomer(t, demo.OrgID)
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		admin.redirected(t, admin.post(t, notificationsPath, url.Values{"email": {"ap@acme.test"}}), notificationsPath, false)
		c, err := sb.Customer(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Email != "ap@acme.test" {
			t.Errorf("sandbox customer email %q, want ap@acme.test", c.Email)
		}
	})

	t.Run("when the provider fails, the email stays saved and the customer is told", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		if _, err := e.store.SetCustomerID(t.Context(), demo.OrgID, "cus_sandbox_gone"); err != nil {
			t.Fatal(err)
		}
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		page := admin.redirected(t, admin.post(t, notificationsPath, url.Values{"email": {"ap@acme.test"}}), notificationsPath, false)
		wantFlash(t, page, "error", "Your billing email is saved here")
		if p := e.profile(t, demo.OrgID); p.BillingEmail != "ap@acme.test" {
			t.Errorf("email %q, want the save kept", p.BillingEmail)
		}
	})

	t.Run("Stripe gets one customers.Update with the email only", func(t *testing.T) {
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
		wantFlash(t, admin.redirected(t, admin.post(t, notificationsPath, url.Values{"email": {"ap@acme.test"}}), notificationsPath, false),
			"success", "ap@acme.test")
		reqs := rec.requests()
		if len(reqs) != 1 || reqs[0].method != http.MethodPost || reqs[0].path != "/v1/customers/cus_123" || reqs[0].status != http.StatusOK ||
			reqs[0].form.Encode() != (url.Values{"email": {"ap@acme.test"}}).Encode() {
			t.Errorf("requests %+v, want one POST /v1/customers/cus_123 with email=ap@acme.test, accepted", reqs)
		}
	})
}
