package templatecheck_test

import (
	"go/ast"
	"maps"
	"slices"
	"strings"
	"testing"
)

// samPolicyTemplates are the actions the SAM policy templates used in
// template.yaml expand to, on the table and its indexes
// (samtranslator/policy_templates_data/policy_templates.json).
var samPolicyTemplates = map[string][]string{
	"DynamoDBReadPolicy": {"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable"},
	"DynamoDBCrudPolicy": {"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:UpdateItem",
		"dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"},
}

// Actions on the table. A transaction (TransactWriteItems) is authorized
// per item: PutItem, UpdateItem, DeleteItem, ConditionCheckItem.
// QueryIndex stands for dynamodb:Query on an index, which needs the
// table/index/* resource as well as the action.
const (
	getItem        = "dynamodb:GetItem"
	batchGetItem   = "dynamodb:BatchGetItem"
	query          = "dynamodb:Query"
	queryIndex     = "dynamodb:Query(index)"
	putItem        = "dynamodb:PutItem"
	updateItem     = "dynamodb:UpdateItem"
	deleteItem     = "dynamodb:DeleteItem"
	conditionCheck = "dynamodb:ConditionCheckItem"
	putEvents      = "events:PutEvents"
	sendEmail      = "ses:SendEmail"
)

var (
	reads  = []string{getItem, batchGetItem, query}
	writes = []string{putItem, updateItem, deleteItem, conditionCheck}
)

// calls lists the AWS actions each function's code paths call: the store
// operations of its routes or job (shared/store), events:PutEvents where
// the usage service or the recharge engine publishes (shared/events via
// usage.Service and recharge.Engine), ses:SendEmail where the notifier
// emails (shared/notify). TestTemplateIAM checks it against the policies,
// and TestTemplateIAMObserved against what each function sends when run.
var calls = map[string][]string{
	// Read-only pages: the account, the ledger, usage days.
	"overview":        {getItem, batchGetItem, query},
	"balance-history": {getItem, batchGetItem, query},
	// Settings and payment pages: read the account, write it in
	// transactions with the audit trail.
	"invoices":           slices.Concat(reads, writes),
	"payment-methods":    slices.Concat(reads, writes),
	"spend-management":   slices.Concat(reads, writes),
	"credits":            slices.Concat(reads, writes),
	"address":            slices.Concat(reads, writes),
	"notifications":      slices.Concat(reads, writes),
	"tax":                slices.Concat(reads, writes),
	"auto-recharge-page": slices.Concat(reads, writes, []string{putEvents}),
	// The first sign-in creates the organisation.
	"auth": slices.Concat(reads, writes),
	// Usage events and allowances: item reads and conditional writes, no
	// queries; threshold crossings go to EventBridge.
	"usage":          {getItem, batchGetItem, putItem, updateItem, conditionCheck, putEvents},
	"stripe-webhook": slices.Concat(reads, writes),
	// Jobs over every organisation (listed in a partition, not an index).
	"daily-reset":   slices.Concat(reads, writes),
	"invoicing":     slices.Concat(reads, writes),
	"auto-recharge": slices.Concat(reads, writes, []string{putEvents}),
	"notifier":      slices.Concat(reads, writes, []string{sendEmail}),
}

// readOnly are the functions that must not be able to change anything.
var readOnly = []string{"overview", "balance-history"}

// grant is one action a function's policies allow, and on what.
type grant struct {
	Action   string
	Resource any
	// Index: the resources include the table's indexes.
	Index bool
}

// grants returns what a function's Policies allow: SAM policy templates
// expanded, and the Allow statements as written.
func grants(t *testing.T, fn rawFunction) []grant {
	t.Helper()
	var out []grant
	var policies []any
	switch p := fn.Props["Policies"].(type) {
	case []any:
		policies = p
	case map[string]any, string:
		policies = []any{p}
	}
	for _, p := range policies {
		m := obj(p)
		if m == nil {
			t.Errorf("%s: managed policy %v; use a policy template or a statement", fn.ID, p)
			continue
		}
		if st, ok := m["Statement"]; ok {
			for _, s := range list(st) {
				s := obj(s)
				if str(s["Effect"]) != "Allow" {
					continue
				}
				index := slices.ContainsFunc(list(s["Resource"]), func(r any) bool { return strings.Contains(subString(r), "/index/") })
				for _, a := range strs(s["Action"]) {
					out = append(out, grant{Action: a, Resource: s["Resource"], Index: index})
				}
			}
			continue
		}
		for name, args := range m {
			actions, ok := samPolicyTemplates[name]
			if !ok {
				t.Errorf("%s: policy template %s is not in samPolicyTemplates", fn.ID, name)
				continue
			}
			for _, a := range actions {
				out = append(out, grant{Action: a, Resource: obj(args)["TableName"], Index: true})
			}
		}
	}
	return out
}

// subString returns the template string of a Fn::Sub (either form).
func subString(v any) string {
	sub := obj(v)["Fn::Sub"]
	if l, ok := sub.([]any); ok && len(l) > 0 {
		return str(l[0])
	}
	return str(sub)
}

