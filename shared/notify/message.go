package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
)

// Detail types the notifier sends, the rule's pattern in template.yaml and
// on the local bus.
const (
	TypeSpendThreshold = events.TypeSpendThreshold
	TypeSpendBudget    = events.TypeSpendBudget
	// TypeRechargeFailed is an auto-recharge charge that failed.
	TypeRechargeFailed = "balance.recharge_failed"
	// TypeRechargeActionRequired is an auto-recharge charge the bank wants
	// the customer to confirm (recharge.TypeRechargeActionRequired).
	TypeRechargeActionRequired = "balance.recharge_action_required"
	// TypeInvoiceActionRequired is an invoice payment the bank wants the
	// customer to confirm (Stripe's invoice.payment_action_required).
	TypeInvoiceActionRequired = "invoice.payment_action_required"
	// TypeInvoicePastDue is an organisation whose invoice stayed unpaid
	// past its due date and grace period: Overage Protection is suspended
	// until it is paid. The notifier raises it itself (NotifyPastDue),
	// once per past-due episode.
	TypeInvoicePastDue = "invoice.past_due"
	// TypeTest is the event "Send test event" posts to the webhook (never
	// emailed).
	TypeTest = "webhook.test"
)

// Types lists the detail types Handle accepts.
var Types = []string{TypeSpendThreshold, TypeSpendBudget, TypeRechargeFailed, TypeRechargeActionRequired, TypeInvoiceActionRequired}

// emailFor returns the email telling the billing email about the event d.
// Its links start with publicURL (PUBLIC_URL, the one public origin); with
// none (tests that do not set it) the email names the pages without links.
func emailFor(to string, d events.Detail, publicURL string) Email {
	subject, body := message(d)
	text := "Hello,\n\n" + body + "\n\nOrganisation: " + d.OrgID + "\n\nThis email goes to your organisation's billing email. " +
		"Manage these notifications on the Spend Management page of the Billing section.\n"
	if base := strings.TrimRight(publicURL, "/"); base != "" {
		text += "\nSpend Management: " + base + "/billing/spend-management\n"
		switch d.Type {
		case TypeRechargeFailed:
			text += "Payment Methods: " + base + "/billing/payment-methods\n" +
				"Add Usage Credits: " + base + "/billing/credits\n"
		case TypeRechargeActionRequired:
			text += "Confirm the payment: " + base + "/billing/auto-recharge\n"
		case TypeInvoiceActionRequired, TypeInvoicePastDue:
			text += "Pay the invoice: " + base + "/billing/invoices\n"
		}
		text += "Billing overview: " + base + "/billing\n"
	}
	return Email{To: to, Subject: subject, Text: text}
}

// message returns the subject and the main text of the email about d.
func message(d events.Detail) (subject, text string) {
	figures := fmt.Sprintf("Used today: %s\nRemaining credits: %s\nAvailable to use: %s",
		d.UsedToday.Display(), d.Remaining.Display(), d.Available.Display())
	switch d.Type {
	case TypeSpendThreshold:
		return "Your daily usage passed " + d.Threshold.Display(),
			fmt.Sprintf("Your credit usage today (%s, UTC) is %s, past your daily email notification threshold of %s. "+
				"We send this email at most once a day.\n\n%s", d.Day, d.UsedToday.Display(), d.Threshold.Display(), figures)
	case TypeSpendBudget:
		return "Daily budget reached: new calls are blocked until 00:00 UTC",
			fmt.Sprintf("Your credit usage today (%s, UTC) is %s and has reached your daily budget of %s. "+
				"New API calls and connections are rejected until 00:00 UTC (%s), when the budget starts again. "+
				"To allow more usage today, raise the daily budget on the Spend Management page.\n\n%s",
				d.Day, d.UsedToday.Display(), d.Threshold.Display(), nextDay(d.Day), figures)
	case TypeRechargeFailed:
		return "Auto-recharge failed: your card was not charged",
			fmt.Sprintf("Your Remaining Credits (%s) fell below your auto-recharge threshold of %s, "+
				"but charging your default card failed. Check your card on the Payment Methods page, "+
				"or add credits on the Add Usage Credits page. We will try again later; after repeated "+
				"failures auto-recharge turns itself off.\n\n%s", d.Remaining.Display(), d.Threshold.Display(), figures)
	case TypeRechargeActionRequired:
		return "Auto-recharge needs your confirmation",
			fmt.Sprintf("Your Remaining Credits (%s) fell below your auto-recharge threshold of %s, and your bank asks you "+
				"to confirm the payment before your card is charged. Open the Auto Recharge page and choose Confirm payment; "+
				"until then auto-recharge charges nothing more.\n\n%s", d.Remaining.Display(), d.Threshold.Display(), figures)
	case TypeInvoiceActionRequired:
		return "Your invoice payment needs your confirmation",
			"Your bank asks you to confirm the automatic payment of your invoice. Open the Invoices page and choose Pay now " +
				"to complete it."
	case TypeInvoicePastDue:
		return "Your invoice is past due: Overage Protection is paused",
			fmt.Sprintf("Your unpaid invoices (%s, the oldest due on %s) are past due. Until they are paid, "+
				"Overage Protection is paused: API calls are refused once your credits are used up. "+
				"Open the Invoices page and choose Pay now; Overage Protection returns as soon as the payment arrives.\n\n"+
				"Remaining credits: %s\nAvailable to use: %s",
				d.AmountDue.Display(), d.DueDate, d.Remaining.Display(), d.Available.Display())
	case TypeTest:
		return "Test notification", "This is a test notification from the Billing section."
	default:
		return "Billing notification: " + d.Type, fmt.Sprintf("A billing event (%s) happened on %s.\n\n%s", d.Type, d.Day, figures)
	}
}

// nextDay returns the start of the UTC day after day ("2006-01-02") as
// text, or "the next day" when day is not a date.
func nextDay(day string) string {
	t, err := time.Parse(billing.DayLayout, strings.TrimSpace(day))
	if err != nil {
		return "the next day"
	}
	return t.AddDate(0, 0, 1).Format("Monday, 2 January 2006")
}
