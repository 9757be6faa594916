package templatecheck_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/web"
)

// alarmFor returns the logical ids of the alarms on metric of namespace
// whose dimension dim refers to the resource id.
func alarmFor(raw map[string]any, namespace, metric, dim, id string) []string {
	var out []string
	for alarmID, a := range resources(raw, "AWS::CloudWatch::Alarm") {
		if str(a["Namespace"]) != namespace || str(a["MetricName"]) != metric {
			continue
		}
		for _, d := range list(a["Dimensions"]) {
			if str(obj(d)["Name"]) == dim && isRef(obj(d)["Value"], id) {
				out = append(out, alarmID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// checkAlarm checks that an alarm fires on any occurrence within five
// minutes and notifies the alarm topic.
func checkAlarm(t *testing.T, raw map[string]any, id string) {
	t.Helper()
	a := resources(raw, "AWS::CloudWatch::Alarm")[id]
	if fmt.Sprint(a["Threshold"]) != "0" || str(a["ComparisonOperator"]) != "GreaterThanThreshold" {
		t.Errorf("%s: fires at %s %v, want GreaterThanThreshold 0", id, a["ComparisonOperator"], a["Threshold"])
	}
	if p := fmt.Sprint(a["Period"]); p != "300" && p != "60" {
		t.Errorf("%s: period %s, want 300 (5 minutes) or less", id, p)
	}
	if str(a["TreatMissingData"]) != "notBreaching" {
		t.Errorf("%s: TreatMissingData %v, want notBreaching (no invocations is no error)", id, a["TreatMissingData"])
	}
	if !slices.ContainsFunc(list(a["AlarmActions"]), func(v any) bool { return isRef(v, "AlarmTopic") }) {
		t.Errorf("%s: does not notify AlarmTopic", id)
	}
}

func TestTemplateOperations(t *testing.T) {
	raw := load(t).CFN
	fns := functions(t, raw)

	t.Run("every function has an Errors and a Throttles alarm", func(t *testing.T) {
		for _, name := range slices.Sorted(maps.Keys(fns)) {
			for _, metric := range []string{"Errors", "Throttles"} {
				ids := alarmFor(raw, "AWS/Lambda", metric, "FunctionName", fns[name].ID)
				if len(ids) == 0 {
					t.Errorf("%s (%s) has no %s alarm", name, fns[name].ID, metric)
				}
				for _, id := range ids {
					checkAlarm(t, raw, id)
				}
			}
		}
	})

	t.Run("the alarm topic mails AlarmEmail only when it is set", func(t *testing.T) {
		subs := resources(raw, "AWS::SNS::Subscription")
		found := false
		for id, s := range subs {
			if isRef(s["TopicArn"], "AlarmTopic") && isRef(s["Endpoint"], "AlarmEmail") {
				found = true
				if cond := str(obj(obj(raw["Resources"])[id])["Condition"]); cond == "" {
					t.Errorf("%s subscribes AlarmEmail unconditionally; an empty AlarmEmail would fail the deploy", id)
				}
			}
		}
		if !found {
			t.Error("no subscription of AlarmEmail to AlarmTopic")
		}
	})

	asyncFunctions := map[string]bool{}
	for _, j := range jobs.List(web.Deps{}) {
		asyncFunctions[j.Function] = true
	}
	queues := map[string]bool{}

	t.Run("every EventBridge rule and schedule has a dead-letter queue and a retry policy", func(t *testing.T) {
		for _, r := range eventRules(t, raw) {
			if !asyncFunctions[r.Function] {
				t.Errorf("%s: rule %s invokes it, but shared/jobs lists no job for the function", r.Function, r.ID)
			}
			q := queueOf(raw, obj(r.Target["DeadLetterConfig"])["Arn"])
			if q == "" {
				t.Errorf("%s: rule %s has no DeadLetterConfig with the Arn of a queue of the template", r.Function, r.ID)
			}
			queues[q] = true
			if rp := obj(r.Target["RetryPolicy"]); rp["MaximumRetryAttempts"] == nil || rp["MaximumEventAgeInSeconds"] == nil {
				t.Errorf("%s: rule %s has no RetryPolicy (MaximumRetryAttempts and MaximumEventAgeInSeconds)", r.Function, r.ID)
			}
		}
		if len(queues) == 0 {
			t.Fatal("no dead-letter queue found")
		}
	})

	t.Run("every job's function sends failed invocations to the dead-letter queue", func(t *testing.T) {
		onFailure := map[string]any{}
		for _, c := range resources(raw, "AWS::Lambda::EventInvokeConfig") {
			onFailure[str(obj(c["FunctionName"])["Ref"])] = obj(obj(c["DestinationConfig"])["OnFailure"])["Destination"]
		}
		for _, name := range slices.Sorted(maps.Keys(asyncFunctions)) {
			fn, ok := fns[name]
			if !ok {
				t.Errorf("job %s is not deployed", name)
				continue
			}
			if q := queueOf(raw, obj(fn.Props["DeadLetterConfig"])["TargetArn"]); q != "" {
				queues[q] = true
			} else if q := queueOf(raw, onFailure[fn.ID]); q != "" {
				queues[q] = true
			} else {
				t.Errorf("%s: failed asynchronous invocations are lost (no DeadLetterConfig or EventInvokeConfig OnFailure to a queue)", name)
			}
		}
	})

	t.Run("each dead-letter queue lets the account's EventBridge rules in and has a depth alarm", func(t *testing.T) {
		policies := resources(raw, "AWS::SQS::QueuePolicy")
		for q := range queues {
			if q == "" {
				continue
			}
			allowed := false
			for _, p := range policies {
				if !slices.ContainsFunc(list(p["Queues"]), func(v any) bool { return isRef(v, q) }) {
					continue
				}
				for _, s := range list(obj(p["PolicyDocument"])["Statement"]) {
					s := obj(s)
					if str(s["Effect"]) == "Allow" && str(obj(s["Principal"])["Service"]) == "events.amazonaws.com" &&
						slices.Contains(strs(s["Action"]), "sqs:SendMessage") && obj(s["Condition"]) != nil {
						allowed = true
					}
				}
			}
			if !allowed {
				t.Errorf("%s: no queue policy lets events.amazonaws.com send (with a source condition)", q)
			}
			ids := alarmFor(raw, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q)
			if len(ids) == 0 {
				t.Errorf("%s has no ApproximateNumberOfMessagesVisible alarm", q)
			}
			for _, id := range ids {
				checkAlarm(t, raw, id)
			}
		}
	})
}

// queueOf returns the logical id of the template's SQS queue v refers to.
func queueOf(raw map[string]any, v any) string {
	for id := range resources(raw, "AWS::SQS::Queue") {
		if isRef(v, id) {
			return id
		}
	}
	return ""
}

func TestTemplateSignIn(t *testing.T) {
	raw := load(t).CFN
	auth := functions(t, raw)["auth"]
	vars := obj(obj(auth.Props["Environment"])["Variables"])
	client := resources(raw, "AWS::Cognito::UserPoolClient")["UserPoolClient"]
	pool := resources(raw, "AWS::Cognito::UserPool")["UserPool"]
	if client == nil || pool == nil {
		t.Fatal("template.yaml has no UserPool and UserPoolClient")
	}

	t.Run("the auth function signs in with the user pool's issuer and client", func(t *testing.T) {
		if s := subString(vars["OIDC_ISSUER"]); s != "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}" {
			t.Errorf("OIDC_ISSUER %v, want the Cognito issuer of UserPool", vars["OIDC_ISSUER"])
		}
		if !isRef(vars["OIDC_CLIENT_ID"], "UserPoolClient") {
			t.Errorf("OIDC_CLIENT_ID %v, want Ref UserPoolClient", vars["OIDC_CLIENT_ID"])
		}
		if !isRef(vars["PUBLIC_URL"], "PublicUrl") {
			t.Errorf("PUBLIC_URL %v, want Ref PublicUrl", vars["PUBLIC_URL"])
		}
	})

	t.Run("the organisation and role claims are custom attributes of the pool", func(t *testing.T) {
		attrs := map[string]bool{}
		for _, a := range list(pool["Schema"]) {
			attrs["custom:"+str(obj(a)["Name"])] = str(obj(a)["AttributeDataType"]) == "String"
		}
		for _, v := range []string{"OIDC_ORG_CLAIM", "OIDC_ROLE_CLAIM"} {
			if claim := str(vars[v]); !attrs[claim] {
				t.Errorf("%s is %q, not a string custom attribute of UserPool", v, claim)
			}
			if claim := str(vars[v]); slices.Contains(strs(client["WriteAttributes"]), claim) || client["WriteAttributes"] == nil {
				t.Errorf("members may write %s themselves (UserPoolClient WriteAttributes %v)", claim, client["WriteAttributes"])
			}
			if claim := str(vars[v]); !slices.Contains(strs(client["ReadAttributes"]), claim) {
				t.Errorf("the client cannot read %s, so it is not in the ID token", claim)
			}
		}
		if !truthy(obj(pool["AdminCreateUserConfig"])["AllowAdminCreateUserOnly"]) {
			t.Error("anyone may sign up to the user pool; members are created by operators")
		}
	})

	t.Run("the client uses the authorization code flow back to the callback route", func(t *testing.T) {
		if f := strs(client["AllowedOAuthFlows"]); !slices.Equal(f, []string{"code"}) {
			t.Errorf("AllowedOAuthFlows %v, want [code]", f)
		}
		if !slices.Contains(strs(client["AllowedOAuthScopes"]), "openid") {
			t.Errorf("scopes %v lack openid", client["AllowedOAuthScopes"])
		}
		want := map[string]string{"CallbackURLs": "${PublicUrl}/auth/callback", "LogoutURLs": "${PublicUrl}/auth/login"}
		for prop, url := range want {
			urls := list(client[prop])
			if len(urls) != 1 || subString(urls[0]) != url {
				t.Errorf("%s %v, want [%s]", prop, urls, url)
			}
			path := strings.TrimPrefix(url, "${PublicUrl}")
			if !slices.ContainsFunc(web.Routes(web.Deps{}), func(r web.Route) bool { return r.Path == path && r.Method == "GET" && r.Function == "auth" }) {
				t.Errorf("%s points at GET %s, which the auth function does not serve", prop, path)
			}
		}
	})
}

func TestTemplateSite(t *testing.T) {
	raw := load(t).CFN
	dist := obj(resources(raw, "AWS::CloudFront::Distribution")["Distribution"]["DistributionConfig"])
	if dist == nil {
		t.Fatal("template.yaml has no Distribution")
	}
	origins := map[string]map[string]any{}
	for _, o := range list(dist["Origins"]) {
		origins[str(obj(o)["Id"])] = obj(o)
	}

	t.Run("pages go to the HTTP API, uncached, without the viewer's Host", func(t *testing.T) {
		def := obj(dist["DefaultCacheBehavior"])
		o := origins[str(def["TargetOriginId"])]
		if !mentions(o["DomainName"], "Api") || !strings.Contains(subString(o["DomainName"]), "execute-api") {
			t.Errorf("default behaviour goes to %v, want the HTTP API", o["DomainName"])
		}
		if str(def["CachePolicyId"]) != "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" {
			t.Errorf("default behaviour caches (policy %v), want Managed-CachingDisabled", def["CachePolicyId"])
		}
		if str(def["OriginRequestPolicyId"]) != "b689b0a8-53d0-40ab-baf2-68738e2966ac" {
			t.Errorf("default behaviour origin request policy %v, want Managed-AllViewerExceptHostHeader (cookies, query, no Host)", def["OriginRequestPolicyId"])
		}
		for _, m := range []string{"GET", "HEAD", "POST"} {
			if !slices.Contains(strs(def["AllowedMethods"]), m) {
				t.Errorf("default behaviour refuses %s; pages answer GET and HEAD, forms and webhooks post", m)
			}
		}
		if str(def["ViewerProtocolPolicy"]) != "redirect-to-https" && str(def["ViewerProtocolPolicy"]) != "https-only" {
			t.Errorf("viewer protocol %v", def["ViewerProtocolPolicy"])
		}
	})

	t.Run("/ redirects to /billing at the edge, as on the local server", func(t *testing.T) {
		def := obj(dist["DefaultCacheBehavior"])
		var code string
		for _, a := range list(def["FunctionAssociations"]) {
			a := obj(a)
			id, _ := getAtt(a["FunctionARN"])
			if str(a["EventType"]) == "viewer-request" {
				code = str(resources(raw, "AWS::CloudFront::Function")[id]["FunctionCode"])
			}
		}
		for _, want := range []string{"uri === '/'", "statusCode: 303", "value: '/billing'"} {
			if !strings.Contains(code, want) {
				t.Errorf("the default behaviour's viewer-request function lacks %q:\n%s", want, code)
			}
		}
		routes := web.Routes(web.Deps{})
		if !slices.ContainsFunc(routes, func(r web.Route) bool { return r.Method == "GET" && r.Path == "/billing" }) {
			t.Error("/ redirects to /billing, which is no GET route of shared/web/routes.go")
		}
		if slices.ContainsFunc(routes, func(r web.Route) bool { return r.Path == "/" }) {
			t.Error("shared/web/routes.go routes /, which the distribution answers before the API (RootRedirect); keep one")
		}
	})

	t.Run("/static/* comes from the private bucket through origin access control", func(t *testing.T) {
		var static map[string]any
		for _, b := range list(dist["CacheBehaviors"]) {
			if str(obj(b)["PathPattern"]) == "/static/*" {
				static = obj(b)
			}
		}
		if static == nil {
			t.Fatal("no /static/* behaviour")
		}
		o := origins[str(static["TargetOriginId"])]
		if !isRef(o["DomainName"], "SiteBucket") || o["OriginAccessControlId"] == nil {
			t.Errorf("/static/* goes to %v (access control %v), want SiteBucket with OAC", o["DomainName"], o["OriginAccessControlId"])
		}
		bucket := resources(raw, "AWS::S3::Bucket")["SiteBucket"]
		block := obj(bucket["PublicAccessBlockConfiguration"])
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if !truthy(block[k]) {
				t.Errorf("SiteBucket %s is not true", k)
			}
		}
		for _, p := range resources(raw, "AWS::S3::BucketPolicy") {
			for _, s := range list(obj(p["PolicyDocument"])["Statement"]) {
				s := obj(s)
				if str(s["Effect"]) == "Allow" && !mentions(s["Condition"], "Distribution") {
					t.Errorf("SiteBucket policy allows %v to %v without the distribution as source", s["Action"], s["Principal"])
				}
			}
		}
	})

	t.Run("the site's files are under static/, the path the distribution serves from the bucket", func(t *testing.T) {
		entries, err := os.ReadDir(filepath.Join(root, "site"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() && e.Name() != "static" {
				t.Errorf("site/%s/ is not served by the distribution (only /static/*)", e.Name())
			}
		}
		if _, err := os.Stat(filepath.Join(root, "site", "static")); err != nil {
			t.Error(err)
		}
	})

	t.Run("the outputs name the bucket and the distribution's domain", func(t *testing.T) {
		out := obj(raw["Outputs"])
		if !isRef(obj(out["SiteBucket"])["Value"], "SiteBucket") {
			t.Error("no SiteBucket output")
		}
		if !isRef(obj(out["DistributionDomain"])["Value"], "Distribution") {
			t.Error("no DistributionDomain output")
		}
	})
}
