package templatecheck_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"io/fs"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acme/billing/shared/function"
	"github.com/acme/billing/shared/jobs"
)

// envNeed says which deployed functions need a variable that
// shared/config reads. Every variable config.go reads must have an entry
// here (a new one fails TestTemplateEnvironment until it is classified and
// set in template.yaml).
type envNeed struct {
	// All: every function.
	All bool
	// Deps: every function whose routes (shared/web/routes.go) or job
	// (shared/jobs) use one of these web.Deps fields.
	Deps []string
	// Functions: these functions, besides.
	Functions []string
	// LocalOnly: meaningful only in local mode or tests; the template must
	// not set it.
	LocalOnly bool
	// Unset: read, optional, and deliberately left unset in AWS.
	Unset bool
	// SamLocal: set only by sam local (--env-vars infra/env.json). SAM
	// passes a function only the variables its template declares, so the
	// template declares it for every function, empty; a value there is an
	// error.
	SamLocal bool
}

var envNeeds = map[string]envNeed{
	// Required in AWS mode by config.Load for every function.
	"TABLE_NAME":     {All: true},
	"EVENT_BUS_NAME": {All: true},
	// The session keys: a Secrets Manager secret read at run time, never a
	// value in the environment. SESSION_KEY stands in under sam local.
	"SESSION_SECRET_ARN": {All: true},
	"SESSION_KEY":        {SamLocal: true},
	// Optional (default INFO), but one stack parameter sets every function's.
	"LOG_LEVEL": {All: true},
	// Optional with a local default; what a new organisation starts with, so
	// the functions that create organisations (the first sign-in) must get
	// the stack's values, not the code's defaults.
	"TRIAL_CREDITS":         {Deps: []string{"NewOrg"}},
	"DEFAULT_OVERAGE_LIMIT": {Deps: []string{"NewOrg"}},
	// Every function that charges, refunds, syncs customers or reads cards
	// goes through the payment provider; without the key a deployed function
	// gets payments.Unconfigured (the sandbox never runs in AWS).
	// The Stripe keys are read from the secret at run time; the
	// variables with the keys themselves are for local runs and sam local.
	"STRIPE_SECRET_ARN":      {Deps: []string{"Payments", "Invoicing", "StripeEvents", "Recharge", "StripeWebhookSecret"}},
	"STRIPE_SECRET_KEY":      {SamLocal: true},
	"STRIPE_WEBHOOK_SECRET":  {SamLocal: true},
	"STRIPE_PUBLISHABLE_KEY": {Deps: []string{"StripePublishableKey"}},
	// Only Add Usage Credits offers and creates crypto top-ups.
	"STRIPE_CRYPTO": {Functions: []string{"credits"}},
	// The seller recorded on each invoice and receipt at issue: every
	// function that closes cycles (Invoicing) or credits top-ups (credits,
	// the webhook's StripeEvents, auto-recharge's Recharge).
	"SELLER_NAME":    {Deps: []string{"Invoicing", "StripeEvents", "Recharge"}, Functions: []string{"credits"}},
	"SELLER_ADDRESS": {Deps: []string{"Invoicing", "StripeEvents", "Recharge"}, Functions: []string{"credits"}},
	"SELLER_EMAIL":   {Deps: []string{"Invoicing", "StripeEvents", "Recharge"}, Functions: []string{"credits"}},
	"SELLER_TAX_ID":  {Deps: []string{"Invoicing", "StripeEvents", "Recharge"}, Functions: []string{"credits"}},
	// Only the notifier sends email (Notify.Handle and RetryDue); the Spend
	// Management page uses the notifier for test webhooks and the delivery
	// list, never email.
	"EMAIL_FROM": {Functions: []string{"notifier"}},
	// The grace period of the invoices issued: only the monthly close
	// issues them.
	"PAST_DUE_GRACE_DAYS": {Functions: []string{"invoicing"}},
	// The SQS queue a fan-out job's dispatcher sends its batches to (each
	// job function its own, TestTemplateJobQueues).
	"JOB_QUEUE_URL": {Functions: []string{"auto-recharge", "daily-reset", "invoicing"}},
	// Sign-in with Cognito (any OIDC issuer by configuration).
	"OIDC_ISSUER":    {Deps: []string{"OIDC"}},
	"OIDC_CLIENT_ID": {Deps: []string{"OIDC"}},
	// Every absolute URL (Stripe return and Checkout URLs, links in
	// emails, the OIDC redirect) starts with the one public origin.
	"PUBLIC_URL":      {All: true},
	"OIDC_ORG_CLAIM":  {Deps: []string{"OIDC"}},
	"OIDC_ROLE_CLAIM": {Deps: []string{"OIDC"}},
	// The Cognito client is public: PKCE protects the code exchange (see
	// UserPoolClient in template.yaml).
	"OIDC_CLIENT_SECRET": {Unset: true},
	// The DynamoDB of a running make run, for sam local (infra/env.json).
	"AWS_ENDPOINT_URL_DYNAMODB": {SamLocal: true},
	// The usage API's bearer key of local mode (IAM authorization in AWS,
	// and in sam local's events).
	"USAGE_API_KEY": {LocalOnly: true},
}

