package endpoint_test

import (
	"context"
	"encoding/hex"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/auth/authtest"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/endpoint"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/function"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/web"
	"github.com/aws/aws-sdk-go-v2/aws"
)

func bus(aws.Config, string) *events.Bus { return nil }

func TestFunctions(t *testing.T) {
	t.Run("every HTTP function serves exactly its own routes, and together all of them", func(t *testing.T) {
		want := map[string][]string{}
		for _, rt := range web.Routes(web.Deps{}) {
			want[rt.Function] = append(want[rt.Function], rt.Method+" "+rt.Path)
		}
		got := map[string][]string{}
		for _, fn := range endpoint.All(bus) {
			for _, rt := range fn.Routes(web.Deps{}) {
				if rt.Function != fn.Name {
					t.Errorf("%s serves %s %s of %s", fn.Name, rt.Method, rt.Path, rt.Function)
				}
				got[fn.Name] = append(got[fn.Name], rt.Method+" "+rt.Path)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(want)) {
			if !slices.Equal(got[name], want[name]) {
				t.Errorf("%s serves %v, want %v", name, got[name], want[name])
			}
		}
		for name := range got {
			if want[name] == nil {
				t.Errorf("%s is not a function of shared/web/routes.go", name)
			}
		}
	})
}

// TestImports checks what each function's main imports (go list -deps):
// a package imported at all is initialised at every cold start, so the
// clients of SES and EventBridge must stay out of the functions that do
// not use them.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../../functions/overview").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	overview := strings.Fields(string(out))
	if !slices.Contains(overview, "github.com/acme/billing/shared/store") {
		t.Fatalf("go list -deps of the overview function lists no store: %v", overview)
	}
	for _, tt := range []struct {
		main string
		pkg  string
		want bool
	}{
		{"overview", "github.com/aws/aws-sdk-go-v2/service/sesv2", false},
		{"overview", "github.com/aws/aws-sdk-go-v2/service/eventbridge", false},
		{"overview", "github.com/aws/aws-sdk-go-v2/service/secretsmanager", false}, // secrets.Client makes its one call
		{"overview", "github.com/aws/aws-sdk-go-v2/config", false},                 // config.AWS reads what Lambda sets
		{"usage", "github.com/aws/aws-sdk-go-v2/config", false},
		{"overview", "github.com/acme/billing/shared/payments/stripeprovider", true}, // the webhook's types, in shared/web
		{"spend-management", "github.com/aws/aws-sdk-go-v2/service/sesv2", false},
		{"usage", "github.com/aws/aws-sdk-go-v2/service/eventbridge", true},
		{"usage", "github.com/aws/aws-sdk-go-v2/service/sesv2", false},
		{"notifier", "github.com/aws/aws-sdk-go-v2/service/sesv2", true},
	} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../../functions/"+tt.main).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", tt.main, err)
		}
		if got := slices.Contains(strings.Fields(string(out)), tt.pkg); got != tt.want {
			t.Errorf("%s imports %s: %v, want %v", tt.main, tt.pkg, got, tt.want)
		}
	}
}

// TestSQSOnlyWhereJobsFanOut checks that only the functions whose job fans
// out through its SQS queue (their mains pass queue/sqs.New to
// function.ServeJob) link the SQS client: every other function would
// initialise it at each cold start for nothing.
func TestSQSOnlyWhereJobsFanOut(t *testing.T) {
	const sqs = "github.com/aws/aws-sdk-go-v2/service/sqs"
	fanOut := map[string]bool{}
	for _, j := range jobs.List(web.Deps{}) {
		if j.Work != nil {
			fanOut[j.Function] = true
		}
	}
	if len(fanOut) == 0 {
		t.Fatal("no job fans out")
	}
	out, err := exec.Command("go", "list", "-f", "{{.Name}} {{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "../../functions/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "main" {
			continue
		}
		name := path.Base(f[1])
		seen[name] = true
		if got := slices.Contains(f[2:], sqs); got != fanOut[name] {
			t.Errorf("%s links %s: %v, want %v", name, sqs, got, fanOut[name])
		}
	}
	for name := range fanOut {
		if !seen[name] {
			t.Errorf("no main for the job %s under functions/", name)
		}
	}
	if len(seen) < 10 {
		t.Errorf("go list found %d mains under functions/: %v", len(seen), slices.Sorted(maps.Keys(seen)))
	}
}

