package html

import (
	"strconv"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// Delivery is one webhook or email delivery, for the deliveries list.
type Delivery struct {
	Time     time.Time
	Type     string
	Channel  string
	Status   string
	Code     int
	Attempts int
	// Reason says why a delivery failed or waits for a retry.
	Reason string
}

// SpendProps is the Spend Management page.
type SpendProps struct {
	Page     PageProps
	Settings billing.SpendSettings
	Today    money.Money
	Day      time.Time
	// Yesterday is the usage of the UTC day before Day.
	Yesterday money.Money
	// Usage is the daily usage of the last 30 days, for the chart.
	Usage map[string]money.Money
	// WebhookURL is the saved URL. Secret is its signing secret, for admins
	// only; PreviousUntil, when set, is until when the secret a rotation
	// replaced signs too.
	WebhookURL    string
	Secret        string
	PreviousUntil time.Time
	Deliveries    []Delivery
	Values        map[string]string
	Errors        map[string]string
	// ThresholdWarning, when set, warns at the email threshold that it is
	// at or above the daily budget (the settings save all the same).
	ThresholdWarning string
}

// The Spend Management switch's words: what it turns on, and what still
// goes out while it is off (notify.SentWhileOff).
const (
	SpendSwitchHint = "When on, the daily budget below is a hard limit, the email threshold and budget notifications go to your billing email, " +
		"and every notification is also posted to your webhook URL."
	SpendOffHint = "When off, there is no daily limit, no threshold or budget notification, and nothing is posted to your webhook. " +
		"Billing problems are still emailed to your billing email: a failed auto-recharge, a payment your bank asks you to confirm, and an invoice past due."
)

// SpendPage controls and monitors the organisation's credit usage: the
// toggle, today's and yesterday's usage, the daily budget (a hard limit),
// the email threshold, the webhook URL with its signing secret and test
// event, the last deliveries and a 30-day chart.
func SpendPage(p SpendProps) Node {
	p.Page.Title = "Spend Management"
	v, e := p.Values, p.Errors
	admin := p.Page.Session.Role.CanChange()
	// The fields apply only with the switch on: while it is off they are
	// disabled (spend.js follows the switch live) and, not being
	// submitted, keep their saved values. A field with an error stays
	// enabled so that it can be put right.
	off := v["enabled"] != "on"
	disabled := func(id string) Node { return If(off && e[id] == "", Disabled()) }
	threshold := moneyInput("email_threshold", v["email_threshold"], e, "50.00", disabled("email_threshold"), Data("spend-field", ""))
	return Page(p.Page,
		pageHeader("Spend Management", "Control and monitor your organization's credit usage and expenses."),
		blockedToday(p),
		If(!admin, Div(Class("notice"), Text("Only admins can change Spend Management."))),
		Form(Class("form"), Method("post"), Action("/billing/spend-management"), Attr("novalidate"), changeFields(admin,
			errorSummary(e, "enabled", "daily_budget", "email_threshold", "webhook_url"),
			Div(Class("field spend-switch"),
				Label(Class("toggle"),
					control(Input, "enabled", true, e, Type("checkbox"), Value("on"), If(v["enabled"] == "on", Checked())),
					Span(Class("toggle-track"), Aria("hidden", "true")),
					Span(Class("toggle-label"), Text("Spend Management")),
				),
				Div(Class("hint"), ID("enabled-hint"), P(Text(SpendSwitchHint)), P(Text(SpendOffHint))),
			),
			formField("daily_budget", "Set daily credit usage budget",
				moneyInput("daily_budget", v["daily_budget"], e, "100.00", disabled("daily_budget"), Data("spend-field", "")),
				"If your organization's usage exceeds this budget in a day (UTC), any new connections or API calls will be rejected until the end of that day. Leave empty for no limit.", e),
			Div(Class("field"),
				Label(For("email_threshold"), Text("Set a daily credit usage email notification threshold")),
				threshold,
				P(Class("hint"), ID("email_threshold-hint"),
					Text("If your usage surpasses this threshold in a day (UTC), an email notification will be sent to your billing email. Leave empty for no email."),
					If(p.ThresholdWarning != "", Span(Class("field-warning"), ID("email_threshold-warning"), Text(" "+p.ThresholdWarning)))),
				If(e["email_threshold"] != "", P(Class("field-error"), ID("email_threshold-error"), Text(e["email_threshold"]))),
			),
			formField("webhook_url", "Set a webhook URL", control(Input, "webhook_url", true, e, Type("url"), Value(v["webhook_url"]),
				Placeholder("https://example.com/hooks/billing"), disabled("webhook_url"), Data("spend-field", "")),
				"Receives a signed POST when a notification threshold or your budget is reached.", e),
			Div(Class("form-actions"), Button(Class("btn btn-primary"), Type("submit"), Text("Save Changes"))),
		)),
		Div(Class("card-grid"),
			Section(Class("card"), Aria("labelledby", "consumed"),
				H2(Class("card-title"), ID("consumed"), Text("Credit usage")),
				Dl(Class("figures"),
					figure("consumed-today", "Credits Consumed Today", amount(p.Today), "Since 00:00 UTC.", false),
					figure("consumed-yesterday", "Credits Consumed Yesterday", amount(p.Yesterday), "The previous UTC day.", false),
				),
				UsageChart(p.Usage, p.Day, 30, spendLines(p.Settings)...),
			),
		),
		If(p.WebhookURL != "", Section(Class("card"), Aria("labelledby", "webhook"),
			H2(Class("card-title"), ID("webhook"), Text("Webhook")),
			P(Text("Deliveries to "), Code(Text(p.WebhookURL)), Text(" are signed (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature with HMAC-SHA256).")),
			If(!p.Settings.Enabled, P(Class("notice"), ID("webhook-off"),
				Text("Spend Management is off: nothing is posted to this URL until you turn it on, except a test event you send."))),
			If(admin && p.Secret != "", signingSecret(p.Secret, p.PreviousUntil)),
			If(admin, Div(Class("card-footer"),
				Form(Class("inline"), Method("post"), Action("/billing/spend-management/test"),
					Button(Class("btn btn-secondary btn-sm"), Type("submit"), Text("Send test event"))),
				// Rotating asks first: the disclosure says what happens, and
				// its button rotates.
				Details(Class("confirm"),
					Summary(Class("btn btn-secondary btn-sm"), Text("Rotate signing secret")),
					Div(Class("confirm-body"),
						P(Text("A new secret signs deliveries at once. The current one keeps signing beside it for 24 hours, so your receiver can switch over without losing events.")),
						Form(Class("inline"), Method("post"), Action("/billing/spend-management/rotate-secret"),
							Button(Class("btn btn-danger btn-sm"), Type("submit"), Text("Rotate now"))),
					),
				),
			)),
		)),
		If(admin, Script(Src("/static/spend.js"), Defer())),
		If(admin && p.Secret != "", Script(Src("/static/copy.js"), Defer())),
		H2(Text("Recent deliveries")),
		deliveries(p.Deliveries),
	)
}

// blockedToday says, while today's usage has reached the daily budget,
// that new usage is blocked until midnight UTC, with a link to the budget.
func blockedToday(p SpendProps) Node {
	sp := p.Settings
	if !sp.Enabled || sp.DailyBudget <= 0 || p.Today < sp.DailyBudget {
		return nil
	}
	return Div(Class("flash flash-error"), Role("status"), ID("spend-blocked"),
		Strong(Text("Blocked until 00:00 UTC — "), A(Href("#daily_budget"), Text("raise the budget"))),
		Text(" Today's usage, "), amount(p.Today), Text(", has reached your daily budget of "), amount(sp.DailyBudget),
		Text(": new API calls and connections are rejected until the day ends (UTC)."),
	)
}

// spendLines are the saved budget and email threshold, drawn on the chart
// while Spend Management is on.
func spendLines(sp billing.SpendSettings) []ChartLine {
	if !sp.Enabled {
		return nil
	}
	return []ChartLine{
		{Label: "Daily budget", Amount: sp.DailyBudget, Class: "chart-limit"},
		{Label: "Email threshold", Amount: sp.EmailThreshold, Class: "chart-threshold"},
	}
}

// signingSecret reveals the webhook signing secret on request, with a copy
// button (copy.js shows it; without JavaScript the secret can be selected).
func signingSecret(secret string, previousUntil time.Time) Node {
	return Group{
		Details(Class("secret"),
			Summary(Text("Reveal signing secret")),
			P(Code(ID("signing-secret"), Text(secret)), Text(" "),
				Button(Class("btn btn-secondary btn-sm"), Type("button"), Data("copy", "signing-secret"), Attr("hidden"), Text("Copy"))),
		),
		If(!previousUntil.IsZero(), P(Class("muted"), ID("previous-secret"),
			Text("The secret this one replaced signs deliveries too until "), timestamp(previousUntil), Text("."))),
	}
}

func deliveries(ds []Delivery) Node {
	if len(ds) == 0 {
		return Div(Class("empty"), P(Text("No notifications sent yet.")))
	}
	return Div(Class("table-wrap"), Table(Class("table table-stack"),
		Caption(Text("The last 20 notifications, newest first. Times are UTC.")),
		THead(Tr(Th(Scope("col"), Text("Time")), Th(Scope("col"), Text("Event")), Th(Scope("col"), Text("Channel")),
			Th(Scope("col"), Text("Status")), Th(Scope("col"), Class("num"), Text("Response")), Th(Scope("col"), Class("num"), Text("Attempts")),
			Th(Scope("col"), Text("Reason")))),
		TBody(Map(ds, func(d Delivery) Node {
			badge := "badge badge-gray"
			switch d.Status {
			case "delivered":
				badge = "badge badge-green"
			case "failed":
				badge = "badge badge-red"
			}
			code := ""
			if d.Code > 0 {
				code = strconv.Itoa(d.Code)
			}
			return Tr(labelled("Time", timestamp(d.Time)), labelled("Event", Text(d.Type)), labelled("Channel", Text(d.Channel)),
				labelled("Status", Span(Class(badge), Text(d.Status))),
				labelled("Response", Class("num"), Text(code)), labelled("Attempts", Class("num"), Text(strconv.Itoa(d.Attempts))),
				labelled("Reason", Text(d.Reason)))
		})),
	))
}
