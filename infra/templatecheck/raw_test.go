package templatecheck_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// unknownToGoformation lists the SAM properties goformation's (older) SAM
// specification rejects as unknown fields although SAM supports them. They
// are removed before goformation parses the template; the raw view keeps
// them.
var unknownToGoformation = map[string][]string{
	"AWS::Serverless::HttpApi": {"AccessLogSettings"},
}

// eventPropsUnknownToGoformation lists, the same way, the properties of
// SAM function event sources goformation does not know.
var eventPropsUnknownToGoformation = map[string][]string{
	"Schedule":        {"DeadLetterConfig", "RetryPolicy"},
	"EventBridgeRule": {"DeadLetterConfig", "RetryPolicy"},
}

// rawTemplate returns template.yaml as JSON with the intrinsic functions
// left as they are written ({"Ref": "Table"}, {"Fn::GetAtt": [...]}), for
// the checks goformation's types cannot express (IAM statements, event
// dead-letter configuration, alarm dimensions).
func rawTemplate(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(js, &tmpl); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tmpl
}

// parse returns template.yaml parsed by goformation, intrinsic functions
// resolved as goformation does.
func parse(t *testing.T) *cloudformation.Template {
	t.Helper()
	raw := rawTemplate(t)
	for _, res := range obj(raw["Resources"]) {
		r := obj(res)
		for _, prop := range unknownToGoformation[str(r["Type"])] {
			delete(obj(r["Properties"]), prop)
		}
		if str(r["Type"]) == "AWS::Serverless::Function" {
			for _, ev := range obj(obj(r["Properties"])["Events"]) {
				for _, prop := range eventPropsUnknownToGoformation[str(obj(ev)["Type"])] {
					delete(obj(obj(ev)["Properties"]), prop)
				}
			}
		}
	}
	js, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := goformation.ParseJSON(js)
	if err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	return tmpl
}

// resources returns the logical ids and raw properties of the template's
// resources of type typ, in logical id order.
func resources(raw map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, res := range obj(raw["Resources"]) {
		if r := obj(res); str(r["Type"]) == typ {
			out[id] = obj(r["Properties"])
		}
	}
	return out
}

// rawFunctions returns every SAM function's raw properties by its
// functions/<name> directory.
func rawFunctions(t *testing.T, raw map[string]any) map[string]rawFunction {
	t.Helper()
	out := map[string]rawFunction{}
	for id, props := range resources(raw, "AWS::Serverless::Function") {
		uri := strings.TrimSuffix(str(props["CodeUri"]), "/")
		name, ok := strings.CutPrefix(uri, "functions/")
		if !ok {
			t.Fatalf("%s: CodeUri %q is not functions/<name>/", id, uri)
		}
		out[name] = rawFunction{ID: id, Props: props}
	}
	return out
}

type rawFunction struct {
	// ID is the function's logical id.
	ID    string
	Props map[string]any
}

func (f rawFunction) events() map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, ev := range obj(f.Props["Events"]) {
		out[name] = obj(ev)
	}
	return out
}

// isRef reports whether v is {"Ref": id} or {"Fn::GetAtt": [id, ...]} (or
// the "id.Attr" string form).
func isRef(v any, id string) bool {
	m := obj(v)
	if r, ok := m["Ref"]; ok {
		return r == id
	}
	switch g := m["Fn::GetAtt"].(type) {
	case []any:
		return len(g) > 0 && g[0] == id
	case string:
		return strings.HasPrefix(g, id+".")
	}
	return false
}

// mentions reports whether v refers to the resource id anywhere: Ref,
// GetAtt or ${id...} in a Sub.
func mentions(v any, id string) bool {
	switch x := v.(type) {
	case map[string]any:
		if isRef(x, id) {
			return true
		}
		if sub, ok := x["Fn::Sub"]; ok {
			s := str(sub)
			if l, ok := sub.([]any); ok && len(l) > 0 {
				s = str(l[0])
			}
			if strings.Contains(s, "${"+id+"}") || strings.Contains(s, "${"+id+".") {
				return true
			}
		}
		for _, e := range x {
			if mentions(e, id) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(x, func(e any) bool { return mentions(e, id) })
	}
	return false
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// strs returns a string or a list of strings as a list.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}
