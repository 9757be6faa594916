package html

import (
	"fmt"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/components"
	. "maragu.dev/gomponents/html"
)

// OverviewProps is what the Billing Overview shows.
type OverviewProps struct {
	Page    PageProps
	Account billing.Account
	Figures billing.Figures
	Profile billing.Profile
	// Changes are the last settings changes, newest first.
	Changes []billing.AuditEntry
	// Forecast is how long Remaining Credits last at the recent usage.
	Forecast billing.Forecast
	// Recharge is auto-recharge's state while it is on; nil when off.
	Recharge *RechargeStatus
	// NextInvoice is when the cycle closes next; Estimate is what closing
	// it now would invoice.
	NextInvoice time.Time
	Estimate    invoicing.Figures
}

// RechargeStatus is what the Overview knows of auto-recharge while it is
// on, for the banner that says when it cannot charge.
type RechargeStatus struct {
	Settings billing.AutoRechargeSettings
	// NoCard: the organisation has no card at all.
	NoCard bool
	// NoDefault: the organisation's default card, as last recorded, is
	// none (every card removed, or none made the default).
	NoDefault bool
	// Expired is the default card when it has expired ("Visa •••• 4242"),
	// ExpiredOn its expiry ("11/26"); "" otherwise.
	Expired, ExpiredOn string
	// Failures counts the failed charges in a row (MaxFailures turn
	// auto-recharge off); NextAttempt is when it may try again; Last is
	// the last attempt, when there were failures.
	Failures    int
	MaxFailures int
	NextAttempt time.Time
	Last        *store.RechargeAttempt
	// PendingPayment is a charge waiting for the customer's confirmation.
	PendingPayment string
}

// The one-line explanations of the Overview's figures, from the product spec.
const (
	helpTotalCredits   = "The total number of usage credits (gross) you've purchased or have been granted."
	helpUsagePeriod    = "Credits used so far in the current billing cycle that will be on your next invoice (may include usage from previous periods that has not yet been invoiced)."
	helpRemaining      = "Your balance of purchased credits after accounting for your uninvoiced usage."
	helpRemainingNet   = "The credits you currently have left on your account net of uninvoiced usage."
	helpOverage        = "Your allowance to continue using the service on negative balance. Any usage from this protection will be billed on your next invoice."
	helpDailyLimit     = "Credits used today against your daily hard limit. When the limit is reached, further usage is blocked until the next day (UTC)."
	helpDailyLimitOff  = "No daily hard limit applies: Spend Management is disabled."
	helpDailyLimitNone = "Spend Management is enabled, but no daily budget is set, so no daily hard limit applies."
	helpAvailable      = "The total number of credits available to you right now."
	reasonInsufficient = "New usage is blocked: your remaining credits and overage protection are used up. Add usage credits to continue."
	reasonDailyLimit   = "New usage is blocked until 00:00 UTC: today's usage has reached your daily hard limit."
	reasonOverdue      = "New usage is blocked: your credits are used up, and Overage Protection is suspended while an invoice is past due."
)

