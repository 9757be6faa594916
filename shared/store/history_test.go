package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

// creditOrders credits org n top-ups, pi_000 the oldest, an hour apart
// before now, and returns their ids newest first.
func creditOrders(t *testing.T, s *store.Store, org string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("pi_%03d", i)
		if _, err := s.CreditPayment(t.Context(), org, store.PaymentCredit{PaymentID: id, Amount: money.Dollars(50),
			Description: "Stripe Payment Intent " + id, Method: "Visa •••• 4242", Paid: now.Add(-time.Duration(n-i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	slices.Reverse(ids)
	return ids
}

// refund refunds $1 of payment once per key.
func refund(t *testing.T, s *store.Store, org, payment, key string, at time.Time) bool {
	t.Helper()
	done, err := s.AdjustPayment(t.Context(), org, store.Adjustment{Key: key, PaymentID: payment, Kind: store.AdjustRefund,
		Amount: -money.Dollars(1), Description: "Refund of Stripe Payment Intent " + payment, Created: at})
	if err != nil {
		t.Fatalf("refund %s of %s: %v", key, payment, err)
	}
	return done
}

// adjustmentKeys returns the keys of each order's adjustments, by order.
func adjustmentKeys(orders []store.Order) map[string][]string {
	keys := map[string][]string{}
	for _, o := range orders {
		for _, a := range o.Adjustments {
			if a.PaymentID != o.ID {
				keys[o.ID] = append(keys[o.ID], "of "+a.PaymentID)
			}
			keys[o.ID] = append(keys[o.ID], a.Key)
		}
	}
	return keys
}

func TestAdjustPayment(t *testing.T) {
	db := storetest.New(t)
	s := db.Store(clock)
	newOrg(t, s, "acme", 0)
	ids := creditOrders(t, s, "acme", 2)

	t.Run("a refund debits once per key and shows on its order", func(t *testing.T) {
		if !refund(t, s, "acme", ids[1], "refund:re_1", now) {
			t.Fatal("the first refund was not applied")
		}
		if refund(t, s, "acme", ids[1], "refund:re_1", now) {
			t.Error("the refund was applied twice")
		}
		if ledger, _ := sum(history(t, s, "acme")); ledger != money.Dollars(99) {
			t.Errorf("ledger %v, want 100 credited less 1 refunded", ledger)
		}
		orders, err := s.Orders(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(adjustmentKeys(orders)); got != "map["+ids[1]+":[refund:re_1]]" {
			t.Errorf("adjustments by order %s, want the refund on %s only", got, ids[1])
		}
		if len(orders) != 2 || orders[1].Refunded() != money.Dollars(1) {
			t.Errorf("orders %+v, want 2, the older refunded $1", orders)
		}
	})

	t.Run("an adjustment of a payment never credited is ENOTFOUND and changes nothing", func(t *testing.T) {
		before := history(t, s, "acme")
		_, err := s.AdjustPayment(t.Context(), "acme", store.Adjustment{Key: "refund:re_x", PaymentID: "pi_never", Kind: store.AdjustRefund,
			Amount: -money.Dollars(1), Description: "Refund of Stripe Payment Intent pi_never"})
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("AdjustPayment = %v, want ENOTFOUND", err)
		}
		if after := history(t, s, "acme"); len(after) != len(before) {
			t.Errorf("%d balance transactions after, want %d", len(after), len(before))
		}
	})
}

// TestOrdersAtReadsAdjustmentsWithTheOrders pages 25 orders 10 at a time
// in both directions, and checks each page lists its orders with exactly
// their adjustments, in one DynamoDB request when they have few.
func TestOrdersAtReadsAdjustmentsWithTheOrders(t *testing.T) {
	db := storetest.New(t)
	s := db.Store(clock)
	newOrg(t, s, "acme", 0)
	ids := creditOrders(t, s, "acme", 25)
	want := map[string][]string{}
	adjust := func(id string, n int) {
		for k := range n {
			key := fmt.Sprintf("refund:re_%s_%02d", id, k)
			refund(t, s, "acme", id, key, now.Add(time.Duration(k)*time.Second))
			want[id] = append(want[id], key)
		}
	}
	// The newest, one at each page's edges, and one in the middle page
	// with more adjustments than a request holds besides the orders.
	adjust(ids[0], 2)
	adjust(ids[9], 1)
	adjust(ids[10], 3)
	adjust(ids[24], 1)

	check := func(t *testing.T, run store.OrderRun, wantIDs []string, maxRequests int) {
		t.Helper()
		if reqs := db.Requests(); len(reqs) > maxRequests {
			t.Errorf("%d DynamoDB requests, want at most %d", len(reqs), maxRequests)
		}
		var got []string
		for _, o := range run.Orders {
			got = append(got, o.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(wantIDs) {
			t.Errorf("orders %v, want %v", got, wantIDs)
		}
		wantAdj := map[string][]string{}
		for _, id := range wantIDs {
			if want[id] != nil {
				wantAdj[id] = want[id]
			}
		}
		if got, want := fmt.Sprint(adjustmentKeys(run.Orders)), fmt.Sprint(wantAdj); got != want {
			t.Errorf("adjustments by order\n%s\nwant\n%s", got, want)
		}
	}
	walk := func(t *testing.T, maxRequests int) {
		t.Helper()
		var pos string
		for _, page := range [][]string{ids[:10], ids[10:20], ids[20:]} {
			db.Reset()
			run, err := s.OrdersAt(t.Context(), "acme", pos, false, 10)
			if err != nil {
				t.Fatal(err)
			}
			check(t, run, page, maxRequests)
			if run.More != (len(page) == 10) {
				t.Errorf("More = %v after %v", run.More, page)
			}
			if len(run.Pos) > 0 {
				pos = run.Pos[len(run.Pos)-1]
			}
		}
		// Newer from the oldest page's last order: it and the 10 above it,
		// oldest first.
		for _, page := range [][]string{ids[14:], ids[4:15], ids[:5]} {
			db.Reset()
			run, err := s.OrdersAt(t.Context(), "acme", pos, true, len(page))
			if err != nil {
				t.Fatal(err)
			}
			wantIDs := slices.Clone(page)
			slices.Reverse(wantIDs)
			check(t, run, wantIDs, maxRequests)
			pos = run.Pos[len(run.Pos)-1]
		}
	}

	t.Run("with few adjustments, each page is one request", func(t *testing.T) { walk(t, 1) })

	t.Run("an order with more adjustments than a request holds has them all", func(t *testing.T) {
		adjust(ids[12], 45)
		walk(t, 2)
	})

	t.Run("a position naming an adjustment is refused", func(t *testing.T) {
		if store.ValidOrderPos("ORDER#2026-11-27T14:04:05Z#pi_001#ADJ#refund:re_1") {
			t.Error("an adjustment's sort key is a valid position")
		}
	})
}
