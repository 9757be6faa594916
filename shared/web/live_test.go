package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

// TestOverviewIsLive proves the usage issue's promise: usage recorded
// through the usage API changes the Overview on the very next load.
func TestOverviewIsLive(t *testing.T) {
	e := newEnv(t, lateInMonth)
	plan := e.seed()
	b := e.signIn("acme", "you@acme.test", "admin")
	before := b.get("/billing")
	usedBefore, _ := element(before.body, "daily-limit")
	periodBefore, _ := element(before.body, "usage-period")

	body := `{"events":[{"id":"live-1","org_id":"acme","amount":"10.004","time":"` + lateInMonth.Format("2006-01-02T15:04:05Z") + `"}]}`
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/usage", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testUsageKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("usage API answered %d", resp.StatusCode)
	}

	after := b.get("/billing")
	period, _ := element(after.body, "usage-period")
	used, _ := element(after.body, "daily-limit")
	available, _ := element(after.body, "available-to-use")
	if period == periodBefore || used == usedBefore {
		t.Errorf("the Overview did not change: usage this period %q → %q, used today %q → %q", periodBefore, period, usedBefore, used)
	}
	// Today's usage grew by $10.004 against the demo's $25 budget, which
	// is now what limits Available to Use.
	usedToday := plan.Usage[billing.Day(lateInMonth)] + money.MustParse("10.004")
	if want := usedToday.Display() + " of " + plan.Spend.DailyBudget.Display(); used != want {
		t.Errorf("used today %q, want %q", used, want)
	}
	if want := (plan.Spend.DailyBudget - usedToday).Display(); available != want {
		t.Errorf("available to use %q, want %q", available, want)
	}
}
