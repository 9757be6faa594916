package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/invoicing/pdf"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// invoicesPageSize is how many entries one page of the order and invoice
// history shows.
const invoicesPageSize = 20

// handleInvoices serves the Invoices page: Payments Due, with "Pay now",
// and one page of the order and invoice history (?page= carries its
// cursor). It reads no cards: "Pay now" chooses the card on its
// confirmation. (The payments service is not used since then.)
func handleInvoices(inv *invoicing.Service, _ *payments.Service, local bool, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		lists, err := inv.List(r.Context(), sess.OrgID, r.URL.Query().Get("page"), invoicesPageSize)
		switch {
		case err != nil:
			renderError(w, r, log, err)
		case lists.Top:
			http.Redirect(w, r, "/billing/invoices#history", http.StatusSeeOther)
		default:
			page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
				return html.InvoicesPage(html.InvoicesProps{
					Page: pageProps(w, r, "/billing/invoices"), Due: lists.Due, History: lists.History,
					Newer: lists.Newer, Older: lists.Older, Token: formToken(), Local: local,
				}), nil
			}).ServeHTTP(w, r)
		}
	})
}

// handleInvoice serves the printable invoice, or a top-up's receipt, of
// the signed-in organisation; another organisation's id is 404.
func handleInvoice(inv *invoicing.Service, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sess, _ := auth.FromContext(r.Context())
		d, err := inv.Document(r.Context(), sess.OrgID, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return html.InvoiceDocumentPage(html.InvoiceDocumentProps{Page: pageProps(w, r, "/billing/invoices"), Doc: d}), nil
	})
}

// handleInvoicePDF sends the invoice or receipt as a PDF download: Stripe's
// hosted invoice PDF for a Stripe invoice (a redirect), else ours.
func handleInvoicePDF(inv *invoicing.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		d, err := inv.Document(r.Context(), sess.OrgID, r.PathValue("id"))
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		if strings.HasPrefix(d.ProviderPDF, "https://") {
			http.Redirect(w, r, d.ProviderPDF, http.StatusSeeOther)
			return
		}
		// Render before writing, so a failure shows the error page
		// instead of a cut-off file.
		var buf bytes.Buffer
		if err := pdf.Write(&buf, d); err != nil {
			renderError(w, r, log, err)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ToLower(d.Kind)+"-"+d.Number+`.pdf"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(buf.Bytes()) // a write error means the client went away
		}
	})
}

// handlePayInvoice pays an invoice due ("Pay now") in two steps: a POST
// without confirm=yes shows what would be charged to which card and
// charges nothing; the POST of that confirmation (confirm=yes, the same
// one-time token) charges, once per form however often it is submitted,
// and returns to the Invoices page, where the invoice has moved to the
// history.
func handlePayInvoice(inv *invoicing.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		token := r.PostFormValue("token")
		if len(token) != 32 || strings.Trim(token, "0123456789abcdef") != "" {
			token = formToken() // a form without its token still charges at most once per submit
		}
		if r.PostFormValue("confirm") != "yes" {
			confirmPayInvoice(w, r, inv, sess.OrgID, token, log)
			return
		}
		res, err := inv.Pay(r.Context(), sess.OrgID, r.PathValue("id"), r.PostFormValue("card"), token)
		switch code := billing.ErrorCode(err); {
		case err == nil && res.Charged:
			redirect(w, r, "/billing/invoices", "success", "Invoice "+res.Invoice.ID+" is paid: "+res.Invoice.Due.Display()+" charged to "+res.Invoice.PaidWith+".")
		case err == nil:
			redirect(w, r, "/billing/invoices", "info", "Invoice "+res.Invoice.ID+" is already paid; nothing more was charged.")
		case code == billing.EINVALID, code == billing.ECONFLICT:
			redirect(w, r, "/billing/invoices", "error", billing.ErrorMessage(err))
		default:
			renderError(w, r, log, err)
		}
	})
}

// confirmPayInvoice shows the confirmation of "Pay now" with the chosen
// card (the default one unless another was chosen); it charges nothing.
func confirmPayInvoice(w http.ResponseWriter, r *http.Request, inv *invoicing.Service, orgID, token string, log *slog.Logger) {
	q, err := inv.Quote(r.Context(), orgID, r.PathValue("id"), r.PostFormValue("card"))
	switch {
	case err == nil && q.Invoice.Status == store.InvoicePaid:
		redirect(w, r, "/billing/invoices", "info", "Invoice "+q.Invoice.ID+" is already paid; nothing more was charged.")
	case billing.ErrorCode(err) == billing.ECONFLICT:
		redirect(w, r, "/billing/invoices", "error", billing.ErrorMessage(err))
	default:
		page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
			if err != nil {
				return nil, err
			}
			return html.PayInvoicePage(html.PayInvoiceProps{Page: pageProps(w, r, "/billing/invoices"), Quote: q, Token: token}), nil
		}).ServeHTTP(w, r)
	}
}

// handleCloseCycle closes the signed-in organisation's current billing
// period now (local mode only), as the monthly schedule would at its end.
func handleCloseCycle(inv *invoicing.Service, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		closed, err := inv.Close(r.Context(), sess.OrgID, now())
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		msg := "This month's billing cycle is closed: invoice " + closed.ID + ", usage " + closed.Usage.Display() + ", credit applied " +
			closed.Applied.Display() + ", amount due " + closed.Due.Display() + " (" + closed.Status + ")."
		if closed.Usage == 0 {
			msg = "This month's billing cycle is closed, with no usage to invoice."
		}
		redirect(w, r, "/billing/invoices", "success", msg)
	})
}
