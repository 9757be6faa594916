package notify_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/logtest"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/timetest"
	awsevents "github.com/aws/aws-lambda-go/events"
)

// start is the tests' first time: mid-afternoon UTC.
var start = time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC)

// env is a notifier in local mode on an embedded DynamoDB, with the Outbox
// as its mailer and an organisation "acme" with a billing email.
type env struct {
	t        *testing.T
	db       *storetest.DB
	store    *store.Store
	clock    *timetest.Clock
	outbox   *notify.Outbox
	notifier *notify.Notifier
	logs     *logtest.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil, true)
}

// newEnvWith is newEnv with a webhook client (nil: the default for the
// mode) and the mode.
func newEnvWith(t *testing.T, client *http.Client, local bool) *env {
	t.Helper()
	clk := timetest.NewClock(start)
	db := storetest.New(t)
	st := db.Store(clk.Now)
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	outbox := notify.NewOutbox(st, clk.Now)
	e := &env{t: t, db: db, store: st, clock: clk, outbox: outbox, logs: logs,
		notifier: notify.New(st, outbox, client, clk.Now, log, local)}
	e.createOrg("acme", "billing@acme.test")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	})
	return e
}

// createOrg creates the organisation id with Spend Management on (with no
// budget or threshold), so that every notification goes out.
func (e *env) createOrg(id, billingEmail string) {
	e.t.Helper()
	err := e.store.CreateOrg(e.t.Context(), store.NewOrg{Org: billing.Org{ID: id, Name: strings.ToUpper(id[:1]) + id[1:]}, Profile: billing.Profile{BillingEmail: billingEmail}})
	if err != nil {
		e.t.Fatalf("create org %s: %v", id, err)
	}
	e.setSpend(id, true)
}

// setSpend turns the organisation's Spend Management on or off.
func (e *env) setSpend(org string, on bool) {
	e.t.Helper()
	if err := e.store.SetSpendSettings(e.t.Context(), org, billing.SpendSettings{Enabled: on}); err != nil {
		e.t.Fatalf("spend management of %s: %v", org, err)
	}
}

// setWebhook saves url as the organisation's webhook URL and returns the
// signing secret.
func (e *env) setWebhook(org, url string) string {
	e.t.Helper()
	if _, err := e.store.SetWebhookURL(e.t.Context(), org, url); err != nil {
		e.t.Fatalf("set webhook: %v", err)
	}
	ep, err := e.store.Webhook(e.t.Context(), org)
	if err != nil {
		e.t.Fatal(err)
	}
	return ep.Secret
}

func (e *env) emails() []notify.SentEmail {
	e.t.Helper()
	sent, err := e.outbox.List(e.t.Context(), 100)
	if err != nil {
		e.t.Fatalf("outbox: %v", err)
	}
	return sent
}

func (e *env) deliveries(org string) []notify.Delivery {
	e.t.Helper()
	ds, err := e.notifier.Deliveries(e.t.Context(), org, 20)
	if err != nil {
		e.t.Fatalf("deliveries: %v", err)
	}
	return ds
}

// delivery returns the organisation's only delivery on channel.
func (e *env) delivery(org, channel string) notify.Delivery {
	e.t.Helper()
	var found []notify.Delivery
	for _, d := range e.deliveries(org) {
		if d.Channel == channel {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		e.t.Fatalf("%d %s deliveries, want 1: %+v", len(found), channel, found)
	}
	return found[0]
}

func (e *env) retry() {
	e.t.Helper()
	if err := e.notifier.RetryDue(e.t.Context()); err != nil {
		e.t.Fatalf("retry due: %v", err)
	}
}

// budgetReached is the detail usage recording publishes when acme reaches
// a $1 daily budget.
func budgetReached(org string, at time.Time) events.Detail {
	return events.Detail{
		ID: org + ":" + billing.Day(at) + ":budget", Type: events.TypeSpendBudget, OrgID: org, Day: billing.Day(at),
		Threshold: money.Dollars(1), UsedToday: money.MustParse("1.01"), Remaining: money.MustParse("8.99"), Available: 0, OccurredAt: at,
	}
}

// event returns d as the event JSON EventBridge delivers (through the
// in-process bus, which builds the same envelope).
func event(t *testing.T, d events.Detail) awsevents.EventBridgeEvent {
	t.Helper()
	bus := events.NewBus(slog.New(slog.DiscardHandler))
	if err := bus.Publish(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	return bus.Published()[0]
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
	at     time.Time // on the test's clock
}

// receiver is a customer's webhook endpoint: it records every request and
// answers with the next status of its script (the last one repeats).
type receiver struct {
	srv   *httptest.Server
	clock *timetest.Clock

	mu       sync.Mutex
	statuses []int
	got      []received
	// onRequest, if set, runs before the answer.
	onRequest func()
}

func newReceiver(t *testing.T, clk *timetest.Clock, statuses ...int) *receiver {
	t.Helper()
	if len(statuses) == 0 {
		statuses = []int{http.StatusOK}
	}
	r := &receiver{clock: clk, statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, received{header: req.Header.Clone(), body: body, at: r.clock.Now()})
	status := r.statuses[min(len(r.got), len(r.statuses))-1]
	hook := r.onRequest
	r.mu.Unlock()
	if hook != nil {
		hook()
	}
	w.WriteHeader(status)
}

func (r *receiver) setOnRequest(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onRequest = f
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// resolver answers DNS look-ups from a table; other names do not exist.
type resolver map[string][]string

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	addrs := make([]netip.Addr, len(ips))
	for i, ip := range ips {
		addrs[i] = netip.MustParseAddr(ip)
	}
	return addrs, nil
}
