package web

import (
	"context"
	"errors"
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

// taxIDs is a payment provider that keeps its customers' tax IDs (Stripe
// and the sandbox).
type taxIDs interface {
	CreateTaxID(ctx context.Context, customerID string, t payments.TaxIDInput) (payments.TaxID, error)
	TaxIDs(ctx context.Context, customerID string) ([]payments.TaxID, error)
	DeleteTaxID(ctx context.Context, customerID, id string) error
}

// taxVerifier is a provider whose tax IDs are verified on request: the
// sandbox's stand-in for Stripe's own verification.
type taxVerifier interface {
	VerifyTaxID(ctx context.Context, customerID, id string) (payments.TaxID, error)
}

// taxProvider returns the provider's tax IDs; an internal error for a
// provider without them (a function deployed without a Stripe key).
func taxProvider(pay *payments.Service) (taxIDs, error) {
	if pay != nil {
		if tx, ok := pay.Provider().(taxIDs); ok {
			return tx, nil
		}
	}
	return nil, billing.Errorf(billing.EINTERNAL, "The payment provider keeps no tax IDs.")
}

// orgTaxIDs lists the organisation's tax IDs and returns its customer;
// none, and no customer, before it has one (a listing creates none).
func orgTaxIDs(ctx context.Context, s *store.Store, tx taxIDs, orgID string) (string, []payments.TaxID, error) {
	p, err := s.Profile(ctx, orgID)
	if err != nil || p.CustomerID == "" {
		return "", nil, err
	}
	ts, err := tx.TaxIDs(ctx, p.CustomerID)
	return p.CustomerID, ts, err
}

// orgTaxID returns the organisation's tax ID id and its customer;
// ENOTFOUND when it is not one of the organisation's.
func orgTaxID(ctx context.Context, s *store.Store, tx taxIDs, orgID, id string) (string, payments.TaxID, error) {
	customer, ts, err := orgTaxIDs(ctx, s, tx, orgID)
	if err != nil {
		return "", payments.TaxID{}, err
	}
	for _, t := range ts {
		if t.ID == id {
			return customer, t, nil
		}
	}
	return "", payments.TaxID{}, billing.Errorf(billing.ENOTFOUND, "That tax registration is not on your account.")
}

// handleTax lists the organisation's tax registrations.
func handleTax(s *store.Store, pay *payments.Service, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		tx, err := taxProvider(pay)
		if err != nil {
			return nil, err
		}
		sess, _ := auth.FromContext(r.Context())
		_, ts, err := orgTaxIDs(r.Context(), s, tx, sess.OrgID)
		if err != nil {
			return nil, err
		}
		_, canVerify := tx.(taxVerifier)
		return html.TaxSettingsPage(html.TaxSettingsProps{Page: pageProps(w, r, "/billing/tax"), TaxIDs: ts, CanVerify: canVerify}), nil
	})
}

// taxIDInput reads the Add Tax Registration form: the normalised input,
// or the EINVALID error of every bad field at once. Each field is checked
// on its own first (a country and a type from the lists, a value); then
// the type must be issued in the country and the value match its format,
// and a value that does not is named in the message with an example.
func taxIDInput(values map[string]string) (payments.TaxIDInput, error) {
	in := payments.TaxIDInput{Country: strings.ToUpper(values["country"]), Type: values["type"], Value: values["value"]}
	var errs []error
	switch {
	case in.Country == "":
		errs = append(errs, billing.FieldError("country", "Choose the country of the registration."))
	case payments.TaxCountryName(in.Country) == in.Country:
		errs = append(errs, billing.FieldError("country", "“%s” is not a country on the list: choose one from it.", quoted(in.Country)))
	}
	t, known := payments.LookupTaxIDType(in.Type)
	switch {
	case in.Type == "":
		errs = append(errs, billing.FieldError("type", "Choose the type of tax ID."))
	case !known:
		errs = append(errs, billing.FieldError("type", "Choose a type of tax ID from the list."))
	}
	if in.Value == "" {
		example := "DE123456789"
		if known {
			example = t.Example(in.Country)
		}
		errs = append(errs, billing.FieldError("value", "Enter the tax ID as on your registration, e.g. %s.", example))
	}
	if len(errs) > 0 {
		return in, errors.Join(errs...)
	}
	out, err := in.Normalize()
	if e, ok := fieldErrors(err); ok && e["value"] != "" {
		return in, billing.FieldError("value", "“%s” is not a valid %s in %s: enter it like %s.",
			quoted(in.Value), t.Description, payments.TaxCountryName(in.Country), t.Example(in.Country))
	}
	return out, err
}

