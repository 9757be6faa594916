package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/recharge"
	"github.com/acme/billing/shared/web"
)

// demoFigures are the Overview's figures for the demo plan, computed here
// from the plan alone, independently of the billing package's rules.
type demoFigures struct {
	total, usagePeriod, ledger, remaining, overage, usedToday, budget, available money.Money
	forecast                                                                     string
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
	// The forecast: the 7 complete days before today, averaged, rounded
	// down; the whole days Remaining Credits last at that rate.
	var week money.Money
	for i := 1; i <= 7; i++ {
		week += p.Usage[billing.Day(now.AddDate(0, 0, -i))]
	}
	avg := week / 7
	if avg <= 0 || f.remaining <= 0 {
		t.Fatalf("the demo plan at %v has no usage in the week before (%v) or no remaining credits (%v); the forecast test would prove little", now, week, f.remaining)
	}
	days := int64(f.remaining / avg)
	y, m, d := now.UTC().Date()
	until := time.Date(y, m, d+int(days), 0, 0, 0, 0, time.UTC)
	f.forecast = fmt.Sprintf("At your 7-day average of %s a day, your credits last about %d days, until %s.", avg.Display(), days, until.Format("Jan 2, 2006"))
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
				{"spend-management-value", "Enabled Daily hard limit " + want.budget.Display()},
				{"overage-used", "Overage used " + min(max(-want.remaining, 0), want.overage).Display() + " of " + want.overage.Display()},
				{"forecast", want.forecast},
			}
			for _, f := range figures {
				got, ok := element(res.body, f.id)
				if !ok {
					t.Errorf("no element with id %q", f.id)
					continue
				}
				// element puts a space after each element's text, as before the
				// forecast's full stop.
				if got = strings.ReplaceAll(got, " .", "."); got != f.want {
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

	t.Run("costs 2 DynamoDB round trips per render", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		b := e.signIn(demo.OrgID, "you@acme.test", "viewer")

		e.db.Reset()
		res := b.get("/billing")
		reqs := e.db.Requests()

		if res.status != http.StatusOK {
			t.Fatalf("GET /billing: status %d, want 200", res.status)
		}
		// The account, profile and recent days in one batch; the recent
		// changes.
		if len(reqs) != 2 {
			ops := make([]string, len(reqs))
			for i, r := range reqs {
				ops[i] = r.Op
			}
			t.Errorf("GET /billing made %d DynamoDB requests %v, want 2", len(reqs), ops)
		}
	})
}

