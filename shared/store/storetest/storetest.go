// Package storetest starts the embedded DynamoDB server (minidyn's HTTP
// server) for a test, points the real aws-sdk-go-v2 client at it over
// HTTP, creates the billing table, and records every request the client
// sends so tests can count round trips and actions.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"
)

// DB is a running embedded DynamoDB server with the billing table.
type DB struct {
	// Server is the embedded server, for failure emulation.
	Server *server.Server
	// URL is its loopback endpoint.
	URL string
	// Client is a real SDK client pointed at URL.
	Client *dynamodb.Client
	// Table is the billing table's name.
	Table string

	mu        sync.Mutex
	requests  []Request
	conflicts *conflicts // nil unless NewWithConflicts
}

// Request is one DynamoDB API call the client sent.
type Request struct {
	// Op is the operation, e.g. "TransactWriteItems".
	Op string
	// Body is the JSON request body.
	Body []byte
}

// Actions returns the number of actions of a TransactWriteItems request, or
// of items of a BatchGetItem/BatchWriteItem request; 1 for anything else.
func (r Request) Actions() int {
	var body struct {
		TransactItems []json.RawMessage
		RequestItems  map[string]json.RawMessage
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return 1
	}
	switch {
	case body.TransactItems != nil:
		return len(body.TransactItems)
	case body.RequestItems != nil:
		n := 0
		for _, raw := range body.RequestItems {
			var v struct{ Keys []json.RawMessage }
			var list []json.RawMessage
			if json.Unmarshal(raw, &v) == nil && v.Keys != nil {
				n += len(v.Keys)
			} else if json.Unmarshal(raw, &list) == nil {
				n += len(list)
			}
		}
		return n
	}
	return 1
}

// New starts an embedded server for the test, creates the billing table
// named "billing", and closes everything when the test ends.
func New(t testing.TB) *DB {
	t.Helper()
	db := &DB{Server: server.NewServer(), Table: "billing"}
	hs := httptest.NewServer(http.HandlerFunc(db.record))
	t.Cleanup(hs.Close)
	db.URL = hs.URL
	client, err := store.NewClient(context.Background(), hs.URL, hs.Client())
	if err != nil {
		t.Fatalf("storetest: client: %v", err)
	}
	db.Client = client
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.New(client, db.Table, nil).CreateTable(ctx); err != nil {
		t.Fatalf("storetest: create table: %v", err)
	}
	db.Reset()
	return db
}

// Store returns a Store on the test table with the given clock (nil for
// time.Now).
func (db *DB) Store(now func() time.Time) *store.Store {
	return store.New(db.Client, db.Table, now)
}

// Requests returns the requests sent since the last Reset.
func (db *DB) Requests() []Request {
	db.mu.Lock()
	defer db.mu.Unlock()
	return append([]Request(nil), db.requests...)
}

// Reset forgets the recorded requests.
func (db *DB) Reset() {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.requests = nil
}

func (db *DB) record(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndex(op, ".")+1:]
	db.mu.Lock()
	db.requests = append(db.requests, Request{Op: op, Body: body})
	c := db.conflicts
	db.mu.Unlock()
	if c != nil {
		c.serve(w, r, op, body, db.Server)
		return
	}
	db.Server.ServeHTTP(w, r)
}

// SetUsagePeriod writes Usage This Period of org's first counter shard
// straight into DynamoDB, as years of usage would have left it.
func (db *DB) SetUsagePeriod(t testing.TB, org string, v money.Money) {
	t.Helper()
	db.setCounters(t, org, map[string]types.AttributeValue{"usage_period": number(v)})
}

// SetUsageOn writes the usage of the UTC day of day on org's first counter
// shard straight into DynamoDB (its day slot), as a busy day would have
// left it.
func (db *DB) SetUsageOn(t testing.TB, org string, day time.Time, v money.Money) {
	t.Helper()
	dayAttr, usedAttr := store.SlotAttrs(day)
	db.setCounters(t, org, map[string]types.AttributeValue{
		dayAttr: &types.AttributeValueMemberS{Value: billing.Day(day)}, usedAttr: number(v)})
}

func (db *DB) setCounters(t testing.TB, org string, values map[string]types.AttributeValue) {
	t.Helper()
	names, vals, sets := map[string]string{}, map[string]types.AttributeValue{}, []string{}
	for attr, v := range values {
		n := fmt.Sprintf("%d", len(sets))
		names["#a"+n], vals[":v"+n] = attr, v
		sets = append(sets, "#a"+n+" = :v"+n)
	}
	_, err := db.Client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
		TableName: aws.String(db.Table), Key: store.CounterKey(org, 0),
		UpdateExpression:         aws.String("SET " + strings.Join(sets, ", ")),
		ConditionExpression:      aws.String("attribute_exists(PK)"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	})
	if err != nil {
		t.Fatalf("storetest: set counters of %s: %v", org, err)
	}
}

func number(v money.Money) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprintf("%d", int64(v))}
}

// MoneyAttr is the number attribute name of an item read with the SDK as
// micro-dollars, 0 when the item has none.
func MoneyAttr(t testing.TB, item map[string]types.AttributeValue, name string) money.Money {
	t.Helper()
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		t.Fatalf("storetest: %s = %q: %v", name, v.Value, err)
	}
	return money.Money(n)
}

// StoreOver returns a Store on the test table whose requests go through
// transport (a fault injector such as LoseAnswers), with the SDK's retries
// quick (at most 5 ms apart, no retry quota) so that faults cost the test
// no time.
func (db *DB) StoreOver(t testing.TB, transport http.RoundTripper, now func() time.Time) *store.Store {
	t.Helper()
	base, err := store.NewClient(context.Background(), db.URL, &http.Client{Transport: transport})
	if err != nil {
		t.Fatalf("storetest: client: %v", err)
	}
	client := dynamodb.New(base.Options(), func(o *dynamodb.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxBackoff = 5 * time.Millisecond
			so.RateLimiter = ratelimit.None
		})
	})
	return store.New(client, db.Table, now)
}
