//go:build linux

package rie_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/auth/authtest"
	"github.com/acme/billing/shared/billing"
	// The packaged function is built from source by the test, which go
	// test's cache cannot see; importing what it is made of makes a change
	// there rerun the test.
	_ "github.com/acme/billing/shared/function"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/aws/aws-lambda-go/events"
)

// sessionKey signs the sessions of these tests; the function gets it as
// SESSION_KEY.
var sessionKey = []byte("rie-test-session-key-of-32-bytes")

// overviewEnv is the environment of the packaged overview function as
// sam local gives it (template.yaml's TABLE_NAME, EVENT_BUS_NAME and
// PUBLIC_URL; SESSION_KEY in place of SESSION_SECRET_ARN, as in
// infra/env.json), the embedded DynamoDB as its endpoint, and credentials
// that endpoint accepts.
func overviewEnv(db *storetest.DB) map[string]string {
	return map[string]string{
		"TABLE_NAME":                db.Table,
		"SESSION_KEY":               hex.EncodeToString(sessionKey),
		"EVENT_BUS_NAME":            "billing-rie",
		"PUBLIC_URL":                "https://billing.example.com",
		"AWS_ENDPOINT_URL_DYNAMODB": db.URL,
		"AWS_REGION":                "us-east-1",
		"AWS_ACCESS_KEY_ID":         "rie",
		"AWS_SECRET_ACCESS_KEY":     "rie",
		"AWS_LAMBDA_FUNCTION_NAME":  "overview",
	}
}

// seededDB starts the embedded DynamoDB with the demo organisation acme.
func seededDB(tb testing.TB) *storetest.DB {
	tb.Helper()
	db := storetest.New(tb)
	if _, err := demo.Seed(context.Background(), db.Store(nil), time.Now()); err != nil {
		tb.Fatal(err)
	}
	return db
}

// overviewEvent is the API Gateway v2 event of GET /billing
// (shared/function/testdata/get-overview.json) with a session of acme
// signed with sessionKey and recorded in db's table.
func overviewEvent(tb testing.TB, db *storetest.DB) []byte {
	tb.Helper()
	cookie := authtest.Cookie(tb, sessionKey, db.Store(nil), auth.Session{OrgID: demo.OrgID, OrgName: "Acme Inc.", Email: "you@acme.test", Role: billing.RoleViewer})
	raw, err := os.ReadFile(filepath.Join(root, "shared", "function", "testdata", "get-overview.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return []byte(strings.ReplaceAll(string(raw), "{{SESSION}}", cookie))
}

func TestPackagedOverview(t *testing.T) {
	db := seededDB(t)
	bootstrap := buildBootstrap(t, "./functions/overview", t.TempDir())
	e := startEmulator(t, bootstrap, overviewEnv(db))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("the packaged function answers a real API Gateway v2 event with the Overview", func(t *testing.T) {
		out, err := e.Invoke(ctx, overviewEvent(t, db))
		if err != nil {
			t.Fatalf("%v\nemulator and function logs:\n%s", err, e.Logs())
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("answer is not an API Gateway v2 response: %v\n%s", err, out)
		}
		body := resp.Body
		if resp.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(body)
			if err != nil {
				t.Fatal(err)
			}
			body = string(b)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Acme Inc.") || !strings.Contains(body, "Available to Use") {
			t.Fatalf("status %d, body:\n%.800s\nlogs:\n%s", resp.StatusCode, body, e.Logs())
		}
		if !strings.Contains(resp.Headers["Strict-Transport-Security"], "max-age=") {
			t.Errorf("no HSTS from the deployed build: %v", resp.Headers)
		}
	})

	t.Run("the function logs JSON lines with the request id and the organisation", func(t *testing.T) {
		requestLogged := func(logs string) bool {
			for _, line := range strings.Split(logs, "\n") {
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) == nil &&
					rec["msg"] == "request" && rec["request_id"] == "HkZ3bgK9IAMEVdQ=" && rec["org"] == demo.OrgID {
					return true
				}
			}
			return false
		}
		// The function's output reaches us through the emulator, a little
		// after the answer.
		if !e.WaitLogs(5*time.Second, requestLogged) {
			t.Errorf("no JSON request log line with the event's request id and org %s:\n%s", demo.OrgID, e.Logs())
		}
	})

	t.Run("a second invocation is served by the same warm process", func(t *testing.T) {
		if _, err := e.Invoke(ctx, overviewEvent(t, db)); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(e.Logs(), "Init Duration"); n != 1 {
			t.Errorf("%d inits for two invocations:\n%s", n, e.Logs())
		}
	})
}
