package function_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/auth/authtest"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/function"
	"github.com/acme/billing/shared/gateway"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/aws/aws-lambda-go/events"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func env(db *storetest.DB) func(string) string {
	vars := map[string]string{
		"TABLE_NAME":                db.Table,
		"SESSION_KEY":               hex.EncodeToString(key),
		"AWS_ENDPOINT_URL_DYNAMODB": db.URL,
		"EVENT_BUS_NAME":            "billing-test",
		"PUBLIC_URL":                "https://billing.example.com",
	}
	return func(k string) string { return vars[k] }
}

// sessionCookie signs a member in the way the sign-in does, recording the
// session in db's table, which the function reads.
func sessionCookie(t *testing.T, db *storetest.DB, s auth.Session) string {
	t.Helper()
	return authtest.Cookie(t, key, db.Store(nil), s)
}

func event(t *testing.T, file, cookie string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "{{SESSION}}", cookie)), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOverviewFunction(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	if _, err := demo.Seed(ctx, db.Store(nil), time.Now()); err != nil {
		t.Fatal(err)
	}
	h, err := handler(ctx, "overview", env(db))
	if err != nil {
		t.Fatal(err)
	}
	lambdaHandler := gateway.Handler(h)

	t.Run("a real API Gateway event with a session cookie gets the filled Overview", func(t *testing.T) {
		cookie := sessionCookie(t, db, auth.Session{OrgID: demo.OrgID, Email: "you@acme.test", Role: billing.RoleViewer})
		resp, err := lambdaHandler(ctx, event(t, "testdata/get-overview.json", cookie))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, "Acme Inc.") || !strings.Contains(resp.Body, "Available to Use") {
			t.Fatalf("status %d, body:\n%.500s", resp.StatusCode, resp.Body)
		}
		if !strings.Contains(resp.Headers["Strict-Transport-Security"], "max-age=") {
			t.Errorf("no HSTS in AWS mode: %v", resp.Headers)
		}
	})

	t.Run("without a session the event is sent to sign in", func(t *testing.T) {
		resp, err := lambdaHandler(ctx, event(t, "testdata/get-overview.json", "forged.value"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Headers["Location"], "/auth/login") {
			t.Errorf("status %d, location %q", resp.StatusCode, resp.Headers["Location"])
		}
	})

	t.Run("the function serves only its own routes", func(t *testing.T) {
		e := event(t, "testdata/get-overview.json", "")
		e.RawPath, e.RequestContext.HTTP.Path = "/dev/login", "/dev/login"
		resp, _ := lambdaHandler(ctx, e)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("/dev/login in AWS answered %d", resp.StatusCode)
		}
	})
}

func TestHandlerConfiguration(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	tests := []struct {
		name, function string
		drop, want     string
	}{
		{"an unknown function is refused", "nope", "", `no routes for function "nope"`},
		{"AWS mode requires a session key secret", "overview", "SESSION_KEY", "SESSION_SECRET_ARN is required"},
		{"AWS mode requires the public URL", "overview", "PUBLIC_URL", "PUBLIC_URL is required"},
		{"AWS mode requires a table name", "overview", "TABLE_NAME", "TABLE_NAME is required"},
		{"AWS mode requires an event bus", "usage", "EVENT_BUS_NAME", "EVENT_BUS_NAME is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := env(db)
			_, err := handler(ctx, tt.function, func(k string) string {
				if k == tt.drop {
					return ""
				}
				return getenv(k)
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func handler(ctx context.Context, name string, getenv func(string) string) (http.Handler, error) {
	deps, err := function.Deps(ctx, name, getenv)
	if err != nil {
		return nil, err
	}
	return function.Handler(deps, name)
}
