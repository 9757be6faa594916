package templatecheck_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/web"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
)

const root = "../.."

// functionName returns the functions/<name> a SAM function builds from.
func functionName(t *testing.T, fn *serverless.Function) string {
	t.Helper()
	if fn.CodeUri == nil || fn.CodeUri.String == nil {
		t.Fatalf("function without a CodeUri path")
	}
	uri := strings.TrimSuffix(*fn.CodeUri.String, "/")
	name, ok := strings.CutPrefix(uri, "functions/")
	if !ok || strings.Contains(name, "/") {
		t.Fatalf("CodeUri %q is not functions/<name>/", *fn.CodeUri.String)
	}
	return name
}

func TestTemplateFunctions(t *testing.T) {
	tmpl := parse(t)
	fns := tmpl.GetAllServerlessFunctionResources()

	t.Run("every functions directory has a function whose CodeUri points there, and no function points elsewhere", func(t *testing.T) {
		dirs, err := os.ReadDir(filepath.Join(root, "functions"))
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for _, d := range dirs {
			if d.IsDir() {
				want = append(want, d.Name())
				if _, err := os.Stat(filepath.Join(root, "functions", d.Name(), "main.go")); err != nil {
					t.Errorf("functions/%s has no main.go", d.Name())
				}
			}
		}
		for _, fn := range fns {
			got = append(got, functionName(t, fn))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("functions/ has %v, template.yaml builds %v", want, got)
		}
	})

	t.Run("every function runs Go on arm64 provided.al2023", func(t *testing.T) {
		g := tmpl.Globals["Function"]
		if g == nil {
			t.Fatal("no Globals.Function")
		}
		for name, fn := range fns {
			runtime, arch := fn.Runtime, fn.Architectures
			if runtime == nil {
				runtime = g.(*global.Function).Runtime
			}
			if arch == nil {
				if a := g.(*global.Function).Architectures; a != nil {
					arch = *a
				}
			}
			if runtime == nil || *runtime != "provided.al2023" || !slices.Equal(arch, []string{"arm64"}) {
				t.Errorf("%s: runtime %v, architectures %v", name, runtime, arch)
			}
		}
	})
}

type route struct{ Function, Method, Path string }

// routeAuth returns the authorizer of a template route ("" for none).
func routeAuth(h *serverless.Function_HttpApiEvent) string {
	if h.Auth == nil || h.Auth.Authorizer == nil {
		return ""
	}
	return *h.Auth.Authorizer
}

func TestTemplateRoutes(t *testing.T) {
	tmpl := parse(t)
	var inTemplate []route
	auth := map[route]string{}
	for _, fn := range tmpl.GetAllServerlessFunctionResources() {
		name := functionName(t, fn)
		for evName, ev := range fn.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			if ev.Properties == nil || ev.Properties.HttpApiEvent == nil {
				t.Fatalf("%s: event %s has no HttpApi properties", name, evName)
			}
			h := ev.Properties.HttpApiEvent
			if h.Method == nil || h.Path == nil {
				t.Fatalf("%s: event %s needs Method and Path", name, evName)
			}
			r := route{name, strings.ToUpper(*h.Method), *h.Path}
			inTemplate = append(inTemplate, r)
			auth[r] = routeAuth(h)
		}
	}
	var inCode []route
	access := map[route]web.Access{}
	for _, rt := range web.Routes(web.Deps{}) {
		r := route{rt.Function, rt.Method, rt.Path}
		inCode = append(inCode, r)
		access[r] = rt.Access
	}

	t.Run("service routes use IAM authorization and no other route does", func(t *testing.T) {
		for r, a := range access {
			iam := auth[r] == "AWS_IAM"
			if (a == web.AccessService) != iam {
				t.Errorf("%v: access %v in code, authorizer %q in template.yaml", r, a, auth[r])
			}
		}
	})

	t.Run("every route of the template is in the route list", func(t *testing.T) {
		for _, r := range inTemplate {
			if !slices.Contains(inCode, r) {
				t.Errorf("template.yaml routes %v, shared/web/routes.go does not", r)
			}
		}
	})
	t.Run("every route of the route list is in the template", func(t *testing.T) {
		for _, r := range inCode {
			if !slices.Contains(inTemplate, r) {
				t.Errorf("shared/web/routes.go routes %v, template.yaml does not", r)
			}
		}
	})
	t.Run("local-only routes are never deployed", func(t *testing.T) {
		for _, rt := range web.LocalRoutes(web.Deps{}) {
			for _, r := range inTemplate {
				if r.Path == rt.Path && r.Method == rt.Method {
					t.Errorf("template.yaml deploys the local-only route %s", rt.Path)
				}
			}
		}
	})
}

