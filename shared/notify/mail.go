package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/acme/billing/shared/store"
)

// Email is one plain-text message to one recipient.
type Email struct {
	To      string
	Subject string
	Text    string
}

// Mailer sends emails: SES in AWS (package notify/ses), the Outbox
// locally.
type Mailer interface {
	// Send sends e once; an error means it may not have been sent.
	Send(ctx context.Context, e Email) error
}

var _ Mailer = (*Outbox)(nil)

// mailError is the customer-safe summary of a mailer error, for the
// delivery record: the service's error code when it gave one.
func mailError(err error) string {
	var apiErr interface{ ErrorCode() string } // smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" {
		return fmt.Sprintf("The email service did not accept the email (%s).", apiErr.ErrorCode())
	}
	return "The email could not be sent."
}

// Outbox is the Mailer of local mode: it keeps every email in the table
// (partition OUTBOX, newest first) for the /dev/outbox page, and sends
// nothing.
type Outbox struct {
	items store.Items
	now   func() time.Time
}

// NewOutbox returns the outbox in s's table; now dates the emails (nil
// means time.Now).
func NewOutbox(s *store.Store, now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{items: s.Items(), now: now}
}

// SentEmail is an email the outbox holds.
type SentEmail struct {
	Email
	Sent time.Time
}

type outboxRecord struct {
	PK      string    `dynamodbav:"PK"` // OUTBOX
	SK      string    `dynamodbav:"SK"` // MAIL#<newest-first time>#<random>
	To      string    `dynamodbav:"to"`
	Subject string    `dynamodbav:"subject"`
	Text    string    `dynamodbav:"text"`
	Sent    time.Time `dynamodbav:"sent"`
}

const pkOutbox = "OUTBOX"

// Send keeps e in the outbox.
func (o *Outbox) Send(ctx context.Context, e Email) error {
	now := o.now().UTC()
	rec := outboxRecord{PK: pkOutbox, SK: "MAIL#" + newestFirst(now) + "#" + randomHex(4), To: e.To, Subject: e.Subject, Text: e.Text, Sent: now}
	if err := o.items.Put(ctx, rec, true); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// List returns the newest n emails of the outbox, newest first. It reads
// the whole partition (the outbox is local only, and small).
func (o *Outbox) List(ctx context.Context, n int) ([]SentEmail, error) {
	var recs []outboxRecord
	if err := o.items.Query(ctx, pkOutbox, "MAIL#", &recs); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	recs = recs[:min(n, len(recs))]
	out := make([]SentEmail, len(recs))
	for i, r := range recs {
		out[i] = SentEmail{Email: Email{To: r.To, Subject: r.Subject, Text: r.Text}, Sent: r.Sent}
	}
	return out, nil
}

// newestFirst returns a fixed-width text of t that sorts later times
// first.
func newestFirst(t time.Time) string {
	return fmt.Sprintf("%019d", math.MaxInt64-t.UnixNano())
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
