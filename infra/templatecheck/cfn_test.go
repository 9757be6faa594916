package templatecheck_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
)

const root = "../.."

// templates is template.yaml as written (Source) and as CloudFormation
// runs it, after the SAM transform (CFN), both as JSON with the intrinsic
// functions in their long form ({"Ref": "Table"}, {"Fn::GetAtt": [...]}).
type templates struct {
	Source map[string]any
	CFN    map[string]any
}

var (
	transformOnce sync.Once
	transformed   templates
	transformErr  error
)

// load runs the real SAM transform (aws-sam-translator, through
// transform.py) over template.yaml once per test run. It fails, never
// skips, when python3 or aws-sam-translator is missing: CI has both.
func load(t *testing.T) templates {
	t.Helper()
	transformOnce.Do(func() {
		python, err := exec.LookPath("python3")
		if err != nil {
			transformErr = fmt.Errorf("python3 is not on PATH; these checks run template.yaml through the real SAM transform with it: install Python 3 and then `pip install aws-sam-translator` (cfn-lint, which `make lint` uses, brings it)")
			return
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(python, "transform.py", filepath.Join(root, "template.yaml"))
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			transformErr = fmt.Errorf("python3 transform.py template.yaml: %v\n%s", err, strings.TrimSpace(stderr.String()))
			return
		}
		var out struct {
			Source      map[string]any `json:"source"`
			Transformed map[string]any `json:"transformed"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			transformErr = fmt.Errorf("transform.py printed no JSON: %v", err)
			return
		}
		transformed = templates{Source: out.Source, CFN: out.Transformed}
	})
	if transformErr != nil {
		t.Fatal(transformErr)
	}
	return transformed
}

// resources returns the logical ids and properties of a template's
// resources of type typ.
func resources(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, res := range obj(tmpl["Resources"]) {
		if r := obj(res); str(r["Type"]) == typ {
			out[id] = obj(r["Properties"])
		}
	}
	return out
}

// resource returns a resource of the template (Type, Properties,
// DeletionPolicy, ...).
func resource(tmpl map[string]any, id string) map[string]any {
	return obj(obj(tmpl["Resources"])[id])
}

// logicalID is the logical id of the function built from functions/<name>:
// the name in PascalCase with "Function" after it (auto-recharge-page →
// AutoRechargePageFunction). The Makefile's build-<LogicalId> targets and
// sam build rely on the same convention.
func logicalID(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		for i, r := range part {
			if i == 0 {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
		}
	}
	return b.String() + "Function"
}

// functionDirs returns the names of the directories under functions/.
func functionDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// lambdaFunction is one AWS::Lambda::Function of the transformed template.
type lambdaFunction struct {
	// ID is the function's logical id.
	ID string
	// Props are the function's properties after the transform (Globals
	// merged).
	Props map[string]any
	// Role are the properties of the IAM role the transform made for it.
	Role map[string]any
}

// functions returns the transformed template's Lambda functions by their
// functions/<name> directory; a function whose logical id is no
// directory's fails the test (TestTemplateFunctions says which).
func functions(t *testing.T, tmpl map[string]any) map[string]lambdaFunction {
	t.Helper()
	byID := map[string]string{}
	for _, name := range functionDirs(t) {
		byID[logicalID(name)] = name
	}
	out := map[string]lambdaFunction{}
	for id, props := range resources(tmpl, "AWS::Lambda::Function") {
		name, ok := byID[id]
		if !ok {
			t.Fatalf("template.yaml deploys %s, which is no functions/<name> (its logical id must be <Name>Function)", id)
		}
		fn := lambdaFunction{ID: id, Props: props}
		if role, ok := getAtt(props["Role"]); ok {
			fn.Role = obj(resource(tmpl, role)["Properties"])
		}
		out[name] = fn
	}
	return out
}

// getAtt returns the logical id of {"Fn::GetAtt": [id, attr]}.
func getAtt(v any) (string, bool) {
	switch g := obj(v)["Fn::GetAtt"].(type) {
	case []any:
		if len(g) > 0 {
			return str(g[0]), true
		}
	case string:
		id, _, ok := strings.Cut(g, ".")
		return id, ok
	}
	return "", false
}

// isRef reports whether v is {"Ref": id} or {"Fn::GetAtt": [id, ...]}.
func isRef(v any, id string) bool {
	m := obj(v)
	if r, ok := m["Ref"]; ok {
		return r == id
	}
	got, ok := getAtt(v)
	return ok && got == id
}

// subString returns the template string of a Fn::Sub (either form).
func subString(v any) string {
	sub := obj(v)["Fn::Sub"]
	if l, ok := sub.([]any); ok && len(l) > 0 {
		return str(l[0])
	}
	return str(sub)
}

// mentions reports whether v refers to the resource id anywhere: Ref,
// GetAtt or ${id...} in a Sub.
func mentions(v any, id string) bool {
	switch x := v.(type) {
	case map[string]any:
		if isRef(x, id) {
			return true
		}
		if s := subString(x); strings.Contains(s, "${"+id+"}") || strings.Contains(s, "${"+id+".") {
			return true
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

// list returns a list, or a single value as a list of one.
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func truthy(v any) bool { return v == true || v == "true" }