// allows reports whether the grants allow action (queryIndex: Query with
// the index resources) on the resource the code uses it on.
func allows(gs []grant, action string) bool {
	return slices.ContainsFunc(gs, func(g grant) bool {
		switch {
		case action == queryIndex:
			return g.Action == query && g.Index && mentions(g.Resource, "Table")
		case g.Action != action:
			return false
		case strings.HasPrefix(action, "dynamodb:"):
			return mentions(g.Resource, "Table")
		case action == putEvents:
			return mentions(g.Resource, "EventBus")
		}
		return true
	})
}

func TestTemplateIAM(t *testing.T) {
	fns := rawFunctions(t, rawTemplate(t))

	t.Run("every function is listed with the actions it calls", func(t *testing.T) {
		for _, name := range slices.Sorted(maps.Keys(fns)) {
			if _, ok := calls[name]; !ok {
				t.Errorf("%s is not in calls; list the AWS actions its code calls", name)
			}
		}
		for name := range calls {
			if _, ok := fns[name]; !ok {
				t.Errorf("calls lists %s, which template.yaml does not deploy", name)
			}
		}
	})

	t.Run("every action a function calls is granted, on the resource it is called on", func(t *testing.T) {
		for name, fn := range fns {
			gs := grants(t, fn)
			for _, a := range calls[name] {
				if !allows(gs, a) {
					t.Errorf("%s calls %s; its policies in template.yaml do not allow it", name, a)
				}
			}
		}
	})

	t.Run("no function is granted more than it calls, beyond what a SAM policy template bundles", func(t *testing.T) {
		bundled := map[string]bool{}
		for _, actions := range samPolicyTemplates {
			for _, a := range actions {
				bundled[a] = true
			}
		}
		for name, fn := range fns {
			for _, g := range grants(t, fn) {
				called := slices.ContainsFunc(calls[name], func(a string) bool { return a == g.Action || (a == queryIndex && g.Action == query) })
				if !called && !bundled[g.Action] {
					t.Errorf("%s is granted %s, which it never calls", name, g.Action)
				}
				if strings.Contains(g.Action, "*") {
					t.Errorf("%s is granted the wildcard %s", name, g.Action)
				}
			}
		}
	})

	t.Run("the read-only functions have no write action", func(t *testing.T) {
		readActions := samPolicyTemplates["DynamoDBReadPolicy"]
		for _, name := range readOnly {
			for _, g := range grants(t, fns[name]) {
				if !slices.Contains(readActions, g.Action) {
					t.Errorf("read-only %s is granted %s", name, g.Action)
				}
			}
			if slices.ContainsFunc(calls[name], func(a string) bool { return slices.Contains(writes, a) || a == putEvents || a == sendEmail }) {
				t.Errorf("read-only %s is listed with a write in calls", name)
			}
		}
	})

	t.Run("every DynamoDB operation the store sends is listed for some function", func(t *testing.T) {
		listed := map[string]bool{}
		for _, actions := range calls {
			for _, a := range actions {
				listed[strings.TrimSuffix(a, "(index)")] = true
			}
		}
		for op, where := range storeOperations(t) {
			for _, a := range iamActions(op) {
				if !listed[a] {
					t.Errorf("%s calls %s (%s); no function lists it in calls", where, op, a)
				}
			}
		}
	})
}

// storeCreateOnly are the store's operations that only create the table
// (the local server and tests); no deployed function sends them.
var storeCreateOnly = []string{"CreateTable", "DescribeTable"}

// storeOperations returns the DynamoDB operations shared/store sends (every
// <x>.db.<Op>(...) call), each with a file that sends it; for
// TransactWriteItems, the kinds of item it builds (types.TransactWriteItem
// fields).
func storeOperations(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for path, f := range parseGoDir(t, "shared/store") {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if db, ok := sel.X.(*ast.SelectorExpr); ok && db.Sel.Name == "db" && !slices.Contains(storeCreateOnly, sel.Sel.Name) {
					out[sel.Sel.Name] = path
				}
			case *ast.CompositeLit:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "TransactWriteItem" {
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							out["TransactWriteItems."+kv.Key.(*ast.Ident).Name] = path
						}
					}
				}
			}
			return true
		})
	}
	if len(out) == 0 {
		t.Fatal("found no DynamoDB call in shared/store")
	}
	return out
}

// iamActions returns the IAM actions that authorize a DynamoDB operation
// (TransactWriteItems.<Kind> for one kind of transaction item).
func iamActions(op string) []string {
	switch op {
	case "TransactWriteItems":
		return nil // authorized per item, see its kinds
	case "TransactWriteItems.Put":
		return []string{putItem}
	case "TransactWriteItems.Update":
		return []string{updateItem}
	case "TransactWriteItems.Delete":
		return []string{deleteItem}
	case "TransactWriteItems.ConditionCheck":
		return []string{conditionCheck}
	case "TransactGetItems":
		return []string{getItem}
	}
	return []string{"dynamodb:" + op}
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
