package templatecheck_test

import (
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/web"
)

func TestTemplateFunctions(t *testing.T) {
	tmpls := load(t)

	t.Run("every functions directory is deployed as <Name>Function, and nothing else is", func(t *testing.T) {
		var want []string
		for _, name := range functionDirs(t) {
			want = append(want, logicalID(name))
			if _, err := os.Stat(filepath.Join(root, "functions", name, "main.go")); err != nil {
				t.Errorf("functions/%s has no main.go", name)
			}
		}
		got := slices.Sorted(maps.Keys(resources(tmpls.CFN, "AWS::Lambda::Function")))
		slices.Sort(want)
		if !slices.Equal(want, got) {
			t.Errorf("functions/ makes %v, the transformed template deploys %v", want, got)
		}
	})

	t.Run("every function runs the bootstrap on arm64 provided.al2023", func(t *testing.T) {
		for name, fn := range functions(t, tmpls.CFN) {
			if str(fn.Props["Runtime"]) != "provided.al2023" || !slices.Equal(strs(fn.Props["Architectures"]), []string{"arm64"}) || str(fn.Props["Handler"]) != "bootstrap" {
				t.Errorf("%s: runtime %v, architectures %v, handler %v", name, fn.Props["Runtime"], fn.Props["Architectures"], fn.Props["Handler"])
			}
		}
	})

	t.Run("sam build builds every function with the Makefile from the repository root", func(t *testing.T) {
		global := obj(obj(tmpls.Source["Globals"])["Function"])
		for id, props := range resources(tmpls.Source, "AWS::Serverless::Function") {
			if m := obj(resource(tmpls.Source, id)["Metadata"]); str(m["BuildMethod"]) != "makefile" {
				t.Errorf("%s: Metadata.BuildMethod %v, want makefile (the Makefile's build-%s)", id, m["BuildMethod"], id)
			}
			uri := props["CodeUri"]
			if uri == nil {
				uri = global["CodeUri"]
			}
			if str(uri) != "." {
				t.Errorf("%s: CodeUri %v, want . (the repository root, so sam sees changes under shared/)", id, uri)
			}
		}
	})

	t.Run("every function logs to its own log group, which has a retention period", func(t *testing.T) {
		groups := resources(tmpls.CFN, "AWS::Logs::LogGroup")
		for name, fn := range functions(t, tmpls.CFN) {
			found := false
			for id, g := range groups {
				if subString(g["LogGroupName"]) != "/aws/lambda/${"+fn.ID+"}" && !isRef(obj(fn.Props["LoggingConfig"])["LogGroup"], id) {
					continue
				}
				found = true
				if g["RetentionInDays"] == nil {
					t.Errorf("%s: log group %s keeps logs for ever (no RetentionInDays)", name, id)
				}
			}
			if !found {
				t.Errorf("%s: no AWS::Logs::LogGroup named /aws/lambda/${%s} (nor LoggingConfig.LogGroup), so Lambda creates one that never expires", name, fn.ID)
			}
		}
	})
}

type route struct{ Function, Method, Path string }

// apiRoutes returns the routes of the transformed template's one HTTP API
// (its OpenAPI body) by the function each integration invokes, and each
// route's security schemes.
func apiRoutes(t *testing.T, tmpl map[string]any) (map[route][]string, map[string]any) {
	t.Helper()
	apis := resources(tmpl, "AWS::ApiGatewayV2::Api")
	if len(apis) != 1 {
		t.Fatalf("the transformed template has %d HTTP APIs, want 1", len(apis))
	}
	var body map[string]any
	for _, api := range apis {
		body = obj(api["Body"])
	}
	byID := map[string]string{}
	for name, fn := range functions(t, tmpl) {
		byID[fn.ID] = name
	}
	invokes := regexp.MustCompile(`/functions/\$\{(\w+)\.Arn\}/invocations$`)
	out := map[route][]string{}
	for path, methods := range obj(body["paths"]) {
		for method, op := range obj(methods) {
			op := obj(op)
			uri := subString(obj(op["x-amazon-apigateway-integration"])["uri"])
			m := invokes.FindStringSubmatch(uri)
			if m == nil || byID[m[1]] == "" {
				t.Errorf("%s %s invokes %q, not one of the functions", strings.ToUpper(method), path, uri)
				continue
			}
			var schemes []string
			for _, s := range list(op["security"]) {
				schemes = slices.AppendSeq(schemes, maps.Keys(obj(s)))
			}
			slices.Sort(schemes)
			out[route{byID[m[1]], strings.ToUpper(method), path}] = schemes
		}
	}
	return out, body
}