// OverviewPage is the snapshot of the organisation's financial status and
// related settings.
func OverviewPage(p OverviewProps) Node {
	f := p.Figures
	p.Page.Title = "Overview"
	return Page(p.Page,
		pageHeader("Overview", "A snapshot of your organization's financial status and related settings.",
			If(p.Page.Session.Role.CanChange(), A(Class("btn btn-primary"), Href("/billing/credits"), Text("Add credits")))),
		unpaidBanner(p.Account),
		rechargeBanner(p.Recharge),
		blocked(f.Reason),
		Div(Class("card-grid"),
			Section(Class("card"), Aria("labelledby", "credit-balance"),
				H2(Class("card-title"), ID("credit-balance"), Text("Your Credit Balance")),
				Dl(Class("figures"),
					figure("total-credits", "Total Credits", amount(f.TotalCredits), helpTotalCredits, false),
					figure("usage-period", "Usage This Period", amount(f.UsagePeriod), helpUsagePeriod, false),
					figure("remaining-credits", "Remaining Credits", amount(f.Remaining), helpRemaining, true),
				),
				forecast(p.Forecast, f.Remaining),
				nextInvoice(p.NextInvoice, p.Estimate),
			),
			Section(Class("card"), Aria("labelledby", "available-usage"),
				H2(Class("card-title"), ID("available-usage"), Text("Your Available Usage")),
				Dl(Class("figures"),
					figure("available-remaining", "Remaining Credits", amount(f.Remaining), helpRemainingNet, false),
					overage(f),
					dailyLimit(f, p.Account.Spend.Enabled),
					figure("available-to-use", "Available to Use", amount(f.Available), helpAvailable, true),
				),
			),
		),
		Div(Class("card-grid settings-grid"),
			setting("Invoice Address", "invoice-address", addressSummary(p.Profile.Address), "/billing/address", "Edit address"),
			setting("Invoice Billing Email", "billing-email", emailSummary(p.Profile.BillingEmail), "/billing/notifications", "Edit email"),
			setting("Auto Recharge", "auto-recharge", Group{status(p.Account.AutoRecharge.Enabled),
				If(p.Account.AutoRecharge.DisabledReason != "", P(Class("field-error"), Text(p.Account.AutoRecharge.DisabledReason)))},
				"/billing/auto-recharge", "Modify"),
			setting("Spend Management", "spend-management", spendSummary(p.Account.Spend), "/billing/spend-management", "Modify"),
		),
		recentChanges(p.Changes),
	)
}

// unpaidBanner tells of money owed: the unpaid invoices' total and the
// oldest's due date, with Pay now; past due, that Overage Protection is
// suspended until they are paid.
func unpaidBanner(a billing.Account) Node {
	if a.UnpaidDue <= 0 {
		return nil
	}
	pay := A(Class("btn btn-primary btn-sm"), Href("/billing/invoices"), Text("Pay now"))
	if a.PastDue {
		return Div(Class("flash flash-error"), Role("status"), ID("unpaid-banner"),
			Text("Your invoice is past due: "), amount(a.UnpaidDue), Text(" was due on "), date(a.OldestDue),
			Text(". Overage Protection is suspended until it is paid. "), pay)
	}
	return Div(Class("flash flash-info"), Role("status"), ID("unpaid-banner"),
		amount(a.UnpaidDue), Text(" is due on "), date(a.OldestDue), Text(". "), pay)
}

// rechargeBanner says when auto-recharge, though on, cannot charge: a
// payment waits for the customer's confirmation, the last charge failed
// (why, and when it tries again), there is no card at all, no default
// card, or the default card has expired.
func rechargeBanner(rs *RechargeStatus) Node {
	if rs == nil {
		return nil
	}
	banner := func(children ...Node) Node {
		return Div(append([]Node{Class("flash flash-warning"), Role("status"), ID("recharge-banner")}, children...)...)
	}
	threshold := rs.Settings.Threshold.Display()
	switch {
	case rs.PendingPayment != "":
		return banner(Text("Your bank asks you to confirm the last auto-recharge payment. Auto-recharge charges nothing more until you do. "),
			A(Class("btn btn-primary btn-sm"), Href("/billing/auto-recharge"), Text("Confirm payment")))
	case rs.Failures > 0:
		var last Node = Text("The last auto-recharge charge failed")
		if rs.Last != nil {
			last = Group{Text("Auto-recharge failed: the charge of " + rs.Last.Amount.Display() + " on "), timestamp(rs.Last.Created),
				Text(" did not go through (" + strings.TrimSuffix(rs.Last.Message, ".") + ")")}
		}
		left := max(rs.MaxFailures-rs.Failures, 1)
		return banner(last, Text(". Next try after "), timestamp(rs.NextAttempt),
			Text(fmt.Sprintf(", while Remaining Credits are below %s; after %d more failed %s in a row, auto-recharge turns itself off. ",
				threshold, left, plural(int64(left), "charge", "charges"))),
			A(Class("btn btn-primary btn-sm"), Href("/billing/payment-methods"), Text("Check your cards")))
	case rs.NoCard:
		return banner(Text("Auto-recharge is on, but there is no card to charge: when Remaining Credits fall below "+threshold+", nothing can be added. "),
			A(Class("btn btn-primary btn-sm"), Href("/billing/payment-methods/new?next=/billing/auto-recharge"), Text("Add a card")))
	case rs.NoDefault:
		return banner(Text("Auto-recharge is on, but there is no usable card: add a card or make one your default. When Remaining Credits fall below "+threshold+", nothing can be added until you do. "),
			A(Class("btn btn-primary btn-sm"), Href("/billing/payment-methods"), Text("Payment Methods")))
	case rs.Expired != "":
		return banner(Text("Auto-recharge is on, but your default card "+rs.Expired+" expired "+rs.ExpiredOn+": add a card or make another one your default. When Remaining Credits fall below "+threshold+", nothing can be added until you do. "),
			A(Class("btn btn-primary btn-sm"), Href("/billing/payment-methods"), Text("Payment Methods")))
	}
	return nil
}