func TestOverviewActs(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()

	t.Run("an admin gets an Add credits button; a viewer, who may not add credits, does not", func(t *testing.T) {
		button := regexp.MustCompile(`<a class="btn btn-primary" href="/billing/credits">Add credits</a>`)
		if res := e.signIn(demo.OrgID, "you@acme.test", "admin").get("/billing"); !button.MatchString(res.body) {
			t.Error("the admin's Overview has no Add credits button")
		}
		if res := e.signIn(demo.OrgID, "viewer@acme.test", "viewer").get("/billing"); button.MatchString(res.body) {
			t.Error("the viewer's Overview offers Add credits")
		}
	})

	t.Run("the two Modify links have distinct accessible names", func(t *testing.T) {
		body := e.signIn(demo.OrgID, "you@acme.test", "admin").get("/billing").body
		for _, name := range []string{"Modify Auto Recharge", "Modify Spend Management"} {
			if !strings.Contains(body, `aria-label="`+name+`"`) {
				t.Errorf("no link named %q", name)
			}
		}
	})

	// The daily hard limit tile and the Spend Management card say the same
	// thing in every state of the switch and the budget.
	states := []struct {
		name       string
		spend      billing.SpendSettings
		tile, card string
		help       string
	}{
		{"off", billing.SpendSettings{Enabled: false, DailyBudget: money.Dollars(50)},
			"Off", "Disabled", "No daily hard limit applies: Spend Management is disabled."},
		{"on without a budget", billing.SpendSettings{Enabled: true},
			"No limit", "Enabled No daily budget set: no daily hard limit applies.", "Spend Management is enabled, but no daily budget is set"},
		{"on with a budget", billing.SpendSettings{Enabled: true, DailyBudget: money.Dollars(50)},
			"$0.00 of $50.00", "Enabled Daily hard limit $50.00", "Credits used today against your daily hard limit."},
	}
	for _, st := range states {
		t.Run("with Spend Management "+st.name+" the tile and the card agree", func(t *testing.T) {
			b := e.signIn("globex", "you@globex.test", "admin") // creates globex
			if err := e.store.SetSpendSettings(t.Context(), "globex", st.spend); err != nil {
				t.Fatal(err)
			}
			res := b.get("/billing")
			if got, _ := element(res.body, "daily-limit"); got != st.tile {
				t.Errorf("tile %q, want %q", got, st.tile)
			}
			if got, _ := element(res.body, "spend-management-value"); got != st.card {
				t.Errorf("card %q, want %q", got, st.card)
			}
			if !strings.Contains(res.text(), st.help) {
				t.Errorf("the tile does not explain %q", st.help)
			}
		})
	}

	t.Run("a new organisation with no usage has no forecast, and says so", func(t *testing.T) {
		res := e.signIn("initech", "you@initech.test", "admin").get("/billing")
		if got, _ := element(res.body, "forecast"); got != "No usage in the last 7 days to forecast from." {
			t.Errorf("forecast %q", got)
		}
	})

	t.Run("an organisation below zero shows how much of its overage line it uses", func(t *testing.T) {
		// initech starts with $10 of trial credits and a $25 line.
		if err := e.store.AddUsage(t.Context(), "initech", lateInMonth, money.MustParse("17.50")); err != nil {
			t.Fatal(err)
		}
		res := e.signIn("initech", "you@initech.test", "admin").get("/billing")
		if got, _ := element(res.body, "overage-used"); got != "Overage used $7.50 of $25.00" {
			t.Errorf("overage used %q, want $7.50 of $25.00", got)
		}
		if _, ok := element(res.body, "forecast"); ok {
			t.Error("a forecast shows with no credits left")
		}
	})
}

