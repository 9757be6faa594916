package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	g "maragu.dev/gomponents"
)

// handleCreditsForm shows the Add Usage Credits form with a fresh one-time
// token (a double submit of one form charges once).
func handleCreditsForm(svc *payments.Service, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sess, _ := auth.FromContext(r.Context())
		cards, err := svc.Cards(r.Context(), sess.OrgID)
		if err != nil {
			return nil, err
		}
		// ?method= preselects one of the organisation's own cards (the one
		// just added) or Cryptocurrency when offered; ?amount= fills in a
		// preset amount (or the one the confirmation's Back returns). Both
		// only fill the form: anything else is ignored.
		method, want := "", r.URL.Query().Get("method")
		for _, c := range cards {
			if c.Default && method == "" || c.ID == want {
				method = c.ID
			}
		}
		if want == "crypto" && svc.CryptoEnabled() {
			method = want
		}
		amount := ""
		if m, err := money.ParseInput(r.URL.Query().Get("amount")); err == nil && payments.ValidateTopUp(m) == nil {
			amount = m.String()
		}
		return html.CreditsPage(html.CreditsProps{Page: pageProps(w, r, "/billing/credits"), Cards: cards, Method: method, Amount: amount,
			Token: formToken(), Crypto: svc.CryptoEnabled()}), nil
	})
}

func formToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// topUpAmount parses the amount typed into Add Usage Credits. Its EINVALID
// errors (on the amount field) say what is wrong with the value typed.
func topUpAmount(text string) (money.Money, error) {
	amount, err := money.ParseInput(text)
	switch {
	case errors.Is(err, money.ErrEmpty):
		return 0, billing.FieldError("amount", "Enter the amount to add, from $5 to $5,000.")
	case err != nil:
		return 0, billing.FieldError("amount", "Enter an amount like 25 or 25.50.")
	case amount < payments.MinTopUp:
		return 0, billing.FieldError("amount", "%s is below the %s minimum.", amount.Display(), payments.MinTopUp.Display())
	case amount > payments.MaxTopUp:
		return 0, billing.FieldError("amount", "%s is above the %s maximum.", amount.Display(), payments.MaxTopUp.Display())
	case amount%money.Cent != 0:
		return 0, billing.FieldError("amount", "%s has fractions of a cent: enter dollars and cents, like 25.50.", amount.String())
	}
	return amount, nil
}

// topUpMethod returns the card of the organisation that method names, or
// nil for Cryptocurrency; EINVALID on the method field when it is neither.
func topUpMethod(svc *payments.Service, cards []payments.Card, method string) (*payments.Card, error) {
	switch {
	case method == "":
		return nil, billing.FieldError("method", "Select a payment method.")
	case method == "crypto" && svc.CryptoEnabled():
		return nil, nil
	}
	for _, c := range cards {
		if c.ID == method {
			return &c, nil
		}
	}
	return nil, billing.FieldError("method", "Select one of your payment methods.")
}