// nextInvoice says when the next invoice is issued and what it comes to
// so far: the usage, the credit applied to it and the amount due.
func nextInvoice(on time.Time, est invoicing.Figures) Node {
	head := Group{Text("Next invoice on "), date(on)}
	switch {
	case est.Usage <= 0:
		return P(Class("next-invoice"), ID("next-invoice"), head, Text(": no usage to invoice so far."))
	case est.Due == 0 && est.Applied == est.Usage:
		return P(Class("next-invoice"), ID("next-invoice"), head, Text(", estimated so far at "), amount(0),
			Text(" due: your credits cover the "), amount(est.Usage), Text(" of usage."))
	case est.Due == 0:
		return P(Class("next-invoice"), ID("next-invoice"), head, Text(", estimated so far at "), amount(0),
			Text(" due: the "), amount(est.Carried), Text(" of usage your credits do not cover is under the "),
			amount(invoicing.MinimumCharge), Text(" minimum charge, and carries into the invoice after."))
	}
	return P(Class("next-invoice"), ID("next-invoice"), head, Text(", estimated so far at "), amount(est.Due),
		Text(" due: "), amount(est.Usage), Text(" of usage, "), amount(est.Applied), Text(" of it paid from your credits."))
}

func blocked(reason string) Node {
	switch reason {
	case billing.ReasonPaymentOverdue:
		return Div(Class("flash flash-error"), Role("status"), Text(reasonOverdue), Text(" "), A(Href("/billing/invoices"), Text("Pay now")))
	case billing.ReasonInsufficientCredits:
		return Div(Class("flash flash-error"), Role("status"), Text(reasonInsufficient), Text(" "), A(Href("/billing/credits"), Text("Add usage credits")))
	case billing.ReasonDailyLimitReached:
		return Div(Class("flash flash-error"), Role("status"), Text(reasonDailyLimit), Text(" "), A(Href("/billing/spend-management"), Text("Spend Management")))
	}
	return nil
}

// figure is one labelled figure with its one-line explanation. id names the
// value for tests and assistive technology.
func figure(id, label string, value Node, help string, total bool) Node {
	return Div(Classes{"figure": true, "figure-total": total},
		Dt(ID(id+"-label"), Text(label)),
		Dd(Class("figure-value"), ID(id), Aria("labelledby", id+"-label"), value),
		Dd(Class("figure-help"), Text(help)),
	)
}

// overage is the credit line, with how much of it is in use.
func overage(f billing.Figures) Node {
	used := f.OverageUsed()
	return Div(Class("figure"),
		Dt(ID("overage-protection-label"), Text("Overage Protection")),
		Dd(Class("figure-value"), ID("overage-protection"), Aria("labelledby", "overage-protection-label"), amount(f.OverageLimit)),
		If(f.OverageSuspended, Dd(Class("field-error"), ID("overage-suspended"), Text("Suspended while an invoice is past due."))),
		If(f.OverageLimit > 0, Group{
			Dd(Class("figure-help"), ID("overage-used"), Text("Overage used "), amount(used), Text(" of "), amount(f.OverageLimit)),
			Dd(meter(percent(used, f.OverageLimit), "Overage Protection in use")),
		}),
		Dd(Class("figure-help"), Text(helpOverage)),
	)
}

