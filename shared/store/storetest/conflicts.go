package storetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// conflicts emulates what the embedded server cannot show: DynamoDB
// cancels a TransactWriteItems whose items take part in another
// transaction or write still in flight, with a TransactionCanceledException
// whose CancellationReasons say "TransactionConflict" for those items, and
// refuses a single PutItem, UpdateItem or DeleteItem of an item an
// in-flight transaction holds with a TransactionConflictException. A
// transaction holds its items for hold from its arrival, standing in for
// the few milliseconds of DynamoDB's two phases, and is then applied by the
// embedded server (which applies one request at a time). The window is
// hold and not the embedded server's own time, which depends on the test
// machine (and grows tenfold under -race) where DynamoDB's does not.
type conflicts struct {
	hold time.Duration

	mu     sync.Mutex
	txKeys map[string]int // items held by transactions in flight
	wrKeys map[string]int // items of single writes in flight

	transactions, cancelled, refused atomic.Int64
}

// ConflictStats counts what the conflict emulator saw since the database
// started.
type ConflictStats struct {
	// Transactions is the number of TransactWriteItems requests.
	Transactions int64
	// Cancelled is how many of them were cancelled for a conflict.
	Cancelled int64
	// RefusedWrites is the number of single writes refused for a conflict.
	RefusedWrites int64
}

// Rate is the share of transactions cancelled for a conflict.
func (c ConflictStats) Rate() float64 {
	if c.Transactions == 0 {
		return 0
	}
	return float64(c.Cancelled) / float64(c.Transactions)
}

// NewWithConflicts is New with DynamoDB's transaction conflicts emulated in
// front of the embedded server: each transaction holds its items for hold
// (a few milliseconds, as DynamoDB's prepare and commit take) before the
// server applies it, and whatever overlaps it on one of its items is
// cancelled or refused as DynamoDB does.
func NewWithConflicts(t testing.TB, hold time.Duration) *DB {
	t.Helper()
	db := New(t)
	db.mu.Lock()
	db.conflicts = &conflicts{hold: hold, txKeys: map[string]int{}, wrKeys: map[string]int{}}
	db.mu.Unlock()
	return db
}

// Conflicts returns what the conflict emulator counted; zero without one.
func (db *DB) Conflicts() ConflictStats {
	c := db.emulator()
	if c == nil {
		return ConflictStats{}
	}
	return ConflictStats{Transactions: c.transactions.Load(), Cancelled: c.cancelled.Load(), RefusedWrites: c.refused.Load()}
}

func (db *DB) emulator() *conflicts {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.conflicts
}

// serve answers one request, emulating conflicts for writes and passing
// everything to next.
func (c *conflicts) serve(w http.ResponseWriter, r *http.Request, op string, body []byte, next http.Handler) {
	switch op {
	case "TransactWriteItems":
		c.transactions.Add(1)
		keys, err := transactionKeys(body)
		if err != nil {
			next.ServeHTTP(w, r) // the server reports the malformed request
			return
		}
		if codes, conflict := c.claim(keys); conflict {
			c.cancelled.Add(1)
			writeCancelled(w, codes)
			return
		}
		time.Sleep(c.hold)
		c.release(c.txKeys, keys)
		next.ServeHTTP(w, r)
	case "PutItem", "UpdateItem", "DeleteItem":
		k, err := writeKey(op, body)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		c.mu.Lock()
		if c.txKeys[k] > 0 {
			c.mu.Unlock()
			c.refused.Add(1)
			writeError(w, "TransactionConflictException", "Transaction is ongoing for the item")
			return
		}
		c.wrKeys[k]++
		c.mu.Unlock()
		defer c.release(c.wrKeys, []string{k})
		next.ServeHTTP(w, r)
	default:
		next.ServeHTTP(w, r)
	}
}

// claim takes the items of a transaction unless one of them is held; it
// returns the cancellation code of each item when one is.
func (c *conflicts) claim(keys []string) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	codes := make([]string, len(keys))
	conflict := false
	for i, k := range keys {
		codes[i] = "None"
		if c.txKeys[k] > 0 || c.wrKeys[k] > 0 {
			codes[i], conflict = "TransactionConflict", true
		}
	}
	if conflict {
		return codes, true
	}
	for _, k := range keys {
		c.txKeys[k]++
	}
	return nil, false
}

func (c *conflicts) release(held map[string]int, keys []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if held[k]--; held[k] <= 0 {
			delete(held, k)
		}
	}
}

// wireAction is one action of a TransactWriteItems request as sent.
type wireAction struct {
	TableName string
	Item      map[string]json.RawMessage
	Key       map[string]json.RawMessage
}

// transactionKeys returns the item of each action of a TransactWriteItems
// request, in order.
func transactionKeys(body []byte) ([]string, error) {
	var in struct {
		TransactItems []map[string]wireAction
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	keys := make([]string, len(in.TransactItems))
	for i, it := range in.TransactItems {
		for kind, a := range it {
			k := a.Key
			if kind == "Put" {
				k = a.Item
			}
			keys[i] = itemKey(a.TableName, k)
		}
	}
	return keys, nil
}

// writeKey returns the item of a PutItem, UpdateItem or DeleteItem request.
func writeKey(op string, body []byte) (string, error) {
	var a wireAction
	if err := json.Unmarshal(body, &a); err != nil {
		return "", err
	}
	if op == "PutItem" {
		return itemKey(a.TableName, a.Item), nil
	}
	return itemKey(a.TableName, a.Key), nil
}

// itemKey names an item by its table and key attributes, as the client
// wrote them.
func itemKey(table string, item map[string]json.RawMessage) string {
	return table + "\x00" + string(item["PK"]) + "\x00" + string(item["SK"])
}

// writeCancelled answers as DynamoDB does when it cancels a transaction:
// 400, and a TransactionCanceledException with one reason per action, in
// the order of the actions.
func writeCancelled(w http.ResponseWriter, codes []string) {
	type reason struct {
		Code    string
		Message string `json:",omitempty"`
	}
	reasons := make([]reason, len(codes))
	for i, code := range codes {
		reasons[i].Code = code
		if code == "TransactionConflict" {
			reasons[i].Message = "Transaction is ongoing for the item"
		}
	}
	body, _ := json.Marshal(struct {
		Type                string `json:"__type"`
		Message             string
		CancellationReasons []reason
	}{
		Type:                "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
		Message:             fmt.Sprintf("Transaction cancelled, please refer cancellation reasons for specific reasons [%s]", strings.Join(codes, ", ")),
		CancellationReasons: reasons,
	})
	writeBody(w, body)
}

// writeError answers 400 with a DynamoDB error of the given type.
func writeError(w http.ResponseWriter, typ, msg string) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string
	}{"com.amazonaws.dynamodb.v20120810#" + typ, msg})
	writeBody(w, body)
}

func writeBody(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-RequestId", "conflict-emulator")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(body)
}