// configEnv is what shared/config/config.go reads, derived from its source.
type configEnv struct {
	// Reads are the variables passed to getenv.
	Reads map[string]bool
	// Required are the variables Load reports as "is required" in AWS mode.
	Required map[string]bool
	// RequiredWith maps a variable to the one whose presence requires it
	// ("%s is required with %s").
	RequiredWith map[string]string
}

// readConfigEnv parses shared/config: the Env* string constants, every
// getenv call (getenv(EnvX), or a helper given getenv and EnvX), and the
// "is required" errors.
func readConfigEnv(t *testing.T) configEnv {
	t.Helper()
	files := parseGoDir(t, "shared/config")
	consts := map[string]string{}
	for _, f := range files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, name := range vs.Names {
					if i < len(vs.Values) && strings.HasPrefix(name.Name, "Env") {
						if v, ok := stringLit(vs.Values[i]); ok {
							consts[name.Name] = v
						}
					}
				}
			}
		}
	}
	if len(consts) == 0 {
		t.Fatal("shared/config declares no Env* constants")
	}
	env := func(e ast.Expr) (string, bool) {
		if id, ok := e.(*ast.Ident); ok {
			v, ok := consts[id.Name]
			return v, ok
		}
		return stringLit(e)
	}
	c := configEnv{Reads: map[string]bool{}, Required: map[string]bool{}, RequiredWith: map[string]string{}}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			isGetenv := func(e ast.Expr) bool { id, ok := e.(*ast.Ident); return ok && id.Name == "getenv" }
			switch {
			case isGetenv(call.Fun) && len(call.Args) == 1:
				if v, ok := env(call.Args[0]); ok {
					c.Reads[v] = true
				}
			case slices.ContainsFunc(call.Args, isGetenv):
				// A helper reading a variable: amount(getenv, EnvX, "10.00").
				for _, a := range call.Args {
					if id, ok := a.(*ast.Ident); ok && consts[id.Name] != "" {
						c.Reads[consts[id.Name]] = true
					}
				}
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Errorf" && len(call.Args) >= 2 {
				format, _ := stringLit(call.Args[0])
				v, ok := env(call.Args[1])
				switch {
				case !ok || !strings.Contains(format, "is required"):
				case strings.Contains(format, "is required with") && len(call.Args) >= 3:
					if with, ok := env(call.Args[2]); ok {
						c.RequiredWith[v] = with
					}
				default:
					c.Required[v] = true
				}
			}
			return true
		})
	}
	return c
}

// templateEnv returns each function's environment as the transformed
// template sets it (Globals merged by the SAM transform).
func templateEnv(t *testing.T, tmpl map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for name, fn := range functions(t, tmpl) {
		vars := obj(obj(fn.Props["Environment"])["Variables"])
		if vars == nil {
			vars = map[string]any{}
		}
		out[name] = vars
	}
	return out
}

