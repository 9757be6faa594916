package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
)

// TestSpendPageReads: Spend Management reads its settings, webhook, 30 days
// and deliveries in a bounded number of DynamoDB round trips, whatever the
// history (it made 17, one query per month of deliveries).
func TestSpendPageReads(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
	rcv := newHookReceiver(t, func() time.Time { return lateInMonth })
	admin.saveWebhook(t, e.spendState(t, demo.OrgID).spend, rcv.url())
	e.db.Reset()
	if res := admin.get(spendPath); res.status != http.StatusOK {
		t.Fatalf("status %d", res.status)
	}
	reqs := e.db.Requests()
	ops := make([]string, len(reqs))
	for i, r := range reqs {
		ops[i] = r.Op
	}
	if len(reqs) > 3 {
		t.Errorf("GET %s made %d DynamoDB requests %v, want at most 3", spendPath, len(reqs), ops)
	}
	t.Logf("GET %s: %d requests %v", spendPath, len(reqs), ops)
}