func TestTemplateRoutes(t *testing.T) {
	tmpl := load(t).CFN
	inTemplate, body := apiRoutes(t, tmpl)
	// The code's routes as API Gateway must route them: a GET route also
	// answers HEAD (net/http's mux does so by itself; an HTTP API route
	// matches one method).
	inCode := map[route]web.Access{}
	for _, rt := range web.Routes(web.Deps{}) {
		inCode[route{rt.Function, rt.Method, rt.Path}] = rt.Access
		if rt.Method == http.MethodGet {
			inCode[route{rt.Function, http.MethodHead, rt.Path}] = rt.Access
		}
	}

	t.Run("the AWS_IAM authorizer is SigV4", func(t *testing.T) {
		scheme := obj(obj(obj(body["components"])["securitySchemes"])["AWS_IAM"])
		if str(scheme["x-amazon-apigateway-authtype"]) != "awsSigv4" {
			t.Errorf("security scheme AWS_IAM is %v, want x-amazon-apigateway-authtype awsSigv4", scheme)
		}
	})

	t.Run("service routes use IAM authorization and no other route has an authorizer", func(t *testing.T) {
		for r, access := range inCode {
			schemes, ok := inTemplate[r]
			if !ok {
				continue
			}
			want := []string(nil)
			if access == web.AccessService {
				want = []string{"AWS_IAM"}
			}
			if !slices.Equal(schemes, want) {
				t.Errorf("%v: access %v in code, authorizers %v in the transformed template, want %v", r, access, schemes, want)
			}
			if strings.HasPrefix(r.Path, "/v1/") != (access == web.AccessService) {
				t.Errorf("%v: the usage API is /v1/*, and only it uses IAM", r)
			}
		}
	})

	t.Run("every route of the template is in the route list", func(t *testing.T) {
		for _, r := range slices.SortedFunc(maps.Keys(inTemplate), compareRoutes) {
			if _, ok := inCode[r]; !ok {
				t.Errorf("template.yaml routes %v, shared/web/routes.go does not", r)
			}
		}
	})
	t.Run("every route of the route list is in the template, HEAD beside every GET", func(t *testing.T) {
		for _, r := range slices.SortedFunc(maps.Keys(inCode), compareRoutes) {
			if _, ok := inTemplate[r]; !ok {
				t.Errorf("shared/web/routes.go routes %v, template.yaml does not", r)
			}
		}
	})
	t.Run("local-only routes are never deployed", func(t *testing.T) {
		for _, rt := range web.LocalRoutes(web.Deps{}) {
			for r := range inTemplate {
				if r.Path == rt.Path && (r.Method == rt.Method || (rt.Method == http.MethodGet && r.Method == http.MethodHead)) {
					t.Errorf("template.yaml deploys the local-only route %s %s", r.Method, rt.Path)
				}
			}
		}
	})

	t.Run("API Gateway may invoke each route's function for that route, and for nothing else", func(t *testing.T) {
		allowed := map[route]bool{}
		byID := map[string]string{}
		for name, fn := range functions(t, tmpl) {
			byID[fn.ID] = name
		}
		for id, p := range resources(tmpl, "AWS::Lambda::Permission") {
			if str(p["Principal"]) != "apigateway.amazonaws.com" {
				continue
			}
			fn := byID[str(obj(p["FunctionName"])["Ref"])]
			src := obj(p["SourceArn"])["Fn::Sub"]
			arn, vars := "", map[string]any{}
			if l, ok := src.([]any); ok && len(l) == 2 {
				arn, vars = str(l[0]), obj(l[1])
			}
			// arn:...:${__ApiId__}/${__Stage__}/METHOD/path, {id} as *.
			_, rest, ok := strings.Cut(arn, "${__ApiId__}/${__Stage__}/")
			if fn == "" || str(p["Action"]) != "lambda:InvokeFunction" || !ok || !isRef(vars["__ApiId__"], "Api") {
				t.Errorf("permission %s: %v", id, p)
				continue
			}
			method, path, _ := strings.Cut(rest, "/")
			allowed[route{fn, method, "/" + path}] = true
		}
		for r := range inTemplate {
			wild := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(r.Path, "*")
			if !allowed[route{r.Function, r.Method, wild}] {
				t.Errorf("%v: no AWS::Lambda::Permission lets API Gateway invoke %s for %s %s", r, r.Function, r.Method, wild)
			}
			delete(allowed, route{r.Function, r.Method, wild})
		}
		for r := range allowed {
			t.Errorf("API Gateway may invoke %s for %s %s, which is no route", r.Function, r.Method, r.Path)
		}
	})
}

