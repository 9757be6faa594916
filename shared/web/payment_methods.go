package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// setupIntenter is a provider that adds cards through Stripe Elements.
type setupIntenter interface {
	SetupIntent(ctx context.Context, customerID, addedBy string) (string, error)
}

// handlePaymentMethods lists the organisation's cards.
func handlePaymentMethods(svc *payments.Service, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sess, _ := auth.FromContext(r.Context())
		cards, err := svc.Cards(r.Context(), sess.OrgID)
		if err != nil {
			return nil, err
		}
		props := pageProps(w, r, "/billing/payment-methods")
		if r.URL.Query().Get("added") == "1" && props.Flash.Message == "" {
			// Back from Stripe Elements: the card is saved at Stripe.
			props.Flash = html.Flash{Kind: "success", Message: "Your card is saved."}
		}
		return html.PaymentMethodsPage(html.PaymentMethodsProps{Page: props, Cards: cards}), nil
	})
}

// handleSetDefaultCard makes a card the default and returns to the list.
func handleSetDefaultCard(svc *payments.Service, s *store.Store, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		label := cardLabel(r.Context(), svc, sess.OrgID, r.PostFormValue("card"))
		if err := svc.SetDefaultCard(r.Context(), sess.OrgID, r.PostFormValue("card")); err != nil {
			renderError(w, r, log, err)
			return
		}
		recordChanges(r, s, log, auditPaymentMethods, billing.Changes{{What: label + " set as default"}})
		redirect(w, r, "/billing/payment-methods", "success", "Your default card is changed.")
	})
}

// handleDeleteCardConfirm asks before a card is deleted.
func handleDeleteCardConfirm(svc *payments.Service, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sess, _ := auth.FromContext(r.Context())
		cards, err := svc.Cards(r.Context(), sess.OrgID)
		if err != nil {
			return nil, err
		}
		id := r.URL.Query().Get("card")
		for _, c := range cards {
			if c.ID == id {
				return html.DeleteCardPage(html.DeleteCardProps{Page: pageProps(w, r, "/billing/payment-methods"), Card: c, Cards: len(cards)}), nil
			}
		}
		return nil, billing.Errorf(billing.ENOTFOUND, "That card is not on your account.")
	})
}

// handleDeleteCard deletes a card; the default goes only when it is the
// last one.
func handleDeleteCard(svc *payments.Service, s *store.Store, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		label := cardLabel(r.Context(), svc, sess.OrgID, r.PostFormValue("card"))
		err := svc.DeleteCard(r.Context(), sess.OrgID, r.PostFormValue("card"))
		if billing.ErrorCode(err) == billing.EINVALID {
			redirect(w, r, "/billing/payment-methods", "error", billing.ErrorMessage(err))
			return
		}
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		recordChanges(r, s, log, auditPaymentMethods, billing.Changes{{What: label + " deleted"}})
		redirect(w, r, "/billing/payment-methods", "success", "The card is deleted.")
	})
}

// handleAddCardForm shows "Add New Credit Card": the sandbox's form, or
// Stripe Elements on a fresh SetupIntent. Only an admin's request creates
// the customer and the SetupIntent: a viewer's GET is told to ask an admin
// and changes nothing, here or at Stripe.
func handleAddCardForm(svc *payments.Service, stripeKey string, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		props := html.AddCardProps{Page: pageProps(w, r, "/billing/payment-methods"), Values: map[string]string{"next": safeNext(r.URL.Query().Get("next"))}}
		sess, _ := auth.FromContext(r.Context())
		if !sess.Role.CanChange() {
			return html.AddCardPage(props), nil // the page says only admins add cards
		}
		if si, ok := svc.Provider().(setupIntenter); ok {
			customer, err := svc.Customer(r.Context(), sess.OrgID)
			if err != nil {
				return nil, err
			}
			secret, err := si.SetupIntent(r.Context(), customer, sess.Email)
			if err != nil {
				return nil, err
			}
			allowStripeJS(w)
			props.StripeKey, props.ClientSecret = stripeKey, secret
			return html.AddCardPage(props), nil
		}
		props.Sandbox = true
		return html.AddCardPage(props), nil
	})
}

// handleAddCard saves a sandbox test card. Bad input is shown next to its
// field, with what was typed kept (never the card number's digits beyond
// what the form had) and nothing saved.
func handleAddCard(svc *payments.Service, s *store.Store, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sb, ok := svc.Provider().(*sandbox.Provider)
		if !ok {
			renderError(w, r, log, billing.Errorf(billing.ENOTFOUND, "Cards are added through the secure card form."))
			return
		}
		sess, _ := auth.FromContext(r.Context())
		values := map[string]string{}
		for _, k := range []string{"name", "number", "exp_month", "exp_year", "next"} {
			values[k] = strings.TrimSpace(r.PostFormValue(k))
		}
		month, _ := strconv.Atoi(values["exp_month"])
		year, _ := strconv.Atoi(values["exp_year"])
		if year > 0 && year < 100 {
			year += 2000
		}
		var card payments.Card
		err := func() error {
			customer, err := svc.Customer(r.Context(), sess.OrgID)
			if err != nil {
				return err
			}
			card, err = sb.AddCard(r.Context(), customer, sandbox.NewCard{
				Number: values["number"], ExpMonth: month, ExpYear: year, CVC: strings.TrimSpace(r.PostFormValue("cvc")), Name: values["name"],
			})
			return err
		}()
		if formFailed(w, r, log, err, func(errs map[string]string) (g.Node, error) {
			return html.AddCardPage(html.AddCardProps{Page: pageProps(w, r, "/billing/payment-methods"), Sandbox: true, Values: values, Errors: errs}), nil
		}) {
			return
		}
		if _, err := svc.CardAdded(r.Context(), sess.OrgID, card.ID); err != nil { // a first card is the default: the Overview's summary
			log.Error("record the card added", "org", sess.OrgID, "error", err)
		}
		recordChanges(r, s, log, auditPaymentMethods, billing.Changes{{What: "card " + payments.CardLabel(card) + " added"}})
		next := "/billing/payment-methods"
		if values["next"] != "" && values["next"] != "/billing" {
			next = safeNext(values["next"])
		}
		if next == "/billing/credits" { // back to the top-up, with the new card chosen
			next += "?method=" + url.QueryEscape(card.ID)
		}
		redirect(w, r, next, "success", "Your card is saved.")
	})
}

// cardLabel names one of the organisation's cards for the audit trail,
// "card Visa •••• 4242", or just "card" when it is not found.
func cardLabel(ctx context.Context, svc *payments.Service, orgID, cardID string) string {
	cards, err := svc.Cards(ctx, orgID)
	if err != nil {
		return "card"
	}
	for _, c := range cards {
		if c.ID == cardID {
			return "card " + payments.CardLabel(c)
		}
	}
	return "card"
}
