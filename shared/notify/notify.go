// Package notify sends the billing notifications: an email to the
// organisation's billing email (Amazon SES in AWS, the Outbox locally) and
// a POST signed per the Standard Webhooks spec to the organisation's
// webhook URL, for each threshold event (functions/notifier behind the
// EventBridge rule on Types).
//
// Every (event, channel) pair is one delivery, recorded in the table and
// sent at most once successfully: the event's Detail.ID (<org>:<day>:<flag>,
// the same for every publication of one crossing) is its key, so each
// notification goes out once per organisation and UTC day (DESIGN.md,
// invariant 6). A failed send (timeout, an answer other than 2xx, a
// refused address, an SES error) is retried with growing waits (1 min,
// 5 min, 30 min, 2 h, 6 h, 12 h) for RetryWindow after the first attempt,
// by RetryDue on a schedule, then marked failed; it is never lost when the
// sender fails.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/store"
	awsevents "github.com/aws/aws-lambda-go/events"
)

// Notifier sends and records notifications. It is safe for concurrent
// use, also across processes: deliveries are claimed with conditional
// writes.
type Notifier struct {
	store  *store.Store
	items  store.Items
	mailer Mailer
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
	local  bool
	// publicURL starts every link in an email (see WithPublicURL).
	publicURL string
}

// New returns a Notifier that keeps its records in s, sends emails with
// mailer and webhooks with client. A nil client means NewHTTPClient(local,
// nil): SSRF-safe, loopback allowed only in local mode. Local mode also
// accepts plain-http loopback webhook URLs. now nil means time.Now; log
// nil discards.
func New(s *store.Store, mailer Mailer, client *http.Client, now func() time.Time, log *slog.Logger, local bool) *Notifier {
	if client == nil {
		client = NewHTTPClient(local, nil)
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{store: s, items: s.Items(), mailer: mailer, client: client, now: now, log: log, local: local}
}

// WithPublicURL returns n with emails linking to the Billing section's
// pages at publicURL (PUBLIC_URL, like https://billing.example.com): the
// one public origin, never a request's host. It returns n.
func (n *Notifier) WithPublicURL(publicURL string) *Notifier {
	n.publicURL = strings.TrimRight(publicURL, "/")
	return n
}

// Handle is the target of the rule on Types: it emails the billing email
// (skipped, with a log line, when there is none) and posts to the webhook
// URL (when one is set). Spend Management's switch decides what goes out
// (see SentWhileOff): while it is off, the spend notifications are not
// sent at all and nothing is posted to the webhook; the other billing
// notifications (auto-recharge and invoice payments) are still emailed.
// A delivery made before for the event's id and
// the channel is not made again, so EventBridge's repeats and concurrent
// invocations send once. A failed send is recorded and retried later, and
// is not an error; errors are the table's (the event may be redelivered)
// or an event without an id or organisation. Other detail types are
// logged and ignored.
func (n *Notifier) Handle(ctx context.Context, e awsevents.EventBridgeEvent) error {
	if !slices.Contains(Types, e.DetailType) {
		n.log.Warn("notifier ignored an event of another type", "type", e.DetailType, "event", e.ID)
		return nil
	}
	var d events.Detail
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		return fmt.Errorf("notify %s: read detail: %w", e.ID, err)
	}
	if d.Type == "" {
		d.Type = e.DetailType
	}
	if d.ID == "" || d.OrgID == "" || strings.Contains(d.ID, "#") {
		return fmt.Errorf("notify %s: the detail needs an id (without '#') and an organisation", e.ID)
	}
	return n.notify(ctx, d)
}

