// Package ses sends the notifier's emails with Amazon SES (API v2). It is
// its own package so that only the functions that send email link the SES
// client (and pay for its package initialisation).
package ses

import (
	"context"
	"fmt"

	"github.com/acme/billing/shared/notify"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

var _ notify.Mailer = (*Mailer)(nil)

// Mailer sends emails with Amazon SES.
type Mailer struct {
	client *sesv2.Client
	from   string
}

// New returns a Mailer sending from the address from (an identity
// verified in SES) with client.
func New(client *sesv2.Client, from string) *Mailer { return &Mailer{client: client, from: from} }

// FromConfig returns a Mailer sending from the address from with the SES
// client of cfg.
func FromConfig(cfg aws.Config, from string) *Mailer { return New(sesv2.NewFromConfig(cfg), from) }

// Send sends e with SendEmail as a UTF-8 plain-text message; SES's error
// is returned wrapped.
func (m *Mailer) Send(ctx context.Context, e notify.Email) error {
	utf8 := aws.String("UTF-8")
	_, err := m.client.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from),
		Destination:      &types.Destination{ToAddresses: []string{e.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(e.Subject), Charset: utf8},
			Body:    &types.Body{Text: &types.Content{Data: aws.String(e.Text), Charset: utf8}},
		}},
	})
	if err != nil {
		return fmt.Errorf("send email: %w", err)
	}
	return nil
}