func compareRoutes(a, b route) int {
	return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method)
}

func TestTemplateTable(t *testing.T) {
	tables := resources(load(t).CFN, "AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("template.yaml has %d tables, want 1", len(tables))
	}
	want := store.TableInput("billing")
	for name, got := range tables {
		t.Run("the table's keys and indexes equal the store's definition", func(t *testing.T) {
			var gotAttrs, wantAttrs []string
			for _, a := range list(got["AttributeDefinitions"]) {
				gotAttrs = append(gotAttrs, str(obj(a)["AttributeName"])+":"+str(obj(a)["AttributeType"]))
			}
			for _, a := range want.AttributeDefinitions {
				wantAttrs = append(wantAttrs, *a.AttributeName+":"+string(a.AttributeType))
			}
			slices.Sort(gotAttrs)
			slices.Sort(wantAttrs)
			if !slices.Equal(gotAttrs, wantAttrs) {
				t.Errorf("%s attributes %v, store %v", name, gotAttrs, wantAttrs)
			}
			keys := func(l any) string {
				var s []string
				for _, k := range list(l) {
					s = append(s, str(obj(k)["AttributeName"])+":"+str(obj(k)["KeyType"]))
				}
				return strings.Join(s, " ")
			}
			var wantKeys []string
			for _, k := range want.KeySchema {
				wantKeys = append(wantKeys, *k.AttributeName+":"+string(k.KeyType))
			}
			if got := keys(got["KeySchema"]); got != strings.Join(wantKeys, " ") {
				t.Errorf("%s keys %v, store %v", name, got, wantKeys)
			}
			var gotIdx, wantIdx []string
			for _, g := range list(got["GlobalSecondaryIndexes"]) {
				g := obj(g)
				gotIdx = append(gotIdx, str(g["IndexName"])+" "+keys(g["KeySchema"])+" "+str(obj(g["Projection"])["ProjectionType"]))
			}
			for _, g := range want.GlobalSecondaryIndexes {
				s := *g.IndexName
				for _, k := range g.KeySchema {
					s += " " + *k.AttributeName + ":" + string(k.KeyType)
				}
				wantIdx = append(wantIdx, s+" "+string(g.Projection.ProjectionType))
			}
			if !slices.Equal(gotIdx, wantIdx) {
				t.Errorf("%s indexes %v, store %v", name, gotIdx, wantIdx)
			}
			if str(got["BillingMode"]) != string(want.BillingMode) {
				t.Errorf("%s billing mode %v, store %s", name, got["BillingMode"], want.BillingMode)
			}
			if str(obj(got["TimeToLiveSpecification"])["AttributeName"]) != store.AttrTTL {
				t.Errorf("%s TTL attribute must be %s", name, store.AttrTTL)
			}
		})
	}
}

// eventRule is an AWS::Events::Rule that invokes one function, with the
// permission that lets EventBridge do so.
type eventRule struct {
	ID, Function string
	Props        map[string]any
	Target       map[string]any
}

