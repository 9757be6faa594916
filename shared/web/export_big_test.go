package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/acme/billing/shared/money"
)

// seedTransactions writes n balance transactions of org straight into the
// table, as the store writes them, one every 2 minutes back from end, with
// the description desc(i).
func (e *env) seedTransactions(t *testing.T, org string, n int, end time.Time, desc func(int) string) {
	t.Helper()
	type txItem struct {
		PK          string      `dynamodbav:"PK"`
		SK          string      `dynamodbav:"SK"`
		ID          string      `dynamodbav:"id"`
		OrgID       string      `dynamodbav:"org_id"`
		Description string      `dynamodbav:"description"`
		Amount      money.Money `dynamodbav:"amount"`
		Created     time.Time   `dynamodbav:"created"`
	}
	var batch []types.WriteRequest
	flush := func() {
		for len(batch) > 0 {
			out, err := e.db.Client.BatchWriteItem(t.Context(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{e.db.Table: batch}})
			if err != nil {
				t.Fatal(err)
			}
			batch = out.UnprocessedItems[e.db.Table]
		}
	}
	for i := range n {
		at := end.Add(-time.Duration(i) * 2 * time.Minute)
		id := "bt_" + ulid.MustNew(ulid.Timestamp(at), ulid.DefaultEntropy()).String()
		item, err := attributevalue.MarshalMap(txItem{PK: "ORG#" + org, SK: "TX#" + id, ID: id, OrgID: org,
			Description: desc(i), Amount: money.MustParse("12.345678"), Created: at.UTC()})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == 25 {
			flush()
		}
	}
	flush()
}

// allocated returns the bytes allocated while f ran (the embedded DynamoDB
// server's included: it runs in this process).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestBalanceHistoryExportBounded: an export is refused, with a message to
// choose a shorter range, once its CSV would be over 5 MB inside the JSON
// of a Lambda response (6 MB at most); a shorter range downloads whole.
// Descriptions of 190 characters that JSON escapes (<, &, ") make 8,000
// transactions over 5 MB as JSON though under 3 MB as CSV: the same bound
// as 100,000 ordinary ones (7.5 MB), and far quicker to write to the
// embedded server.
func TestBalanceHistoryExportBounded(t *testing.T) {
	e := newEnv(t, lateInMonth)
	b := e.signIn("bigco", "you@bigco.test", "viewer")
	const n = 8_000
	end := dayAfter(lateInMonth, -1) // before the trial grant of the sign-in
	e.seedTransactions(t, "bigco", n, end, func(i int) string {
		return fmt.Sprintf("Top-up %d %s", i, strings.Repeat("<&\"", 60))
	})
	jsonSize := 0
	for _, tx := range e.storedHistory("bigco") {
		j, _ := json.Marshal(tx.ID + tx.Description + tx.Amount.String() + "2026-12-14T21:22:00Z")
		jsonSize += len(j)
	}

	var all response
	mem := allocated(func() { all = b.get("/billing/balance-history.csv") })
	if all.status != http.StatusBadRequest || !strings.Contains(all.text(), "more than 5 MB as CSV") || !strings.Contains(all.text(), "shorter date ranges") {
		t.Errorf("the whole history: status %d, want 400 asking for a shorter range\n%.300s", all.status, all.text())
	}
	t.Logf("whole history of %d transactions (over %d bytes as JSON): status %d, %d bytes, %.1f MB allocated with the embedded DynamoDB", n, jsonSize, all.status, len(all.body), float64(mem)/1e6)

	// 3 days of one every 2 minutes: 2,160 transactions.
	from, to := dayAfter(end, -3), dayAfter(end, -1)
	var part response
	mem = allocated(func() {
		part = b.get("/billing/balance-history.csv?from=" + from.Format(time.DateOnly) + "&to=" + to.Format(time.DateOnly))
	})
	records := csvRecords(t, part)
	if got, want := len(records)-1, 3*24*30; got != want {
		t.Errorf("3 days' CSV has %d rows, want %d", got, want)
	}
	j, _ := json.Marshal(part.body)
	if len(j) > 5<<20 {
		t.Errorf("3 days' CSV is %d bytes as JSON, over 5 MB", len(j))
	}
	t.Logf("3 days: %d rows, %d bytes, %d bytes as JSON, %.1f MB allocated with the embedded DynamoDB", len(records)-1, len(part.body), len(j), float64(mem)/1e6)
}