// TestLeanDeps serves every route of every HTTP function from the
// dependencies its main builds (nothing more) and from every dependency
// (function.Deps), as an admin of the demo organisation, against the
// embedded DynamoDB: each answers as with every dependency, so a part a
// route uses but its function does not build fails here.
func TestLeanDeps(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	if _, err := demo.Seed(ctx, db.Store(nil), time.Now()); err != nil {
		t.Fatal(err)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	vars := map[string]string{
		"TABLE_NAME":                db.Table,
		"SESSION_KEY":               hex.EncodeToString(key),
		"AWS_ENDPOINT_URL_DYNAMODB": db.URL,
		"EVENT_BUS_NAME":            "billing-test",
		"PUBLIC_URL":                "https://billing.example.com",
		"STRIPE_WEBHOOK_SECRET":     "whsec_test",
	}
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	nowhere := httptest.NewServer(http.NotFoundHandler()) // EventBridge and SES of function.Deps
	t.Cleanup(nowhere.Close)
	t.Setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", nowhere.URL)
	t.Setenv("AWS_ENDPOINT_URL_SESV2", nowhere.URL)
	published := events.NewBus(slog.New(slog.DiscardHandler))
	for _, fn := range endpoint.All(func(aws.Config, string) *events.Bus { return published }) {
		t.Run(fn.Name+" answers each of its routes as with every dependency", func(t *testing.T) {
			getenv := func(k string) string { return vars[k] }
			lean, err := fn.Handler(ctx, getenv)
			if err != nil {
				t.Fatal(err)
			}
			deps, err := function.Deps(ctx, fn.Name, getenv)
			if err != nil {
				t.Fatal(err)
			}
			full, err := function.Handler(deps, fn.Name)
			if err != nil {
				t.Fatal(err)
			}
			serve := func(h http.Handler, rt web.Route) int {
				// A session of its own: the auth function's sign-out ends it.
				cookie := authtest.Cookie(t, key, db.Store(nil), auth.Session{OrgID: demo.OrgID, Email: "admin@acme.test", Role: billing.RoleAdmin})
				req := httptest.NewRequest(rt.Method, "https://billing.example.com"+strings.ReplaceAll(rt.Path, "{id}", "missing"), strings.NewReader(""))
				req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec.Code
			}
			for _, rt := range fn.Routes(web.Deps{}) {
				if got, want := serve(lean, rt), serve(full, rt); got != want {
					t.Errorf("%s %s: %d, with every dependency %d", rt.Method, rt.Path, got, want)
				}
			}
		})
	}
}

func TestNames(t *testing.T) {
	t.Run("each constructor makes the function it is named after (the mains and infra/templatecheck rely on it)", func(t *testing.T) {
		for want, fn := range map[string]endpoint.Function{
			"overview": endpoint.Overview(), "balance-history": endpoint.BalanceHistory(), "auth": endpoint.Auth(),
			"invoices": endpoint.Invoices(), "payment-methods": endpoint.PaymentMethods(), "credits": endpoint.Credits(),
			"address": endpoint.Address(), "notifications": endpoint.Notifications(), "tax": endpoint.Tax(),
			"spend-management": endpoint.SpendManagement(), "usage": endpoint.Usage(bus),
			"stripe-webhook": endpoint.StripeWebhook(bus), "auto-recharge-page": endpoint.AutoRechargePage(bus),
		} {
			if fn.Name != want {
				t.Errorf("the constructor of %s makes %s", want, fn.Name)
			}
		}
	})
}

// TestPagesReadEveryShardFirst serves the Overview from a cold function
// (its main's dependencies) for an organisation with 8 counter shards: its
// first view reads the account, every possible shard and the page's items
// in one BatchGetItem, as every later one does, so no page view takes a
// second request for the shards.
func TestPagesReadEveryShardFirst(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	st := db.Store(nil)
	if _, err := demo.Seed(ctx, st, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetCounterShards(ctx, demo.OrgID, 8); err != nil {
		t.Fatal(err)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	vars := map[string]string{"TABLE_NAME": db.Table, "SESSION_KEY": hex.EncodeToString(key), "AWS_ENDPOINT_URL_DYNAMODB": db.URL,
		"PUBLIC_URL": "https://billing.example.com", "EVENT_BUS_NAME": "billing-test", "STRIPE_WEBHOOK_SECRET": "whsec_test"}
	t.Setenv("AWS_REGION", "us-east-1")
	h, err := endpoint.Overview().Handler(ctx, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	cookie := authtest.Cookie(t, key, st, auth.Session{OrgID: demo.OrgID, Email: "admin@acme.test", Role: billing.RoleAdmin})
	for _, view := range []string{"first", "second"} {
		db.Reset()
		req := httptest.NewRequest(http.MethodGet, "https://billing.example.com/billing", nil)
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s view: %d", view, rec.Code)
		}
		var gets []int
		for _, r := range db.Requests() {
			if r.Op == "BatchGetItem" {
				gets = append(gets, r.Actions())
			}
		}
		if len(gets) != 1 {
			t.Errorf("%s view: %d BatchGetItem requests (keys %v), want 1", view, len(gets), gets)
		}
	}
}