func TestOverviewRechargeBanner(t *testing.T) {
	t.Run("with auto-recharge off there is no banner", func(t *testing.T) {
		r := newRechargeEnv(t)
		if _, ok := element(r.signIn("acme", "you@acme.test", "admin").get("/billing").body, "recharge-banner"); ok {
			t.Error("a banner shows with auto-recharge off")
		}
	})

	t.Run("on with no card at all, it says nothing can be charged, with Add a card", func(t *testing.T) {
		r := newRechargeEnv(t)
		admin := r.signIn("acme", "you@acme.test", "admin")
		on := billing.AutoRechargeSettings{Enabled: true, Threshold: money.Dollars(5), Amount: money.Dollars(25)}
		if err := r.store.SetAutoRecharge(t.Context(), "acme", on); err != nil {
			t.Fatal(err)
		}
		res := admin.get("/billing")
		got, ok := element(res.body, "recharge-banner")
		if want := "Auto-recharge is on, but there is no card to charge: when Remaining Credits fall below $5.00, nothing can be added. Add a card"; !ok || got != want {
			t.Errorf("banner %q, want %q", got, want)
		}
		if !strings.Contains(res.body, `href="/billing/payment-methods/new?next=/billing/auto-recharge">Add a card</a>`) {
			t.Error("the banner does not lead to adding a card")
		}
		r.db.Reset()
		admin.get("/billing")
		if reqs := r.db.Requests(); len(reqs) != 2 {
			t.Errorf("with auto-recharge on, GET /billing made %d DynamoDB requests, want 2 (its state comes in the one batch)", len(reqs))
		}
	})

	t.Run("after a failed charge, it says why and when it tries again", func(t *testing.T) {
		r := newRechargeEnv(t)
		admin := r.signIn("acme", "you@acme.test", "admin")
		admin.addCard(t, "Jenny Rosen", "4000 0000 0000 0341", "4", expYear) // declined
		// Remaining Credits ($10) are below the threshold: the charge runs at
		// once, and fails.
		admin.redirected(t, admin.post(t, "/billing/auto-recharge", rechargeForm(true, "20", "25", "")), "/billing/auto-recharge", false)
		res := admin.get("/billing")
		got, _ := element(res.body, "recharge-banner")
		got = tight(got)
		want := "Auto-recharge failed: the charge of $25.00 on " + minuteOf(lateInMonth) + " did not go through (Your card was declined). Next try after " +
			minuteOf(lateInMonth.Add(time.Hour)) + ", while Remaining Credits are below $20.00; after 2 more failed charges in a row, auto-recharge turns itself off. Check your cards"
		if got != want {
			t.Errorf("banner %q,\nwant   %q", got, want)
		}
		if !strings.Contains(res.body, `href="/billing/payment-methods">Check your cards</a>`) {
			t.Error("the banner does not lead to the cards")
		}

		t.Run("and a card that works ends it", func(t *testing.T) {
			admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "4", expYear)
			visa := byLabel(t, admin.cards(t), "Visa •••• 4242").id
			admin.redirected(t, admin.post(t, "/billing/payment-methods/default", url.Values{"card": {visa}}), "/billing/payment-methods", false)
			r.advance(time.Hour)
			if res := r.run(t, "acme"); res.Outcome != recharge.OutcomeCharged {
				t.Fatalf("run: %+v", res)
			}
			if got, ok := element(admin.get("/billing").body, "recharge-banner"); ok {
				t.Errorf("a banner after a successful charge: %q", got)
			}
		})
	})

	t.Run("a payment waiting for the bank's confirmation asks for it", func(t *testing.T) {
		r := newRechargeEnv(t)
		admin := r.signIn("acme", "you@acme.test", "admin")
		admin.addCard(t, "Jenny Rosen", "4000 0027 6000 3184", "4", expYear) // needs authentication off-session
		admin.redirected(t, admin.post(t, "/billing/auto-recharge", rechargeForm(true, "20", "25", "")), "/billing/auto-recharge", false)
		res := admin.get("/billing")
		got, _ := element(res.body, "recharge-banner")
		if want := "Your bank asks you to confirm the last auto-recharge payment. Auto-recharge charges nothing more until you do. Confirm payment"; got != want {
			t.Errorf("banner %q, want %q", got, want)
		}
	})
}

func TestOverviewNextInvoice(t *testing.T) {
	e := newEnv(t, lateInMonth)
	next := time.Date(lateInMonth.Year(), lateInMonth.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	on := "Next invoice on " + dateOf(next)

	for _, c := range []struct {
		name, org string
		usage     string
		want      string
	}{
		{"with no usage there is nothing to invoice", "initech", "", on + ": no usage to invoice so far."},
		// initech starts with $10 of trial credits.
		{"usage the credits cover comes to $0.00 due", "globex", "7.25", on + ", estimated so far at $0.00 due: your credits cover the $7.25 of usage."},
		{"usage beyond the credits is due", "umbrella", "17.50", on + ", estimated so far at $7.50 due: $17.50 of usage, $10.00 of it paid from your credits."},
		{"a rest under the minimum charge carries over", "hooli", "10.30", on + ", estimated so far at $0.00 due: the $0.30 of usage your credits do not cover is under the $0.50 minimum charge, and carries into the invoice after."},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := e.signIn(c.org, "you@"+c.org+".test", "admin") // creates the organisation
			if c.usage != "" {
				if err := e.store.AddUsage(t.Context(), c.org, lateInMonth, money.MustParse(c.usage)); err != nil {
					t.Fatal(err)
				}
			}
			if got, _ := element(b.get("/billing").body, "next-invoice"); tight(got) != c.want {
				t.Errorf("next invoice %q,\nwant        %q", got, c.want)
			}
		})
	}
}

// tight removes the space plainText leaves between an element and the
// punctuation after it ("Jan 1, 2027 :").
func tight(s string) string {
	return strings.NewReplacer(" ,", ",", " :", ":", " .", ".").Replace(s)
}

