package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
)

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Delivery channels.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// RetryWindow is how long after its first attempt a failing delivery is
// retried; the attempt at its end is the last.
const RetryWindow = 24 * time.Hour

// backoffs are the waits after the 1st, 2nd, … failed attempt; the last
// repeats (cut short by RetryWindow).
var backoffs = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour}

// Delivery is one notification of one event on one channel.
type Delivery struct {
	// ID is the event's id: the webhook-id and the idempotency key.
	ID      string
	OrgID   string
	Channel string // ChannelEmail or ChannelWebhook
	Type    string // the detail type, e.g. spend.threshold_reached
	// Target is the email address, or the webhook URL last used.
	Target   string
	Status   string // StatusPending, StatusDelivered or StatusFailed
	Attempts int
	// StatusCode is the webhook's last HTTP status; 0 when there was none.
	StatusCode int
	// Error is the last failure, safe to show the customer; "" once
	// delivered.
	Error   string
	Created time.Time
	// Updated is when the last attempt ended (or started).
	Updated time.Time
	// NextAttempt is when a pending delivery is tried again.
	NextAttempt time.Time
}

// deliveryRecord is one version of a delivery. A delivery is a sequence
// of versions under one key (DLV#<day, newest first>#<event id>#<channel>#),
// each written only if new: claiming an attempt and recording its outcome
// are each a new version, so two senders can never both claim one attempt
// and a late writer never overwrites a newer state. The latest version is
// the delivery's state. The day first in the key lists an organisation's
// deliveries newest first, a month per Query.
type deliveryRecord struct {
	PK          string    `dynamodbav:"PK"` // DELIVERY#<org>
	SK          string    `dynamodbav:"SK"` // <key><version, 3 digits>
	Key         string    `dynamodbav:"key"`
	Version     int       `dynamodbav:"version"`
	OrgID       string    `dynamodbav:"org_id"`
	EventID     string    `dynamodbav:"event_id"`
	Channel     string    `dynamodbav:"channel"`
	Type        string    `dynamodbav:"type"`
	Day         string    `dynamodbav:"day"`
	Target      string    `dynamodbav:"target"`
	Status      string    `dynamodbav:"status"`
	Attempts    int       `dynamodbav:"attempts"`
	StatusCode  int       `dynamodbav:"status_code"`
	Error       string    `dynamodbav:"error"`
	Event       string    `dynamodbav:"event"` // the detail's JSON: the webhook body, the email's facts
	Created     time.Time `dynamodbav:"created"`
	Updated     time.Time `dynamodbav:"updated"`
	NextAttempt time.Time `dynamodbav:"next_attempt"`
}

func (r deliveryRecord) delivery() Delivery {
	return Delivery{ID: r.EventID, OrgID: r.OrgID, Channel: r.Channel, Type: r.Type, Target: r.Target, Status: r.Status,
		Attempts: r.Attempts, StatusCode: r.StatusCode, Error: r.Error, Created: r.Created, Updated: r.Updated, NextAttempt: r.NextAttempt}
}

func deliveryPK(orgID string) string { return "DELIVERY#" + orgID }

// deliveryKey is the sort key prefix of every version of the delivery of
// event id on channel, for the UTC day ("2006-01-02").
func deliveryKey(day, id, channel string) string {
	t, err := time.Parse(billing.DayLayout, day)
	if err != nil {
		t = time.Time{}
	}
	return "DLV#" + monthKey(t) + fmt.Sprintf("%02d", 99-t.Day()) + "#" + id + "#" + channel + "#"
}

// monthKey is the part of a delivery key for t's month; later months
// sort first.
func monthKey(t time.Time) string {
	return fmt.Sprintf("%06d", 999999-(t.Year()*100+int(t.Month())))
}

// newRecord returns the delivery of d (whose JSON is body) on channel to
// target, before its first version.
func (n *Notifier) newRecord(d events.Detail, body []byte, channel, target string) deliveryRecord {
	key := deliveryKey(d.Day, d.ID, channel)
	return deliveryRecord{PK: deliveryPK(d.OrgID), Key: key, OrgID: d.OrgID, EventID: d.ID, Channel: channel, Type: d.Type,
		Day: d.Day, Target: target, Status: StatusPending, Event: string(body), Created: n.now().UTC()}
}

// start claims the first attempt of the delivery rec; false (and the
// delivery as it is) when it was claimed before.
func (n *Notifier) start(ctx context.Context, rec deliveryRecord) (deliveryRecord, bool, error) {
	var first deliveryRecord
	err := n.items.Get(ctx, rec.PK, rec.Key+version(1), &first)
	if err == nil {
		return first, false, nil
	}
	if billing.ErrorCode(err) != billing.ENOTFOUND {
		return rec, false, fmt.Errorf("delivery %s: %w", rec.Key, err)
	}
	return n.claim(ctx, rec)
}

// claim takes the next attempt of the delivery whose latest version is
// rec: a new version that counts the attempt and sets when the one after
// it is due, written only if no one wrote it first (false then). The
// retry index entry for that time is written before, so an attempt whose
// sender dies is retried then.
func (n *Notifier) claim(ctx context.Context, rec deliveryRecord) (deliveryRecord, bool, error) {
	now := n.now().UTC()
	c := rec
	c.Version++
	c.SK = rec.Key + version(c.Version)
	c.Attempts++
	c.Status = StatusPending
	c.Updated = now
	c.NextAttempt = retryAt(c.Created, c.Attempts, now)
	if err := n.schedule(ctx, c); err != nil {
		return rec, false, err
	}
	err := n.items.Put(ctx, c, true)
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, fmt.Errorf("claim delivery %s: %w", c.SK, err)
	}
	return c, true, nil
}