// handleAddCredits checks the amount and method (every error at once,
// next to its field and in the form's summary), then asks for confirmation:
// the form's POST shows what will be charged, to which card, and Remaining
// Credits now and after; nothing is charged until a POST with confirm=yes
// (and the same one-time token). That POST charges the card or opens a
// crypto checkout; the provider returns the customer to publicURL. A
// success shows on the next page (POST-redirect-GET); a decline is shown
// at the method with nothing credited.
func handleAddCredits(svc *payments.Service, stripeKey, publicURL string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.PostFormValue("action") {
		case "confirm":
			confirmPayment(w, r, svc, stripeKey, log)
			return
		case "authenticate", "fail-authentication":
			sandboxAuthenticate(w, r, svc, log)
			return
		}
		sess, _ := auth.FromContext(r.Context())
		amountText := strings.TrimSpace(r.PostFormValue("amount"))
		method := r.PostFormValue("method")
		token := r.PostFormValue("token")
		if len(token) != 32 || strings.Trim(token, "0123456789abcdef") != "" {
			token = formToken() // a form without its token still charges at most once per submit
		}
		var cards []payments.Card
		err := func() error {
			cards, err := svc.Cards(r.Context(), sess.OrgID)
			if err != nil {
				return err
			}
			amount, amountErr := topUpAmount(amountText)
			card, methodErr := topUpMethod(svc, cards, method)
			if err := errors.Join(amountErr, methodErr); err != nil {
				return err
			}
			if r.PostFormValue("confirm") != "yes" {
				return confirmTopUp(w, r, svc, log, amount, card, token)
			}
			if card == nil {
				co, err := svc.AddCreditsByCrypto(r.Context(), sess.OrgID, amount, token,
					absURL(publicURL, "/billing/credits?checkout=success"), absURL(publicURL, "/billing/credits?checkout=cancelled"))
				if err != nil {
					return err
				}
				http.Redirect(w, r, co.URL, http.StatusSeeOther)
				return nil
			}
			top, err := svc.AddCreditsByCard(r.Context(), sess.OrgID, amount, method, token, absURL(publicURL, "/billing/credits/complete"))
			if err != nil {
				return err
			}
			switch {
			case top.Payment.Amount != amount:
				// The token was used before, for another amount: the
				// provider returned that payment and charged nothing now.
				redirect(w, r, "/billing/credits", "info", "This form was already submitted: its payment of "+top.Payment.Amount.Display()+
					" (payment "+top.Payment.ID+") stands, and nothing more was charged. To add "+amount.Display()+", fill in the form again.")
			case top.Payment.Status == payments.StatusSucceeded:
				redirect(w, r, "/billing/credits", "success", amount.Display()+" was added to your balance (payment "+top.Payment.ID+").")
			case top.Payment.Status == payments.StatusRequiresAction:
				allowStripeJS(w)
				renderStatus(w, r, log, http.StatusOK, html.ConfirmPaymentPage(html.ConfirmPaymentProps{
					Page: pageProps(w, r, "/billing/credits"), StripeKey: stripeKey, ClientSecret: top.Payment.ClientSecret, Amount: amount}))
			default:
				redirect(w, r, "/billing/credits", "info", "Your payment is processing; the credits appear once it succeeds.")
			}
			return nil
		}()
		formFailed(w, r, log, err, func(errs map[string]string) (g.Node, error) {
			var err error
			if cards == nil {
				cards, err = svc.Cards(r.Context(), sess.OrgID)
			}
			return html.CreditsPage(html.CreditsProps{
				Page: pageProps(w, r, "/billing/credits"), Cards: cards, Amount: amountText, Method: method, Token: formToken(), Errors: errs,
				Crypto: svc.CryptoEnabled()}), err
		})
	})
}

// confirmTopUp shows the confirmation of a checked top-up: amount, card
// (nil: crypto) and Remaining Credits now and after. It charges nothing.
func confirmTopUp(w http.ResponseWriter, r *http.Request, svc *payments.Service, log *slog.Logger, amount money.Money, card *payments.Card, token string) error {
	sess, _ := auth.FromContext(r.Context())
	remaining, err := svc.RemainingCredits(r.Context(), sess.OrgID)
	if err != nil {
		return err
	}
	after, err := remaining.Add(amount)
	if err != nil {
		return fmt.Errorf("balance after a top-up of %s: %w", amount, err)
	}
	renderStatus(w, r, log, http.StatusOK, html.CreditsConfirmPage(html.CreditsConfirmProps{
		Page: pageProps(w, r, "/billing/credits"), Amount: amount, Card: card, Token: token, Remaining: remaining, After: after}))
	return nil
}

// confirmPayment brings a top-up the bank wants confirmed (an auto-recharge
// refused off-session with authentication_required) back on-session: the
// bank's check runs in the browser (Stripe.js handleNextAction, or the
// sandbox's page) and returns to /billing/credits/complete, which credits
// it once. The payment must be a top-up of the organisation's own
// customer, else it is not found.
func confirmPayment(w http.ResponseWriter, r *http.Request, svc *payments.Service, stripeKey string, log *slog.Logger) {
	sess, _ := auth.FromContext(r.Context())
	pay, err := svc.ConfirmPayment(r.Context(), sess.OrgID, r.PostFormValue("payment"), "")
	if err != nil {
		renderError(w, r, log, err)
		return
	}
	switch pay.Status {
	case payments.StatusSucceeded:
		redirect(w, r, "/billing/auto-recharge", "success", pay.Amount.Display()+" was added to your balance (payment "+pay.ID+").")
	case payments.StatusRequiresAction:
		if _, ok := svc.Provider().(*sandbox.Provider); ok {
			renderStatus(w, r, log, http.StatusOK, html.AuthenticatePage(html.AuthenticateProps{
				Page: pageProps(w, r, "/billing/auto-recharge"), PaymentID: pay.ID, Amount: pay.Amount}))
			return
		}
		allowStripeJS(w)
		renderStatus(w, r, log, http.StatusOK, html.ConfirmPaymentPage(html.ConfirmPaymentProps{
			Page: pageProps(w, r, "/billing/auto-recharge"), StripeKey: stripeKey, ClientSecret: pay.ClientSecret, Amount: pay.Amount}))
	case payments.StatusProcessing:
		redirect(w, r, "/billing/auto-recharge", "info", "Your payment is processing; the credits appear once it succeeds.")
	default:
		redirect(w, r, "/billing/auto-recharge", "error", "The payment was not confirmed, so nothing was charged. Check your card, then try again.")
	}
}