// notify emails the billing email and posts to the webhook URL about d,
// once per channel for d.ID (see Handle).
func (n *Notifier) notify(ctx context.Context, d events.Detail) error {
	if _, err := time.Parse(billing.DayLayout, d.Day); err != nil {
		d.Day = billing.Day(n.now())
	}
	log := n.log.With("org", d.OrgID, "event", d.ID, "type", d.Type)
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("notify %s: %w", d.ID, err)
	}
	profile, err := n.store.Profile(ctx, d.OrgID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		log.Warn("notification for an unknown organisation dropped")
		return nil
	}
	if err != nil {
		return fmt.Errorf("notify %s: %w", d.ID, err)
	}
	acct, err := n.store.Account(ctx, d.OrgID, n.now())
	if err != nil {
		return fmt.Errorf("notify %s: %w", d.ID, err)
	}
	if !acct.Spend.Enabled && !SentWhileOff(d.Type) {
		log.Info("Spend Management is off: notification not sent")
		return nil
	}
	ep, err := n.store.Webhook(ctx, d.OrgID)
	if err != nil {
		return fmt.Errorf("notify %s: %w", d.ID, err)
	}
	if ep.URL != "" && !acct.Spend.Enabled {
		log.Info("Spend Management is off: webhook not posted")
		ep.URL = ""
	}
	var errs []error
	if profile.BillingEmail == "" {
		log.Info("no billing email: email notification skipped")
	} else {
		errs = append(errs, n.deliver(ctx, log, n.newRecord(d, body, ChannelEmail, profile.BillingEmail)))
	}
	if ep.URL != "" {
		errs = append(errs, n.deliver(ctx, log, n.newRecord(d, body, ChannelWebhook, ep.URL)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("notify %s: %w", d.ID, err)
	}
	return nil
}

// SentWhileOff reports whether a notification of detail type typ goes out
// while Spend Management is off, by email to the billing email only: all
// but the spend notifications (email threshold, daily budget), since a
// failed auto-recharge or an invoice payment waiting for the customer is
// billing correspondence the customer must not miss. The webhook belongs
// to Spend Management: nothing is posted to it while the switch is off
// (except the test event, sent on request).
func SentWhileOff(typ string) bool {
	return typ != TypeSpendThreshold && typ != TypeSpendBudget
}

// deliver makes the first attempt of a new delivery, unless it was made
// before.
func (n *Notifier) deliver(ctx context.Context, log *slog.Logger, rec deliveryRecord) error {
	c, won, err := n.start(ctx, rec)
	if err != nil {
		return err
	}
	if !won {
		log.Info("notification already sent or under way", "channel", rec.Channel)
		return nil
	}
	_, err = n.attempt(ctx, c)
	return err
}

// SendTest posts a signed TypeTest event to the organisation's webhook URL
// now ("Send test event"), and returns its delivery: delivered, or failed
// with the status code and error (a test is not retried). It returns a
// billing.FieldError on "webhook_url" when no URL is set, and the table's
// errors.
func (n *Notifier) SendTest(ctx context.Context, orgID string) (Delivery, error) {
	ep, err := n.store.Webhook(ctx, orgID)
	if err != nil {
		return Delivery{}, err
	}
	if ep.URL == "" {
		return Delivery{}, billing.FieldError(fieldWebhookURL, "Set a webhook URL first, then send a test event.")
	}
	now := n.now().UTC()
	day := billing.Day(now)
	d := events.Detail{ID: orgID + ":" + day + ":test:" + randomHex(8), Type: TypeTest, OrgID: orgID, Day: day, OccurredAt: now}
	body, err := json.Marshal(d)
	if err != nil {
		return Delivery{}, fmt.Errorf("test event: %w", err)
	}
	c, _, err := n.start(ctx, n.newRecord(d, body, ChannelWebhook, ep.URL))
	if err != nil {
		return Delivery{}, err
	}
	r, err := n.attempt(ctx, c)
	if err != nil {
		return Delivery{}, err
	}
	return r.delivery(), nil
}

// Deliveries returns the organisation's last limit deliveries (of the last
// 13 months), newest first, each as it stands now.
func (n *Notifier) Deliveries(ctx context.Context, orgID string, limit int) ([]Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	recs, err := n.recentDeliveries(ctx, orgID, limit)
	if err != nil {
		return nil, fmt.Errorf("deliveries of %s: %w", orgID, err)
	}
	out := make([]Delivery, len(recs))
	for i, r := range recs {
		out[i] = r.delivery()
	}
	return out, nil
}
