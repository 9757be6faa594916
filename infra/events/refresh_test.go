package events_test

import (
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/infra/events"
	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	billingevents "github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/gateway"
	"github.com/acme/billing/shared/logtest"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
	awsevents "github.com/aws/aws-lambda-go/events"
)

// dateLike finds anything in a sample that looks like a date or a time.
var dateLike = regexp.MustCompile(`\d{4}-\d{2}-\d{2}|\d{2}/[A-Z][a-z]{2}/\d{4}|\d{8}T\d{6}Z|/\d{8}/|"timeEpoch": \d+|\b1[6-9]\d{8}\b`)

func TestRefresh(t *testing.T) {
	now := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC) // a pure test: nothing here reads the real clock
	files, err := filepath.Glob("*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	want := map[string]bool{
		"2031-02-03": true, "03/Feb/2031": true, "20310203T040506Z": true, "/20310203/": true,
	}
	want[`"timeEpoch": `+strconv.FormatInt(now.UnixMilli(), 10)] = true
	for _, f := range files {
		t.Run("every time in "+f+" is now", func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := events.Refresh(raw, now)
			for _, m := range dateLike.FindAllString(string(got), -1) {
				if !want[m] {
					t.Errorf("%q is left in the refreshed sample: Refresh does not know this way of writing a time", m)
				}
			}
			var v any
			if err := json.Unmarshal(got, &v); err != nil {
				t.Errorf("the refreshed sample is not JSON: %v", err)
			}
		})
	}
}

// TestRefreshedUsageSample sends the IAM-authorized usage sample through the
// API Gateway adapter to the usage API, as sam local invoke would, on the
// real clock: refreshed now it is recorded; refreshed 36 days ago, as a
// committed sample left alone becomes, it is refused as too old.
func TestRefreshedUsageSample(t *testing.T) {
	raw, err := os.ReadFile("api-post-usage-iam.json")
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.New(t)
	st := db.Store(time.Now)
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	key := make([]byte, auth.MinKeyBytes)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	sessions, err := auth.NewSessions(key, true, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	deps := web.Deps{Store: st, Sessions: sessions, Now: time.Now, Log: log,
		Usage: usage.NewService(st, billingevents.NewBus(log), time.Now, log)}
	handler := web.Handler(deps, web.Routes(deps))
	if err := st.CreateOrg(t.Context(), store.NewOrg{Org: billing.Org{ID: "acme", Name: "Acme"}, TrialCredits: money.Dollars(10)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	post := func(t *testing.T, sample []byte) (int, string) {
		t.Helper()
		var e awsevents.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(sample, &e); err != nil {
			t.Fatal(err)
		}
		r, err := gateway.Request(t.Context(), e)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, r)
		return rec.Code, rec.Body.String()
	}

	t.Run("refreshed 36 days ago, the sample is refused as too old", func(t *testing.T) {
		status, body := post(t, events.Refresh(raw, time.Now().Add(-36*24*time.Hour)))
		if status != http.StatusOK || !strings.Contains(body, billing.RejectInvalidTime) || !strings.Contains(body, `"accepted":0`) {
			t.Errorf("status %d, body %s; want the event refused for its time", status, body)
		}
	})
	t.Run("refreshed now, the sample is recorded", func(t *testing.T) {
		status, body := post(t, events.Refresh(raw, time.Now()))
		if status != http.StatusOK || !strings.Contains(body, `"accepted":1`) {
			t.Errorf("status %d, body %s; want the event accepted", status, body)
		}
	})
	t.Run("go generate's refresh writes every sample", func(t *testing.T) {
		out := t.TempDir()
		if err := events.RefreshDir(".", out, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, "api-post-usage-iam.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), time.Now().UTC().Format(time.DateOnly)) {
			t.Errorf("the written sample does not carry today's date:\n%s", got)
		}
	})
}