// sandboxAuthenticate finishes the sandbox's simulated 3-D Secure check of
// one of the organisation's top-ups and credits it once if it passed.
func sandboxAuthenticate(w http.ResponseWriter, r *http.Request, svc *payments.Service, log *slog.Logger) {
	sb, ok := svc.Provider().(*sandbox.Provider)
	if !ok {
		renderError(w, r, log, billing.Errorf(billing.ENOTFOUND, "No such payment."))
		return
	}
	sess, _ := auth.FromContext(r.Context())
	pay, err := svc.TopUpPayment(r.Context(), sess.OrgID, r.PostFormValue("payment"))
	if err == nil {
		_, err = sb.Authenticate(r.Context(), pay.ID, r.PostFormValue("action") == "authenticate")
	}
	if err == nil {
		pay, err = svc.ConfirmReturn(r.Context(), sess.OrgID, pay.ID)
	}
	if err != nil {
		renderError(w, r, log, err)
		return
	}
	if pay.Status == payments.StatusSucceeded {
		redirect(w, r, "/billing/credits", "success", pay.Amount.Display()+" was added to your balance (payment "+pay.ID+").")
		return
	}
	redirect(w, r, "/billing/credits", "error", "The payment was not confirmed, so nothing was charged. Try again or use another card.")
}

// handleCreditsComplete is where a 3-D Secure confirmation returns: for an
// admin it credits the payment if it succeeded and is one of the
// organisation's top-ups (any other payment is "not found"). A viewer's
// GET credits nothing and reads nothing from the provider; the webhook
// credits the payment either way.
func handleCreditsComplete(svc *payments.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := auth.FromContext(r.Context())
		if !sess.Role.CanChange() {
			redirect(w, r, "/billing/credits", "info", "Only an admin can complete a payment here. A confirmed payment is added to your balance within a few minutes.")
			return
		}
		pay, err := svc.ConfirmReturn(r.Context(), sess.OrgID, r.URL.Query().Get("payment_intent"))
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		if pay.Status == payments.StatusSucceeded {
			redirect(w, r, "/billing/credits", "success", pay.Amount.Display()+" was added to your balance (payment "+pay.ID+").")
			return
		}
		redirect(w, r, "/billing/credits", "error", "The payment was not confirmed, so nothing was charged. Try again or use another card.")
	})
}

// handleSandboxCheckout shows the sandbox's simulated crypto checkout.
func handleSandboxCheckout(svc *payments.Service, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sb, ok := svc.Provider().(*sandbox.Provider)
		if !ok {
			return nil, billing.Errorf(billing.ENOTFOUND, "No such checkout.")
		}
		sess, _ := auth.FromContext(r.Context())
		cs, err := sb.Checkout(r.Context(), sess.OrgID, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		if cs.Status != sandbox.CheckoutOpen {
			return nil, billing.Errorf(billing.ECONFLICT, "This checkout is already finished.")
		}
		return html.CheckoutPage(html.CheckoutProps{Page: pageProps(w, r, "/billing/credits"), ID: cs.ID, Amount: cs.Amount, Status: cs.Status}), nil
	})
}

// handleSandboxCheckoutFinish pays (simulated) or cancels a sandbox
// checkout; a paid one is credited once.
func handleSandboxCheckoutFinish(svc *payments.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sb, ok := svc.Provider().(*sandbox.Provider)
		if !ok {
			renderError(w, r, log, billing.Errorf(billing.ENOTFOUND, "No such checkout."))
			return
		}
		sess, _ := auth.FromContext(r.Context())
		cs, err := sb.FinishCheckout(r.Context(), sess.OrgID, r.PathValue("id"), r.PostFormValue("action") == "pay")
		if err != nil {
			renderError(w, r, log, err)
			return
		}
		if cs.Status != sandbox.CheckoutComplete {
			redirect(w, r, "/billing/credits", "info", "The crypto checkout was cancelled; nothing was charged.")
			return
		}
		if _, err := svc.CheckoutCompleted(r.Context(), sess.OrgID, cs.ID, cs.Amount); err != nil {
			renderError(w, r, log, err)
			return
		}
		redirect(w, r, "/billing/credits", "success", cs.Amount.Display()+" was added to your balance (crypto checkout "+cs.ID+").")
	})
}
