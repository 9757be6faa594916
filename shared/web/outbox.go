package web

import (
	"log/slog"
	"net/http"

	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/store"
	g "maragu.dev/gomponents"
)

// outboxLimit is how many emails /dev/outbox shows.
const outboxLimit = 50

// handleOutbox lists the local outbox, newest first: every organisation's
// emails, for developers (local mode only).
func handleOutbox(s *store.Store, log *slog.Logger) http.Handler {
	return page(log, func(w http.ResponseWriter, r *http.Request) (g.Node, error) {
		sent, err := notify.NewOutbox(s, nil).List(r.Context(), outboxLimit)
		if err != nil {
			return nil, err
		}
		emails := make([]html.OutboxEmail, len(sent))
		for i, e := range sent {
			emails[i] = html.OutboxEmail{To: e.To, Subject: e.Subject, Text: e.Text, Sent: e.Sent}
		}
		return html.OutboxPage(html.OutboxProps{PageProps: pageProps(w, r, "/dev/outbox"), Emails: emails, Limit: outboxLimit}), nil
	})
}
