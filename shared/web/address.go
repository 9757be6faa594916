package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// customerUpdater is a payment provider that keeps the organisation's
// invoice details (name, address, PO number, email) on its customer.
type customerUpdater interface {
	UpdateCustomer(ctx context.Context, customerID string, u payments.CustomerUpdate) error
}

// customerUpdaterOf returns the provider of svc as a customerUpdater; nil
// when there is none or it cannot update customers (then a customer that
// exists is reported as not updated).
func customerUpdaterOf(svc *payments.Service) customerUpdater {
	if svc == nil {
		return nil
	}
	cu, _ := svc.Provider().(customerUpdater)
	return cu
}

// syncCustomer applies u to the organisation's payment customer, when it
// has one. It reports whether the customer is up to date; a failure is
// logged (the local save stands, and saving again retries).
func syncCustomer(r *http.Request, cu customerUpdater, log *slog.Logger, customerID string, u payments.CustomerUpdate) bool {
	if customerID == "" {
		return true
	}
	if cu == nil {
		logger(log, r.Context()).Error("update payment customer: the payment provider cannot update customers", "customer", customerID)
		return false
	}
	if err := cu.UpdateCustomer(r.Context(), customerID, u); err != nil {
		logger(log, r.Context()).Error("update payment customer", "customer", customerID, "error", err)
		return false
	}
	return true
}

// addressFields are the form fields of the Invoice Address page, as named
// in DESIGN.md.
var addressFields = []string{"company_name", "address1", "address2", "city", "postal_code", "region", "country", "po_number"}

func addressValues(a billing.Address) map[string]string {
	return map[string]string{
		"company_name": a.CompanyName, "address1": a.Address1, "address2": a.Address2, "city": a.City,
		"postal_code": a.PostalCode, "region": a.Region, "country": a.Country, "po_number": a.PONumber,
	}
}

func addressFrom(v map[string]string) billing.Address {
	return billing.Address{
		CompanyName: v["company_name"], Address1: v["address1"], Address2: v["address2"], City: v["city"],
		PostalCode: v["postal_code"], Region: v["region"], Country: v["country"], PONumber: v["po_number"],
	}
}

func addressPage(w http.ResponseWriter, r *http.Request, values, errs map[string]string) g.Node {
	return html.AddressPage(html.AddressProps{Page: pageProps(w, r, "/billing/address"), Values: values, Errors: errs, Countries: billing.Countries()})
}

// handleAddress shows the Invoice Address form with the stored address.
func handleAddress(s *store.Store, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sess, _ := auth.FromContext(r.Context())
		p, err := s.Profile(r.Context(), sess.OrgID)
		if err != nil {
			return nil, err
		}
		return addressPage(w, r, addressValues(p.Address), nil), nil
	})
}

// handleSaveAddress validates and saves the invoice address, records what
// changed in the audit trail, then updates the payment customer (name,
// address, PO number) when the organisation has one. Bad input answers 422
// with the messages at their fields, the input kept and nothing saved. A
// failed customer update leaves the local save in place and says so;
// saving again retries it.
func handleSaveAddress(s *store.Store, cu customerUpdater, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		values := map[string]string{}
		for _, k := range addressFields {
			values[k] = strings.TrimSpace(r.PostFormValue(k))
		}
		a := addressFrom(values).Clean()
		if errs, ok := fieldErrors(a.Validate()); ok {
			renderStatus(w, r, log, http.StatusUnprocessableEntity, addressPage(w, r, values, errs))
			return
		}
		p, err := s.Profile(r.Context(), sess.OrgID)
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		if changes := billing.AddressChanges(p.Address, a); len(changes) > 0 {
			if err := s.SetAddress(r.Context(), sess.OrgID, p.Address, a, auditEntry(sess, auditAddress, changes)); err != nil {
				renderError(w, r, log, err)
				return
			}
		}
		if !syncCustomer(r, cu, log, p.CustomerID, payments.CustomerUpdate{Address: &a}) {
			redirect(w, r, "/billing/address", "error", "Your invoice address is saved here, but it is not yet on the invoices from our payment provider: "+
				"updating it there failed. Save again in a few minutes to retry.")
			return
		}
		redirect(w, r, "/billing/address", "success", "Your invoice address is saved.")
	})
}