// forecast says how long Remaining Credits last at the last week's usage.
func forecast(fc billing.Forecast, remaining money.Money) Node {
	avg := fmt.Sprintf("At your %d-day average of %s a day, ", billing.ForecastDays, fc.DailyAverage.Display())
	switch {
	case fc.Known && fc.Days == 0:
		return P(Class("forecast"), ID("forecast"), Text(avg+"your credits run out today."))
	case fc.Known:
		return P(Class("forecast"), ID("forecast"), Text(avg+fmt.Sprintf("your credits last about %d %s, until ", fc.Days, plural(fc.Days, "day", "days"))), date(fc.Until), Text("."))
	case remaining > 0:
		return P(Class("forecast muted"), ID("forecast"), Text(fmt.Sprintf("No usage in the last %d days to forecast from.", billing.ForecastDays)))
	}
	return nil
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// percent is part of whole in percent, clamped to 0–100.
func percent(part, whole money.Money) int {
	return billing.Figures{DailyLimitOn: true, DailyBudget: whole, UsedToday: part}.DailyUsedFraction()
}

// spendSummary is the Spend Management card's state, in the daily hard
// limit tile's words.
func spendSummary(sp billing.SpendSettings) Node {
	switch {
	case !sp.Enabled:
		return status(false)
	case sp.DailyBudget > 0:
		return Group{status(true), P(Text("Daily hard limit "), amount(sp.DailyBudget))}
	}
	return Group{status(true), P(Class("muted"), Text("No daily budget set: no daily hard limit applies."))}
}

// dailyLimit is the daily hard limit tile; spendOn is Spend Management's
// switch, which applies a limit only with a budget set.
func dailyLimit(f billing.Figures, spendOn bool) Node {
	switch {
	case !f.DailyLimitOn && spendOn:
		return figure("daily-limit", "Spend Management Daily Hard Limit", Text("No limit"), helpDailyLimitNone, false)
	case !f.DailyLimitOn:
		return figure("daily-limit", "Spend Management Daily Hard Limit", Text("Off"), helpDailyLimitOff, false)
	}
	pct := f.DailyUsedFraction()
	return Div(Class("figure"),
		Dt(ID("daily-limit-label"), Text("Spend Management Daily Hard Limit")),
		Dd(Class("figure-value"), ID("daily-limit"), Aria("labelledby", "daily-limit-label"),
			amount(f.UsedToday), Span(Class("muted"), Text(" of ")), amount(f.DailyBudget)),
		Dd(meter(pct, "Used today against the daily hard limit")),
		Dd(Class("figure-help"), Text(helpDailyLimit)),
	)
}

func setting(title, id string, summary Node, href, action string) Node {
	return Section(Class("card"), Aria("labelledby", id),
		H2(Class("card-title"), ID(id), Text(title)),
		Div(ID(id+"-value"), summary),
		// The label tells the two "Modify" links apart for screen readers.
		Div(Class("card-footer"), A(Class("btn btn-secondary btn-sm"), Href(href), If(action == "Modify", Aria("label", action+" "+title)), Text(action))),
	)
}

func addressSummary(a billing.Address) Node {
	if a.CompanyName == "" {
		return P(Class("muted"), Text("No invoice address yet."))
	}
	return P(Text(a.CompanyName))
}

func emailSummary(email string) Node {
	if email == "" {
		return P(Class("muted"), Text("No billing email yet: billing notifications go to no one."))
	}
	return P(Text(email))
}

func status(on bool) Node {
	if on {
		return Span(Class("status status-on"), Text("Enabled"))
	}
	return Span(Class("status status-off"), Text("Disabled"))
}

// meter is a bar of pct percent (0–100), drawn as SVG so that the strict
// Content-Security-Policy (no style attributes) holds.
func meter(pct int, label string) Node {
	return El("svg", Class("meter"), Role("meter"), Aria("label", label),
		Aria("valuemin", "0"), Aria("valuemax", "100"), Aria("valuenow", itoa(pct)),
		Attr("viewBox", "0 0 100 8"), Attr("preserveAspectRatio", "none"), Attr("focusable", "false"),
		El("rect", Class("meter-track"), Attr("width", "100"), Attr("height", "8")),
		El("rect", Classes{"meter-bar": true, "over": pct >= 100}, Attr("width", itoa(pct)), Attr("height", "8")),
	)
}
