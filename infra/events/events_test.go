package events_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/acme/billing/shared/events"
	awsevents "github.com/aws/aws-lambda-go/events"
)

func TestSampleEvents(t *testing.T) {
	api := func(t *testing.T, file, route string) {
		var e awsevents.APIGatewayV2HTTPRequest
		read(t, file, &e)
		if e.Version != "2.0" || e.RouteKey != route || e.RequestContext.HTTP.Method == "" {
			t.Errorf("%s: %+v", file, e)
		}
	}
	bridge := func(t *testing.T, file, detailType, source string) awsevents.EventBridgeEvent {
		var e awsevents.EventBridgeEvent
		read(t, file, &e)
		if e.DetailType != detailType || e.Source != source || len(e.Detail) == 0 {
			t.Errorf("%s: %+v", file, e)
		}
		return e
	}
	t.Run("the page event is an API Gateway HTTP API request", func(t *testing.T) { api(t, "api-get-overview.json", "GET /billing") })
	t.Run("the usage event is an IAM-authorized API request", func(t *testing.T) {
		api(t, "api-post-usage-iam.json", "POST /v1/usage")
	})
	t.Run("the schedule event is EventBridge's scheduled event", func(t *testing.T) {
		bridge(t, "scheduled.json", "Scheduled Event", "aws.events")
	})
	for file, typ := range map[string]string{
		"spend-budget-reached.json":             events.TypeSpendBudget,
		"balance-below-recharge-threshold.json": events.TypeBalanceLow,
	} {
		t.Run(file+" carries a billing event detail", func(t *testing.T) {
			e := bridge(t, file, typ, events.Source)
			var d events.Detail
			if err := json.Unmarshal(e.Detail, &d); err != nil || d.OrgID == "" || d.Type != typ {
				t.Errorf("detail %+v: %v", d, err)
			}
		})
	}
}

func read(t *testing.T, file string, v any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