// eventRules returns the transformed template's EventBridge rules (and
// schedules) that invoke functions; a rule without the Lambda permission
// for it fails the test.
func eventRules(t *testing.T, tmpl map[string]any) []eventRule {
	t.Helper()
	byID := map[string]string{}
	for name, fn := range functions(t, tmpl) {
		byID[fn.ID] = name
	}
	var out []eventRule
	for id, r := range resources(tmpl, "AWS::Events::Rule") {
		for _, target := range list(r["Targets"]) {
			fnID, _ := getAtt(obj(target)["Arn"])
			name := byID[fnID]
			if name == "" {
				t.Errorf("rule %s targets %v, not a function of the template", id, obj(target)["Arn"])
				continue
			}
			permitted := false
			for _, p := range resources(tmpl, "AWS::Lambda::Permission") {
				permitted = permitted || (str(p["Principal"]) == "events.amazonaws.com" && isRef(p["FunctionName"], fnID) && isRef(p["SourceArn"], id))
			}
			if !permitted {
				t.Errorf("rule %s targets %s, but no AWS::Lambda::Permission lets events.amazonaws.com invoke it from the rule", id, fnID)
			}
			out = append(out, eventRule{ID: id, Function: name, Props: r, Target: obj(target)})
		}
	}
	slices.SortFunc(out, func(a, b eventRule) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func TestTemplateSchedules(t *testing.T) {
	type schedule struct{ Function, Expression string }
	var inTemplate []schedule
	for _, r := range eventRules(t, load(t).CFN) {
		if expr := str(r.Props["ScheduleExpression"]); expr != "" {
			inTemplate = append(inTemplate, schedule{r.Function, expr})
		}
	}
	var inCode []schedule
	for _, j := range jobs.List(web.Deps{}) {
		inCode = append(inCode, schedule{j.Function, j.Schedule})
	}
	cmp := func(a, b schedule) int { return strings.Compare(a.Function, b.Function) }
	slices.SortFunc(inTemplate, cmp)
	slices.SortFunc(inCode, cmp)
	t.Run("every scheduled job runs on the same schedule in template.yaml", func(t *testing.T) {
		if !slices.Equal(inTemplate, inCode) {
			t.Errorf("template.yaml schedules %v, shared/jobs lists %v", inTemplate, inCode)
		}
	})
}

func TestTemplateRules(t *testing.T) {
	type rule struct{ Function, Types string }
	var inTemplate []rule
	for _, r := range eventRules(t, load(t).CFN) {
		pattern := obj(r.Props["EventPattern"])
		if pattern == nil {
			continue
		}
		if !isRef(r.Props["EventBusName"], "EventBus") {
			t.Errorf("%s: rule %s is on bus %v, want the billing bus (EventBus)", r.Function, r.ID, r.Props["EventBusName"])
		}
		if src := strs(pattern["source"]); !slices.Equal(src, []string{events.Source}) {
			t.Errorf("%s: rule %s matches source %v, want [%s]", r.Function, r.ID, src, events.Source)
		}
		types := strs(pattern["detail-type"])
		slices.Sort(types)
		inTemplate = append(inTemplate, rule{r.Function, strings.Join(types, ",")})
	}
	var inCode []rule
	for _, j := range jobs.List(web.Deps{}) {
		if len(j.DetailTypes) > 0 {
			types := slices.Clone(j.DetailTypes)
			slices.Sort(types)
			inCode = append(inCode, rule{j.Function, strings.Join(types, ",")})
		}
	}
	cmp := func(a, b rule) int { return strings.Compare(a.Function, b.Function) }
	slices.SortFunc(inTemplate, cmp)
	slices.SortFunc(inCode, cmp)
	t.Run("every event rule sends the same billing events in template.yaml", func(t *testing.T) {
		if !slices.Equal(inTemplate, inCode) {
			t.Errorf("template.yaml rules %v, shared/jobs lists %v", inTemplate, inCode)
		}
	})
}

func TestTemplateParameters(t *testing.T) {
	tmpl := load(t).CFN

	t.Run("a custom domain without a certificate is refused before anything is deployed", func(t *testing.T) {
		found := false
		for _, r := range obj(tmpl["Rules"]) {
			r := obj(r)
			if !mentions(r["RuleCondition"], "DomainName") {
				continue
			}
			for _, a := range list(r["Assertions"]) {
				found = found || (mentions(obj(a)["Assert"], "CertificateArn") && str(obj(a)["AssertDescription"]) != "")
			}
		}
		if !found {
			t.Error("no rule asserts CertificateArn when DomainName is set")
		}
	})

	t.Run("the stateful resources outlive the stack", func(t *testing.T) {
		for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Cognito::UserPool"} {
			for id := range resources(tmpl, typ) {
				r := resource(tmpl, id)
				if str(r["DeletionPolicy"]) != "Retain" || str(r["UpdateReplacePolicy"]) != "Retain" {
					t.Errorf("%s (%s): DeletionPolicy %v, UpdateReplacePolicy %v, want Retain for both", id, typ, r["DeletionPolicy"], r["UpdateReplacePolicy"])
				}
			}
		}
	})
}