// TestOverviewNoUsableCard: with auto-recharge on, the Overview says so
// before a charge fails when the default card is gone or has expired, from
// the summary the card changes recorded, still in two DynamoDB requests.
// An organisation whose summary was never recorded is told nothing.
func TestOverviewNoUsableCard(t *testing.T) {
	on := billing.AutoRechargeSettings{Enabled: true, Threshold: money.Dollars(5), Amount: money.Dollars(25)}
	var mu sync.Mutex
	pageNow := lateInMonth
	setPageNow := func(at time.Time) { mu.Lock(); defer mu.Unlock(); pageNow = at }
	newEnv := func(t *testing.T) (*env, *browser) {
		t.Helper()
		setPageNow(lateInMonth)
		e := newEnvWith(t, lateInMonth, func(d *web.Deps) {
			d.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return pageNow }
		})
		admin := e.signIn("acme", "you@acme.test", "admin")
		if err := e.store.SetAutoRecharge(t.Context(), "acme", on); err != nil {
			t.Fatal(err)
		}
		return e, admin
	}
	banner := func(t *testing.T, e *env, b *browser) (string, bool) {
		t.Helper()
		e.db.Reset()
		res := b.get("/billing")
		if reqs := e.db.Requests(); len(reqs) != 2 {
			t.Errorf("GET /billing made %d DynamoDB requests, want 2", len(reqs))
		}
		got, ok := element(res.body, "recharge-banner")
		if ok && !strings.Contains(res.body, `href="/billing/payment-methods">Payment Methods</a>`) {
			t.Error("the banner does not lead to Payment Methods")
		}
		return tight(got), ok
	}

	t.Run("the default card deleted", func(t *testing.T) {
		e, admin := newEnv(t)
		admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "4", expYear)
		if got, ok := banner(t, e, admin); ok {
			t.Fatalf("a banner with a usable default card: %q", got)
		}
		visa := byLabel(t, admin.cards(t), "Visa •••• 4242").id
		admin.redirected(t, admin.post(t, "/billing/payment-methods/delete", url.Values{"card": {visa}}), "/billing/payment-methods", false)
		got, _ := banner(t, e, admin)
		if want := "Auto-recharge is on, but there is no usable card: add a card or make one your default. When Remaining Credits fall below $5.00, nothing can be added until you do. Payment Methods"; got != want {
			t.Errorf("banner %q,\nwant   %q", got, want)
		}
		admin.addCard(t, "Jenny Rosen", "5555 5555 5555 4444", "4", expYear)
		if got, ok := banner(t, e, admin); ok {
			t.Errorf("a banner after a new card became the default: %q", got)
		}
	})

	t.Run("the default card expired", func(t *testing.T) {
		e, admin := newEnv(t)
		month, year := lateInMonth.Month(), lateInMonth.Year()
		admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", strconv.Itoa(int(month)), strconv.Itoa(year))
		if got, ok := banner(t, e, admin); ok {
			t.Fatalf("a banner in the card's last month: %q", got)
		}
		setPageNow(time.Date(year, month+1, 1, 0, 0, 0, 0, time.UTC))
		got, _ := banner(t, e, admin)
		want := fmt.Sprintf("Auto-recharge is on, but your default card Visa •••• 4242 expired %02d/%02d: add a card or make another one your default. When Remaining Credits fall below $5.00, nothing can be added until you do. Payment Methods",
			int(month), year%100)
		if got != want {
			t.Errorf("banner %q,\nwant   %q", got, want)
		}
	})

	t.Run("an organisation whose card was never recorded is told nothing", func(t *testing.T) {
		e, admin := newEnv(t)
		if _, err := e.store.SetCustomerID(t.Context(), "acme", "cus_before"); err != nil {
			t.Fatal(err)
		}
		if got, ok := banner(t, e, admin); ok {
			t.Errorf("a banner with nothing known of the card: %q", got)
		}
	})
}