func TestTemplateTable(t *testing.T) {
	tables := parse(t).GetAllDynamoDBTableResources()
	if len(tables) != 1 {
		t.Fatalf("template.yaml has %d tables, want 1", len(tables))
	}
	want := store.TableInput("billing")
	for name, got := range tables {
		t.Run("the table's keys and indexes equal the store's definition", func(t *testing.T) {
			var gotAttrs, wantAttrs []string
			for _, a := range got.AttributeDefinitions {
				gotAttrs = append(gotAttrs, a.AttributeName+":"+a.AttributeType)
			}
			for _, a := range want.AttributeDefinitions {
				wantAttrs = append(wantAttrs, *a.AttributeName+":"+string(a.AttributeType))
			}
			slices.Sort(gotAttrs)
			slices.Sort(wantAttrs)
			if !slices.Equal(gotAttrs, wantAttrs) {
				t.Errorf("%s attributes %v, store %v", name, gotAttrs, wantAttrs)
			}
			var gotKeys, wantKeys []string
			for _, k := range got.KeySchema {
				gotKeys = append(gotKeys, k.AttributeName+":"+k.KeyType)
			}
			for _, k := range want.KeySchema {
				wantKeys = append(wantKeys, *k.AttributeName+":"+string(k.KeyType))
			}
			if !slices.Equal(gotKeys, wantKeys) {
				t.Errorf("%s keys %v, store %v", name, gotKeys, wantKeys)
			}
			var gotIdx, wantIdx []string
			for _, g := range got.GlobalSecondaryIndexes {
				s := g.IndexName
				for _, k := range g.KeySchema {
					s += " " + k.AttributeName + ":" + k.KeyType
				}
				if g.Projection.ProjectionType != nil {
					s += " " + *g.Projection.ProjectionType
				}
				gotIdx = append(gotIdx, s)
			}
			for _, g := range want.GlobalSecondaryIndexes {
				s := *g.IndexName
				for _, k := range g.KeySchema {
					s += " " + *k.AttributeName + ":" + string(k.KeyType)
				}
				s += " " + string(g.Projection.ProjectionType)
				wantIdx = append(wantIdx, s)
			}
			if !slices.Equal(gotIdx, wantIdx) {
				t.Errorf("%s indexes %v, store %v", name, gotIdx, wantIdx)
			}
			if got.BillingMode == nil || *got.BillingMode != string(want.BillingMode) {
				t.Errorf("%s billing mode %v, store %s", name, got.BillingMode, want.BillingMode)
			}
			if got.TimeToLiveSpecification == nil || got.TimeToLiveSpecification.AttributeName == nil || *got.TimeToLiveSpecification.AttributeName != store.AttrTTL {
				t.Errorf("%s TTL attribute must be %s", name, store.AttrTTL)
			}
		})
	}
}

func TestTemplateSchedules(t *testing.T) {
	type schedule struct{ Function, Expression string }
	var inTemplate []schedule
	for _, fn := range parse(t).GetAllServerlessFunctionResources() {
		for _, ev := range fn.Events {
			if ev.Type == "Schedule" {
				if ev.Properties == nil || ev.Properties.ScheduleEvent == nil {
					t.Fatalf("%s: Schedule event without properties", functionName(t, fn))
				}
				inTemplate = append(inTemplate, schedule{functionName(t, fn), ev.Properties.ScheduleEvent.Schedule})
			}
		}
	}
	var inCode []schedule
	for _, j := range jobs.List(web.Deps{}) {
		inCode = append(inCode, schedule{j.Function, j.Schedule})
	}
	slices.SortFunc(inTemplate, func(a, b schedule) int { return strings.Compare(a.Function, b.Function) })
	slices.SortFunc(inCode, func(a, b schedule) int { return strings.Compare(a.Function, b.Function) })
	t.Run("every scheduled job runs on the same schedule in template.yaml", func(t *testing.T) {
		if !slices.Equal(inTemplate, inCode) {
			t.Errorf("template.yaml schedules %v, shared/jobs lists %v", inTemplate, inCode)
		}
	})
}

func TestTemplateRules(t *testing.T) {
	type rule struct {
		Function string
		Types    string
	}
	var inTemplate []rule
	for _, fn := range parse(t).GetAllServerlessFunctionResources() {
		for name, ev := range fn.Events {
			if ev.Type != "EventBridgeRule" {
				continue
			}
			if ev.Properties == nil || ev.Properties.EventBridgeRuleEvent == nil {
				t.Fatalf("%s: rule %s without properties", functionName(t, fn), name)
			}
			pattern, _ := ev.Properties.EventBridgeRuleEvent.Pattern.(map[string]any)
			var types []string
			for _, v := range asList(pattern["detail-type"]) {
				types = append(types, fmt.Sprint(v))
			}
			if src := asList(pattern["source"]); len(src) != 1 || src[0] != events.Source {
				t.Errorf("%s: rule %s matches source %v, want [%s]", functionName(t, fn), name, src, events.Source)
			}
			slices.Sort(types)
			inTemplate = append(inTemplate, rule{functionName(t, fn), strings.Join(types, ",")})
		}
	}
	var inCode []rule
	for _, j := range jobs.List(web.Deps{}) {
		if len(j.DetailTypes) > 0 {
			types := slices.Clone(j.DetailTypes)
			slices.Sort(types)
			inCode = append(inCode, rule{j.Function, strings.Join(types, ",")})
		}
	}
	slices.SortFunc(inTemplate, func(a, b rule) int { return strings.Compare(a.Function, b.Function) })
	slices.SortFunc(inCode, func(a, b rule) int { return strings.Compare(a.Function, b.Function) })
	t.Run("every event rule sends the same billing events in template.yaml", func(t *testing.T) {
		if !slices.Equal(inTemplate, inCode) {
			t.Errorf("template.yaml rules %v, shared/jobs lists %v", inTemplate, inCode)
		}
	})
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
