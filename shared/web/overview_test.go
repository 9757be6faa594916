package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

// demoFigures are the Overview's figures for the demo plan, computed here
// from the plan alone, independently of the billing package's rules.
type demoFigures struct {
	total, usagePeriod, ledger, remaining, overage, usedToday, budget, available money.Money
}

func expectedDemoFigures(t *testing.T, p demo.Plan, now time.Time) demoFigures {
	t.Helper()
	trial := p.Org.TrialCredits
	var topUps, topUpsBeforeClose money.Money
	for _, tx := range p.Transactions {
		topUps += tx.Amount
		if tx.Created.Before(p.Close) {
			topUpsBeforeClose += tx.Amount
		}
	}
	closeDay := billing.Day(p.Close)
	var usagePeriod, usageBeforeClose money.Money
	for day, u := range p.Usage {
		if day >= closeDay {
			usagePeriod += u
		} else {
			usageBeforeClose += u
		}
	}
	applied := min(max(trial+topUpsBeforeClose, 0), usageBeforeClose)
	if applied <= 0 || usagePeriod <= 0 {
		t.Fatalf("the demo plan at %v has no applied credit (%v) or no usage this period (%v); the test would prove little", now, applied, usagePeriod)
	}
	f := demoFigures{
		total:       trial + topUps,
		usagePeriod: usagePeriod,
		ledger:      trial + topUps - applied,
		overage:     p.Org.OverageLimit,
		usedToday:   p.Usage[billing.Day(now)],
		budget:      p.Spend.DailyBudget,
	}
	f.remaining = f.ledger - f.usagePeriod
	if !p.Spend.Enabled {
		t.Fatal("the demo plan has Spend Management off; this test expects it on")
	}
	f.available = max(0, min(f.remaining+f.overage, f.budget-f.usedToday))
	return f
}

func TestOverview(t *testing.T) {
	clocks := []struct {
		name string
		now  time.Time
	}{
		{"late in the month, weeks after the cycle close", lateInMonth},
		{"early in the month, a day after the cycle close", earlyInMonth},
	}
	for _, c := range clocks {
		t.Run("shows the seeded demo's figures computed independently, "+c.name, func(t *testing.T) {
			e := newEnv(t, c.now)
			plan := e.seed()
			want := expectedDemoFigures(t, plan, c.now)

			res := e.signIn(demo.OrgID, "you@acme.test", "admin").get("/billing")
			if res.status != http.StatusOK {
				t.Fatalf("GET /billing: status %d, want 200; body:\n%s", res.status, res.body)
			}
			figures := []struct {
				id   string
				want string
			}{
				{"total-credits", want.total.Display()},
				{"usage-period", want.usagePeriod.Display()},
				{"remaining-credits", want.remaining.Display()},
				{"available-remaining", want.remaining.Display()},
				{"overage-protection", want.overage.Display()},
				{"daily-limit", want.usedToday.Display() + " of " + want.budget.Display()},
				{"available-to-use", want.available.Display()},
				{"invoice-address-value", "Acme Inc."},
				{"billing-email-value", "billing@acme.test"},
				{"auto-recharge-value", "Disabled"},
				{"spend-management-value", "Enabled"},
			}
			for _, f := range figures {
				got, ok := element(res.body, f.id)
				if !ok {
					t.Errorf("no element with id %q", f.id)
					continue
				}
				if got != f.want {
					t.Errorf("#%s = %q, want %q", f.id, got, f.want)
				}
			}

			text := res.text()
			for _, s := range []string{
				"The total number of usage credits (gross) you've purchased or have been granted.",
				"Credits used so far in the current billing cycle that will be on your next invoice",
				"Your balance of purchased credits after accounting for your uninvoiced usage.",
				"The credits you currently have left on your account net of uninvoiced usage.",
				"Your allowance to continue using the service on negative balance.",
				"Credits used today against your daily hard limit.",
				"The total number of credits available to you right now.",
				"Acme Inc.",
				"billing@acme.test",
			} {
				if !strings.Contains(text, s) {
					t.Errorf("the Overview does not say %q", s)
				}
			}
			for _, link := range []struct{ href, text string }{
				{"/billing/address", "Edit address"},
				{"/billing/notifications", "Edit email"},
				{"/billing/auto-recharge", "Modify"},
				{"/billing/spend-management", "Modify"},
			} {
				pattern := regexp.MustCompile(`<a [^>]*href="` + regexp.QuoteMeta(link.href) + `"[^>]*>` + link.text + `</a>`)
				if !pattern.MatchString(res.body) {
					t.Errorf("the Overview has no link %q to %s", link.text, link.href)
				}
			}
		})
	}

	t.Run("costs at most 2 DynamoDB round trips per render", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		b := e.signIn(demo.OrgID, "you@acme.test", "viewer")

		e.db.Reset()
		res := b.get("/billing")
		reqs := e.db.Requests()

		if res.status != http.StatusOK {
			t.Fatalf("GET /billing: status %d, want 200", res.status)
		}
		if len(reqs) == 0 || len(reqs) > 2 {
			ops := make([]string, len(reqs))
			for i, r := range reqs {
				ops[i] = r.Op
			}
			t.Errorf("GET /billing made %d DynamoDB requests %v, want 1 or 2", len(reqs), ops)
		}
	})
}
