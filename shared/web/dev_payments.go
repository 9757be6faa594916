package web

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// handleDevPayments lists the organisation's sandbox card payments (top-up
// orders and paid invoices) with the operator's refund and dispute
// actions. Local mode only.
func handleDevPayments(svc *payments.Service, s *store.Store, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sess, _ := auth.FromContext(r.Context())
		orders, err := s.Orders(r.Context(), sess.OrgID)
		if err != nil {
			return nil, err
		}
		invoices, err := s.Invoices(r.Context(), sess.OrgID)
		if err != nil {
			return nil, err
		}
		props := html.DevPaymentsProps{Page: pageProps(w, r, "/billing/invoices")}
		// Only payments the sandbox made can be refunded or disputed here;
		// the demo's seeded history has none behind it.
		sandboxed := func(id string) (bool, error) {
			_, err := svc.OwnPayment(r.Context(), sess.OrgID, id)
			if billing.ErrorCode(err) == billing.ENOTFOUND {
				return false, nil
			}
			return err == nil, err
		}
		for _, o := range orders {
			ok, err := sandboxed(o.ID)
			if err != nil {
				return nil, err
			}
			if ok && strings.HasPrefix(o.ID, "pi_") {
				props.Payments = append(props.Payments, html.DevPayment{ID: o.ID, What: "Top-up " + o.Method, Amount: o.Amount,
					Refunded: o.Refunded(), Disputed: o.Disputed()})
			}
		}
		for _, inv := range invoices {
			ok, err := sandboxed(inv.PaymentID)
			if err != nil {
				return nil, err
			}
			if ok && inv.Status == store.InvoicePaid {
				props.Payments = append(props.Payments, html.DevPayment{ID: inv.PaymentID, What: "Invoice " + inv.ID, Amount: inv.Due, Refunded: inv.Refunded})
			}
		}
		return html.DevPaymentsPage(props), nil
	})
}

// sandboxPayment is the organisation's sandbox payment the request's path
// names; when there is none it answers the request and reports false.
func sandboxPayment(w http.ResponseWriter, r *http.Request, svc *payments.Service, log *slog.Logger) (*sandbox.Provider, auth.Session, payments.Payment, bool) {
	sess, _ := auth.FromContext(r.Context())
	sb, ok := svc.Provider().(*sandbox.Provider)
	if !ok {
		renderError(w, r, log, billing.Errorf(billing.ENOTFOUND, "Refunds and disputes here are for sandbox payments only."))
		return nil, sess, payments.Payment{}, false
	}
	pay, err := svc.OwnPayment(r.Context(), sess.OrgID, r.PathValue("id"))
	if err != nil {
		renderError(w, r, log, err)
		return nil, sess, payments.Payment{}, false
	}
	return sb, sess, pay, true
}

// handleDevRefund refunds part or all of one of the organisation's sandbox
// payments, as an operator does in Stripe's Dashboard, and applies it as
// Stripe's charge.refunded would: a top-up's refund is debited once per
// refund, an invoice's shows on the invoice. Local mode only.
func handleDevRefund(svc *payments.Service, inv *invoicing.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sb, sess, pay, ok := sandboxPayment(w, r, svc, log)
		if !ok {
			return
		}
		amount, err := money.ParseInput(strings.TrimSpace(r.PostFormValue("amount")))
		if err != nil {
			redirect(w, r, devPaymentsDone, "error", "Enter the amount to refund in dollars, e.g. 10 or 10.50.")
			return
		}
		_, refunds, err := sb.Refund(r.Context(), pay.ID, amount)
		if billing.ErrorCode(err) == billing.EINVALID {
			redirect(w, r, devPaymentsDone, "error", billing.ErrorMessage(err))
			return
		}
		for _, re := range refunds {
			if err != nil {
				break
			}
			_, err = svc.Refunded(r.Context(), sess.OrgID, pay, re.ID, re.Amount)
			if billing.ErrorCode(err) == billing.ENOTFOUND && !pay.TopUp && inv != nil {
				err = inv.PaymentRefunded(r.Context(), sess.OrgID, pay.ID, "", re.ID, re.Amount)
			}
		}
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		redirect(w, r, devPaymentsDone, "success", amount.Display()+" of "+pay.ID+" was refunded.")
	})
}

// handleDevDispute opens a dispute of one of the organisation's sandbox
// top-ups, or closes it as won or lost (outcome), and applies it as
// Stripe's charge.dispute.created and charge.dispute.closed would: debited
// at once, credited back when won. Local mode only.
func handleDevDispute(svc *payments.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sb, sess, pay, ok := sandboxPayment(w, r, svc, log)
		if !ok {
			return
		}
		outcome := r.PostFormValue("outcome")
		if outcome != "" && outcome != "won" && outcome != "lost" {
			redirect(w, r, devPaymentsDone, "error", "A dispute closes as won or lost.")
			return
		}
		_, d, err := sb.Dispute(r.Context(), pay.ID, outcome)
		if billing.ErrorCode(err) == billing.EINVALID {
			redirect(w, r, devPaymentsDone, "error", billing.ErrorMessage(err))
			return
		}
		if err == nil {
			switch d.Status {
			case "won", "lost":
				err = svc.DisputeClosed(r.Context(), sess.OrgID, pay, d.ID, d.Amount, d.Status == "won")
			default:
				_, err = svc.Disputed(r.Context(), sess.OrgID, pay, d.ID, d.Amount)
			}
		}
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			redirect(w, r, devPaymentsDone, "info", "The dispute of "+pay.ID+" is "+d.Status+"; it is not a top-up, so the balance is unchanged.")
			return
		}
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		redirect(w, r, devPaymentsDone, "success", "The dispute of "+pay.ID+" is "+d.Status+".")
	})
}

// devPaymentsDone is where a refund or dispute action returns: the order
// and invoice history shows its effect (and flashes, which live under
// /billing, are shown there).
const devPaymentsDone = "/billing/invoices"
