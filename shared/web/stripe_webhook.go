package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments/stripeprovider"
)

// maxWebhookBody caps a Stripe webhook body; Stripe's events are far
// smaller.
const maxWebhookBody = 512 << 10

// handleStripeWebhook serves POST /webhooks/stripe: it verifies the
// signature on the raw, size-capped body first, then applies the event at
// most once. 400 for a bad signature (nothing changes), 500 when applying
// failed (Stripe retries), 200 otherwise, also for events already applied.
func handleStripeWebhook(ev *stripeprovider.Events, secret string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if secret == "" || ev == nil {
			writeAPIError(w, http.StatusNotFound, "not_configured", "Stripe webhooks are not configured here.")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err != nil {
			writeAPIError(w, http.StatusRequestEntityTooLarge, "too_large", "body too large")
			return
		}
		e, err := stripeprovider.VerifyWebhook(body, r.Header.Get("Stripe-Signature"), secret)
		if err != nil {
			logger(log, r.Context()).Warn("stripe webhook refused", "reason", errors.Unwrap(err))
			writeAPIError(w, http.StatusBadRequest, "invalid_signature", billing.ErrorMessage(err))
			return
		}
		if err := ev.Apply(r.Context(), e); err != nil {
			logger(log, r.Context()).Error("stripe webhook", "event", e.ID, "type", e.Type, "error", err)
			writeAPIError(w, http.StatusInternalServerError, "internal", "not applied; retry")
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"received": true})
	})
}