// needs returns the variables each deployed function needs, by envNeeds.
func needs(t *testing.T, functions []string) map[string][]string {
	t.Helper()
	deps := depsByFunction(t, "shared/web/routes.go", "shared/jobs/jobs.go")
	out := map[string][]string{}
	for _, fn := range functions {
		for v, n := range envNeeds {
			if n.All || slices.Contains(n.Functions, fn) || slices.ContainsFunc(n.Deps, func(d string) bool { return deps[fn][d] }) {
				out[fn] = append(out[fn], v)
			}
		}
		slices.Sort(out[fn])
	}
	return out
}

func TestTemplateEnvironment(t *testing.T) {
	tmpl := load(t).CFN
	env := templateEnv(t, tmpl)
	functions := slices.Sorted(maps.Keys(env))
	cfg := readConfigEnv(t)

	t.Run("every function's main serves it through function.Serve, which reads the environment through config.Load", func(t *testing.T) {
		for _, name := range functions {
			path := filepath.Join("functions", name, "main.go")
			found := false
			ast.Inspect(parseGo(t, path), func(n ast.Node) bool {
				// A job that fans out: function.ServeJob(name, sqs.New).
				if call, ok := n.(*ast.CallExpr); ok && (isCall(call, "function", "Serve") && len(call.Args) == 1 || isCall(call, "function", "ServeJob") && len(call.Args) == 2) {
					arg, _ := stringLit(call.Args[0])
					found = found || arg == name
				}
				// A lean HTTP function: endpoint.Serve(endpoint.<Name>(…)),
				// its constructor named after it (shared/endpoint's tests
				// check each constructor's name).
				if call, ok := n.(*ast.CallExpr); ok && isCall(call, "endpoint", "Serve") && len(call.Args) == 1 {
					if fn, ok := call.Args[0].(*ast.CallExpr); ok && isCall(fn, "endpoint", exportedName(name)) {
						found = true
					}
				}
				return true
			})
			if !found {
				t.Errorf("%s does not call function.Serve(%q) (or ServeJob) or endpoint.Serve(endpoint.%s(…)); this test assumes every main reads what config.Load reads", path, name, exportedName(name))
			}
		}
		found := false
		ast.Inspect(parseGo(t, "shared/function/function.go"), func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && isCall(call, "config", "Load") {
				found = true
			}
			return true
		})
		if !found {
			t.Error("shared/function/function.go does not call config.Load")
		}
		found = false
		ast.Inspect(parseGo(t, "shared/endpoint/endpoint.go"), func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && isCall(call, "config", "Load") {
				found = true
			}
			return true
		})
		if !found {
			t.Error("shared/endpoint/endpoint.go does not call config.Load")
		}
	})

	t.Run("nothing outside shared/config reads the environment", func(t *testing.T) {
		for _, dir := range []string{"shared", "functions"} {
			err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "testdata") {
					return err
				}
				rel, _ := filepath.Rel(root, path)
				if filepath.Dir(rel) == filepath.Join("shared", "config") {
					return nil
				}
				ast.Inspect(parseGo(t, rel), func(n ast.Node) bool {
					if call, ok := n.(*ast.CallExpr); ok && (isCall(call, "os", "Getenv") || isCall(call, "os", "LookupEnv") || isCall(call, "os", "Environ") || isCall(call, "syscall", "Getenv")) {
						t.Errorf("%s reads the environment itself; read it in shared/config so this test sees it", rel)
					}
					return true
				})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("every variable shared/config reads says which functions need it", func(t *testing.T) {
		for _, v := range slices.Sorted(maps.Keys(cfg.Reads)) {
			if _, ok := envNeeds[v]; !ok {
				t.Errorf("shared/config reads %s: add it to envNeeds (which functions need it) and set it in template.yaml", v)
			}
		}
		for _, v := range slices.Sorted(maps.Keys(envNeeds)) {
			if !cfg.Reads[v] {
				t.Errorf("envNeeds lists %s, which shared/config no longer reads", v)
			}
		}
	})

	t.Run("every function has every variable it needs", func(t *testing.T) {
		for fn, vars := range needs(t, functions) {
			for _, v := range vars {
				n := envNeeds[v]
				if n.LocalOnly || n.Unset || n.SamLocal {
					continue
				}
				if _, ok := env[fn][v]; !ok {
					t.Errorf("%s needs %s; template.yaml does not set it for the function", fn, v)
				}
			}
		}
	})

	t.Run("the variables only sam local sets are declared empty for every function, so that infra/env.json reaches them", func(t *testing.T) {
		for _, v := range slices.Sorted(maps.Keys(envNeeds)) {
			if !envNeeds[v].SamLocal {
				continue
			}
			for _, fn := range functions {
				if value, ok := env[fn][v]; !ok || !isEmpty(value) {
					t.Errorf("%s: %s is %v, want declared and empty (sam local ignores env.json variables the template does not declare)", fn, v, value)
				}
			}
		}
	})

	t.Run("no secret is in any function's environment: secrets are named by their ARN and read at run time", func(t *testing.T) {
		for _, fn := range functions {
			for v, value := range env[fn] {
				if strings.Contains(fmt.Sprint(value), "{{resolve:") {
					t.Errorf("%s: %s is a dynamic reference %v, which puts the secret into the Lambda configuration", fn, v, value)
				}
				if strings.HasSuffix(v, "_SECRET_ARN") && obj(value)["Ref"] == nil {
					t.Errorf("%s: %s is %v, want a Ref to the secret or its parameter", fn, v, value)
				}
			}
		}
		for name, p := range obj(tmpl["Parameters"]) {
			if truthy(obj(p)["NoEcho"]) {
				t.Errorf("parameter %s is NoEcho, a secret passed to the stack; put it in Secrets Manager and pass its ARN", name)
			}
		}
	})

	t.Run("a variable required in AWS mode is set for every function", func(t *testing.T) {
		if len(cfg.Required) == 0 {
			t.Fatal(`found no "is required" error in shared/config; has the wording changed?`)
		}
		for _, fn := range functions {
			for v := range cfg.Required {
				if _, ok := env[fn][v]; !ok {
					t.Errorf("config.Load requires %s in AWS mode; template.yaml does not set it for %s", v, fn)
				}
			}
			for v, with := range cfg.RequiredWith {
				_, hasWith := env[fn][with]
				if _, ok := env[fn][v]; hasWith && !ok {
					t.Errorf("%s sets %s, which requires %s; template.yaml does not set it", fn, with, v)
				}
			}
		}
	})

	t.Run("no function is given a variable the code does not read, a local-only one, or one deliberately unset", func(t *testing.T) {
		for _, fn := range functions {
			for v := range env[fn] {
				switch n, known := envNeeds[v]; {
				case !cfg.Reads[v]:
					t.Errorf("template.yaml sets %s for %s, but shared/config never reads it", v, fn)
				case known && n.LocalOnly:
					t.Errorf("template.yaml sets the local-only %s for %s", v, fn)
				case known && n.SamLocal && !isEmpty(env[fn][v]):
					t.Errorf("template.yaml sets %s for %s to %v; only sam local sets it (infra/env.json), the template declares it empty", v, fn, env[fn][v])
				case known && n.Unset:
					t.Errorf("template.yaml sets %s for %s, which envNeeds says stays unset", v, fn)
				}
			}
		}
	})

	t.Run("every function starts with exactly the variables the template sets", func(t *testing.T) {
		t.Setenv("AWS_REGION", "us-east-1")
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		sm := httptest.NewServer(&awsRecorder{actions: map[string]bool{}, secrets: testSecrets()})
		t.Cleanup(sm.Close)
		t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", sm.URL)
		ctx := context.Background()
		for _, fn := range functions {
			vars := resolveEnv(t, tmpl, env[fn], nil)
			deps, err := function.Deps(ctx, fn, func(k string) string { return vars[k] })
			if err != nil {
				t.Errorf("%s does not start with template.yaml's variables: %v", fn, err)
				continue
			}
			if slices.ContainsFunc(jobs.List(deps), func(j jobs.Job) bool { return j.Function == fn }) {
				continue
			}
			if _, err := function.Handler(deps, fn); err != nil {
				t.Errorf("%s: %v", fn, err)
			}
		}
	})
}

func TestSamLocalEnvironment(t *testing.T) {
	tmpl := load(t).CFN
	env := templateEnv(t, tmpl)
	fns := functions(t, tmpl)
	data, err := os.ReadFile(filepath.Join(root, "infra", "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]map[string]string
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatalf("infra/env.json: %v", err)
	}

	t.Run("infra/env.json sets only variables the template declares (sam local drops the others)", func(t *testing.T) {
		for key, vars := range file {
			for v := range vars {
				declared := false
				for name, fn := range fns {
					if key == "Parameters" || key == fn.ID {
						_, ok := env[name][v]
						declared = declared || ok
					}
				}
				if !declared {
					t.Errorf("infra/env.json sets %s for %s, which template.yaml declares for no such function", v, key)
				}
			}
		}
	})

	t.Run("every function starts with infra/env.json's variables, as under sam local", func(t *testing.T) {
		t.Setenv("AWS_REGION", "us-east-1")
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		for _, name := range slices.Sorted(maps.Keys(fns)) {
			vars := resolveEnv(t, tmpl, env[name], nil)
			for _, key := range []string{"Parameters", fns[name].ID} {
				for v, value := range file[key] {
					if _, declared := env[name][v]; declared {
						vars[v] = value
					}
				}
			}
			if _, err := function.Deps(context.Background(), name, func(k string) string { return vars[k] }); err != nil {
				t.Errorf("%s does not start under sam local with infra/env.json: %v", name, err)
			}
		}
	})
}

// testValues stand in for the values template.yaml takes from parameters,
// resources and secrets.
var testValues = map[string]string{
	"TABLE_NAME":             "billing",
	"SESSION_SECRET_ARN":     testSessionSecretARN,
	"STRIPE_SECRET_ARN":      testStripeSecretARN,
	"EVENT_BUS_NAME":         "billing-test",
	"STRIPE_PUBLISHABLE_KEY": "pk_test_template",
	"EMAIL_FROM":             "billing@example.com",
	"OIDC_ISSUER":            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test",
	"OIDC_CLIENT_ID":         "test-client",
	"PUBLIC_URL":             "https://billing.example.com",
	"JOB_QUEUE_URL":          "https://sqs.us-east-1.amazonaws.com/123456789012/billing-jobs",
	"PAST_DUE_GRACE_DAYS":    "7",
}

// resolveEnv turns a function's template variables into values: literal
// strings as written, a Ref to a parameter as its Default, anything else
// from testValues; override wins over all.
func resolveEnv(t *testing.T, tmpl map[string]any, vars map[string]any, override map[string]string) map[string]string {
	t.Helper()
	params := obj(tmpl["Parameters"])
	out := map[string]string{}
	for k, v := range vars {
		_, literal := v.(string)
		switch {
		case override[k] != "":
			out[k] = override[k]
		case literal:
			out[k] = str(v)
		case str(obj(params[str(obj(v)["Ref"])])["Default"]) != "":
			out[k] = str(obj(params[str(obj(v)["Ref"])])["Default"])
		case testValues[k] != "":
			out[k] = testValues[k]
		default:
			t.Fatalf("no test value for %s (%v); add one to testValues", k, v)
		}
	}
	for k, v := range override {
		out[k] = v
	}
	return out
}

// isCall reports whether call is pkg.name(...).
func isCall(call *ast.CallExpr, pkg, name string) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg
}

// exportedName is a function's name as an exported Go identifier:
// stripe-webhook is StripeWebhook.
func exportedName(name string) string {
	var b strings.Builder
	for _, w := range strings.Split(name, "-") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// isEmpty reports whether a template value is the empty string.
func isEmpty(v any) bool {
	s, ok := v.(string)
	return ok && s == ""
}

// The secrets template.yaml names, as the Secrets Manager stand-in
// (awsRecorder) serves them.
const (
	testSessionSecretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:billing-sessions-AbCdEf"
	testStripeSecretARN  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:billing-stripe-GhIjKl"
)

// testSessionKey is the session key of the test session secret.
var testSessionKey = []byte("0123456789abcdef0123456789abcdef")

// testSecrets are the values of the test secrets, by ARN.
func testSecrets() map[string]string {
	return map[string]string{
		testSessionSecretARN: `{"current":"` + hex.EncodeToString(testSessionKey) + `","previous":""}`,
		testStripeSecretARN:  `{"secret_key":"sk_test_template","webhook_secret":"whsec_template"}`,
	}
}