// handleTaxForm shows the "Add Tax Registration" form.
func handleTaxForm(log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		return html.AddTaxIDPage(html.AddTaxIDProps{Page: pageProps(w, r, "/billing/tax"), Values: map[string]string{}}), nil
	})
}

// handleAddTaxID adds a tax registration to the organisation's customer,
// creating the customer on first need. Bad input is shown next to its
// field with what was typed kept, and nothing is saved (no customer is
// created either).
func handleAddTaxID(s *store.Store, pay *payments.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		values := map[string]string{}
		for _, k := range []string{"country", "type", "value"} {
			values[k] = strings.TrimSpace(r.PostFormValue(k))
		}
		var added payments.TaxID
		err := func() error {
			tx, err := taxProvider(pay)
			if err != nil {
				return err
			}
			in, err := taxIDInput(values)
			if err != nil {
				return err
			}
			_, existing, err := orgTaxIDs(r.Context(), s, tx, sess.OrgID)
			if err != nil {
				return err
			}
			for _, t := range existing {
				if t.Type == in.Type && strings.EqualFold(t.Value, in.Value) {
					return billing.FieldError("value", "%s is registered already: it is in your tax registrations.", in.Value)
				}
			}
			customer, err := pay.Customer(r.Context(), sess.OrgID)
			if err != nil {
				return err
			}
			added, err = tx.CreateTaxID(r.Context(), customer, in)
			return err
		}()
		if formFailed(w, r, log, err, func(errs map[string]string) (g.Node, error) {
			return html.AddTaxIDPage(html.AddTaxIDProps{Page: pageProps(w, r, "/billing/tax"), Values: values, Errors: errs}), nil
		}) {
			return
		}
		recordChanges(r, s, log, auditTax, billing.Changes{{What: "tax registration " + payments.TaxIDDescription(added.Type) + " " + added.Value + " added"}})
		redirect(w, r, "/billing/tax", "success", payments.TaxIDDescription(added.Type)+" "+added.Value+" is added.")
	})
}

// handleDeleteTaxIDConfirm asks before a tax registration is deleted.
func handleDeleteTaxIDConfirm(s *store.Store, pay *payments.Service, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		tx, err := taxProvider(pay)
		if err != nil {
			return nil, err
		}
		sess, _ := auth.FromContext(r.Context())
		_, t, err := orgTaxID(r.Context(), s, tx, sess.OrgID, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return html.DeleteTaxIDPage(html.DeleteTaxIDProps{Page: pageProps(w, r, "/billing/tax"), TaxID: t}), nil
	})
}

// handleDeleteTaxID deletes one of the organisation's tax registrations;
// another organisation's is not found, and nothing changes.
func handleDeleteTaxID(s *store.Store, pay *payments.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		t, err := func() (payments.TaxID, error) {
			tx, err := taxProvider(pay)
			if err != nil {
				return payments.TaxID{}, err
			}
			customer, t, err := orgTaxID(r.Context(), s, tx, sess.OrgID, r.PathValue("id"))
			if err != nil {
				return t, err
			}
			return t, tx.DeleteTaxID(r.Context(), customer, t.ID)
		}()
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		recordChanges(r, s, log, auditTax, billing.Changes{{What: "tax registration " + payments.TaxIDDescription(t.Type) + " " + t.Value + " deleted"}})
		redirect(w, r, "/billing/tax", "success", payments.TaxIDDescription(t.Type)+" "+t.Value+" is deleted.")
	})
}

// handleVerifyTaxID marks one of the organisation's tax registrations
// verified, in the sandbox only (local mode, for demos); Stripe verifies
// its own.
func handleVerifyTaxID(s *store.Store, pay *payments.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		t, err := func() (payments.TaxID, error) {
			tx, err := taxProvider(pay)
			if err != nil {
				return payments.TaxID{}, err
			}
			v, ok := tx.(taxVerifier)
			if !ok {
				return payments.TaxID{}, billing.Errorf(billing.ENOTFOUND, "Stripe verifies tax IDs itself; there is nothing to do here.")
			}
			customer, t, err := orgTaxID(r.Context(), s, tx, sess.OrgID, r.PathValue("id"))
			if err != nil {
				return t, err
			}
			return v.VerifyTaxID(r.Context(), customer, t.ID)
		}()
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		recordChanges(r, s, log, auditTax, billing.Changes{{What: "tax registration " + payments.TaxIDDescription(t.Type) + " " + t.Value + " marked verified (sandbox)"}})
		redirect(w, r, "/billing/tax", "success", payments.TaxIDDescription(t.Type)+" "+t.Value+" is marked verified (sandbox).")
	})
}
