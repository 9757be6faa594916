package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/web"
)

func TestOutboxPage(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	outbox := notify.NewOutbox(e.store, func() time.Time { return lateInMonth })
	for _, m := range []notify.Email{
		{To: "billing@acme.test", Subject: "Your daily usage passed $15.00", Text: "Hello,\n\nUsed today: $15.42"},
		{To: "ap@globex.test", Subject: "Daily budget reached: new calls are blocked until 00:00 UTC", Text: "Hello <b>there</b>"},
	} {
		if err := outbox.Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a signed-in developer sees every organisation's emails with recipient, subject and text", func(t *testing.T) {
		res := e.signIn(demo.OrgID, "you@acme.test", "viewer").get("/dev/outbox")
		if res.status != http.StatusOK {
			t.Fatalf("status %d, want 200:\n%s", res.status, res.body)
		}
		text := res.text()
		for _, want := range []string{"Outbox", "billing@acme.test", "Your daily usage passed $15.00", "Used today: $15.42",
			"ap@globex.test", "Daily budget reached", minuteOf(lateInMonth)} {
			if !strings.Contains(text, want) {
				t.Errorf("the page does not show %q:\n%s", want, text)
			}
		}
		if strings.Contains(res.body, "<b>there</b>") {
			t.Error("an email's text is rendered as HTML")
		}
		assertSecurityHeaders(t, res)
	})

	t.Run("without a session the page asks to sign in", func(t *testing.T) {
		res := e.browser().get("/dev/outbox")
		if res.status == http.StatusOK {
			t.Errorf("status 200 without a session")
		}
	})

	t.Run("the outbox is a local-only route, never deployed", func(t *testing.T) {
		for _, r := range web.Routes(web.Deps{}) {
			if r.Path == "/dev/outbox" {
				t.Error("/dev/outbox is in Routes")
			}
		}
		found := false
		for _, r := range web.LocalRoutes(web.Deps{}) {
			found = found || (r.Path == "/dev/outbox" && r.Method == http.MethodGet && r.Access == web.AccessSession)
		}
		if !found {
			t.Error("GET /dev/outbox is not a local route needing a session")
		}
	})
}