// retryAt is when to try again after the attempt-th attempt at now, of a
// delivery created at created: the backoff, cut to the end of the retry
// window while it lasts.
func retryAt(created time.Time, attempt int, now time.Time) time.Time {
	next := now.Add(backoffs[min(attempt, len(backoffs))-1])
	if end := created.Add(RetryWindow); now.Before(end) && next.After(end) {
		return end
	}
	return next
}

func version(v int) string { return fmt.Sprintf("%03d", v) }

// outcome is the result of one send.
type outcome struct {
	statusCode int
	// err is the failure, safe to show; "" when delivered.
	err string
	// target is what was sent to (the webhook URL may have changed).
	target string
}

// attempt sends the claimed version c and records the outcome as the next
// version. An error (the table's) leaves c pending, to be retried at its
// next attempt time.
func (n *Notifier) attempt(ctx context.Context, c deliveryRecord) (deliveryRecord, error) {
	o, err := n.send(ctx, c)
	if err != nil {
		return c, err
	}
	now := n.now().UTC()
	r := c
	r.Version++
	r.SK = c.Key + version(r.Version)
	r.Updated = now
	r.StatusCode = o.statusCode
	r.Target = o.target
	r.Error = o.err
	switch {
	case o.err == "":
		r.Status, r.NextAttempt = StatusDelivered, time.Time{}
	case r.Type == TypeTest || !now.Before(r.Created.Add(RetryWindow)):
		r.Status, r.NextAttempt = StatusFailed, time.Time{}
	}
	err = n.items.Put(ctx, r, true)
	if billing.ErrorCode(err) == billing.ECONFLICT {
		// The attempt outlived its claim and a retry took over; its
		// outcome is the delivery's.
		n.log.Warn("delivery attempt finished after a retry took over", "org", c.OrgID, "event", c.EventID, "channel", c.Channel)
		return r, nil
	}
	if err != nil {
		return c, fmt.Errorf("record delivery %s: %w", r.SK, err)
	}
	return r, nil
}

// send makes one attempt of the delivery c.
func (n *Notifier) send(ctx context.Context, c deliveryRecord) (outcome, error) {
	log := n.log.With("org", c.OrgID, "event", c.EventID, "channel", c.Channel, "attempt", c.Attempts)
	var d events.Detail
	if err := json.Unmarshal([]byte(c.Event), &d); err != nil {
		return outcome{}, fmt.Errorf("delivery %s: read event: %w", c.SK, err)
	}
	switch c.Channel {
	case ChannelEmail:
		if err := n.mailer.Send(ctx, emailFor(c.Target, d, n.publicURL)); err != nil {
			log.Error("email not sent", "error", err)
			return outcome{err: mailError(err), target: c.Target}, nil
		}
		log.Info("email sent")
		return outcome{target: c.Target}, nil
	case ChannelWebhook:
		ep, err := n.store.Webhook(ctx, c.OrgID)
		if err != nil {
			return outcome{}, fmt.Errorf("delivery %s: %w", c.SK, err)
		}
		if ep.URL == "" {
			return outcome{err: "No webhook URL is set any more.", target: c.Target}, nil
		}
		if _, err := parseWebhookURL(ep.URL, n.local); err != nil {
			return outcome{err: describe(err), target: ep.URL}, nil
		}
		code, err := post(ctx, n.client, ep.URL, ep.SigningSecrets(n.now()), c.EventID, n.now(), []byte(c.Event))
		if err != nil {
			log.Warn("webhook not delivered", "host", hostOf(ep.URL), "status", code, "error", describe(err))
			return outcome{statusCode: code, err: describe(err), target: ep.URL}, nil
		}
		log.Info("webhook delivered", "host", hostOf(ep.URL), "status", code)
		return outcome{statusCode: code, target: ep.URL}, nil
	default:
		return outcome{err: "Unknown channel " + c.Channel + "."}, nil
	}
}

// current returns the latest version of the delivery key of the
// organisation; ENOTFOUND when it has none.
func (n *Notifier) current(ctx context.Context, orgID, key string) (deliveryRecord, error) {
	var recs []deliveryRecord
	if err := n.items.Query(ctx, deliveryPK(orgID), key, &recs); err != nil {
		return deliveryRecord{}, fmt.Errorf("delivery %s: %w", key, err)
	}
	if len(recs) == 0 {
		return deliveryRecord{}, billing.Errorf(billing.ENOTFOUND, "No such delivery.")
	}
	return recs[len(recs)-1], nil
}

// deliveryScan is how many delivery records (every version of every
// delivery) recentDeliveries reads in its one request.
const deliveryScan = 300

// recentDeliveries returns the latest version of each of the organisation's
// last limit deliveries, newest first, in one bounded query: keys sort
// newest day first, so the first deliveryScan records are the newest days'.
func (n *Notifier) recentDeliveries(ctx context.Context, orgID string, limit int) ([]deliveryRecord, error) {
	var recs []deliveryRecord
	if err := n.items.QueryFirst(ctx, deliveryPK(orgID), "DLV#", deliveryScan, &recs); err != nil {
		return nil, err
	}
	var latest []deliveryRecord
	for _, r := range recs { // versions of one key are adjacent, oldest first
		if len(latest) > 0 && latest[len(latest)-1].Key == r.Key {
			latest[len(latest)-1] = r
			continue
		}
		latest = append(latest, r)
	}
	slices.SortStableFunc(latest, func(a, b deliveryRecord) int { return cmp.Or(b.Created.Compare(a.Created), cmp.Compare(a.Key, b.Key)) })
	return latest[:min(limit, len(latest))], nil
}
