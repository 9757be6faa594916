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
}

// SpendPage controls and monitors the organisation's credit usage: the
// toggle, today's and yesterday's usage, the daily budget (a hard limit),
// the email threshold, the webhook URL with its signing secret and test
// event, the last deliveries and a 30-day chart.
func SpendPage(p SpendProps) Node {
	p.Page.Title = "Spend Management"
	v, e := p.Values, p.Errors
	admin := p.Page.Session.Role.CanChange()
	return Page(p.Page,
		pageHeader("Spend Management", "Control and monitor your organization's credit usage and expenses."),
		If(!admin, Div(Class("notice"), Text("Only admins can change Spend Management."))),
		Div(Class("card-grid"),
			Section(Class("card"), Aria("labelledby", "consumed"),
				H2(Class("card-title"), ID("consumed"), Text("Credit usage")),
				Dl(Class("figures"),
					figure("consumed-today", "Credits Consumed Today", amount(p.Today), "Since 00:00 UTC.", false),
					figure("consumed-yesterday", "Credits Consumed Yesterday", amount(p.Yesterday), "The previous UTC day.", false),
				),
				UsageChart(p.Usage, p.Day, 30, budgetIfOn(p.Settings)),
			),
		),
		Form(Class("form"), Method("post"), Action("/billing/spend-management"), Attr("novalidate"),
			Div(Class("field"),
				Label(Class("toggle"),
					control(Input, "enabled", false, e, Type("checkbox"), Value("on"), If(v["enabled"] == "on", Checked())),
					Span(Class("toggle-track"), Aria("hidden", "true")),
					Span(Class("toggle-label"), Text("Spend Management")),
				),
				P(Class("hint"), Text("When on, the daily budget below is a hard limit and notifications go out.")),
			),
			formField("daily_budget", "Set daily credit usage budget", moneyInput("daily_budget", v["daily_budget"], e, "100.00"),
				"If your organization's usage exceeds this budget in a day (UTC), any new connections or API calls will be rejected until the end of that day. Leave empty for no limit.", e),
			formField("email_threshold", "Set a daily credit usage email notification threshold", moneyInput("email_threshold", v["email_threshold"], e, "50.00"),
				"If your usage surpasses this threshold in a day (UTC), an email notification will be sent to your billing email.", e),
			formField("webhook_url", "Set a webhook URL", control(Input, "webhook_url", true, e, Type("url"), Value(v["webhook_url"]), Placeholder("https://example.com/hooks/billing")),
				"Receives a signed POST when a notification threshold or your budget is reached.", e),
			Div(Class("form-actions"), Button(Class("btn btn-primary"), Type("submit"), If(!admin, Disabled()), Text("Save Changes"))),
		),
		If(p.WebhookURL != "", Section(Class("card"), Aria("labelledby", "webhook"),
			H2(Class("card-title"), ID("webhook"), Text("Webhook")),
			P(Text("Deliveries to "), Code(Text(p.WebhookURL)), Text(" are signed (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature with HMAC-SHA256).")),
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
		If(admin && p.Secret != "", Script(Src("/static/copy.js"), Defer())),
		H2(Text("Recent deliveries")),
		deliveries(p.Deliveries),
	)
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

func budgetIfOn(s billing.SpendSettings) money.Money {
	if s.Enabled {
		return s.DailyBudget
	}
	return 0
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
