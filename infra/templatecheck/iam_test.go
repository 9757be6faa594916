package templatecheck_test

import (
	"go/ast"
	"maps"
	"slices"
	"strings"
	"testing"
)

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
	// getSecret is secretsmanager:GetSecretValue on the secrets the
	// function's *_SECRET_ARN variables name (checked by TestTemplateIAM).
	getSecret = "secretsmanager:GetSecretValue"
	// sendMessage is sqs:SendMessage (SendMessageBatch) of a fan-out job's
	// dispatcher to its own queue (TestTemplateJobQueues).
	sendMessage = "sqs:SendMessage"
)

// pollerActions are what Lambda's event source mapping does, with the
// function's role, on the queue of a job that fans out (SAM's
// SQSPollerPolicy): not called by the code, needed by the worker.
var pollerActions = []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:DeleteMessageBatch",
	"sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch", "sqs:GetQueueAttributes"}

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
var calls = withSecrets(map[string][]string{
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
	// Usage events and allowances: item reads and conditional writes;
	// threshold crossings go to EventBridge. A write that finds the day
	// before yesterday still in its counter slot closes that day and
	// rewrites the RECENT item from the closed days (a query).
	"usage": {getItem, batchGetItem, query, putItem, updateItem, conditionCheck, putEvents},
	// A payment the bank wants confirmed is a notice for the notifier.
	"stripe-webhook": slices.Concat(reads, writes, []string{putEvents}),
	// Jobs that fan out: the dispatcher reads the organisations with work
	// (a due index or partition) and sends them to the job's queue.
	"daily-reset":   slices.Concat(reads, writes, []string{queryIndex, sendMessage}),
	"invoicing":     slices.Concat(reads, writes, []string{queryIndex, sendMessage}),
	"auto-recharge": slices.Concat(reads, writes, []string{queryIndex, putEvents, sendMessage}),
	"notifier":      slices.Concat(reads, writes, []string{sendEmail}),
})

// withSecrets adds getSecret to every function: each reads the session
// keys (SESSION_SECRET_ARN) at cold start.
func withSecrets(calls map[string][]string) map[string][]string {
	for name := range calls {
		calls[name] = append(calls[name], getSecret)
	}
	return calls
}

// readOnly are the functions that must not be able to change anything.
var readOnly = []string{"overview", "balance-history"}

// grant is one action a function's role allows, and on what.
type grant struct {
	Action   string
	Resource any
	// Index: the resources include the table's indexes.
	Index bool
}

// grants returns what a function's role allows: the Allow statements of
// its inline policies, as the SAM transform wrote them (policy templates
// expanded, the dead-letter queue's sqs:SendMessage added).
func grants(t *testing.T, fn lambdaFunction) []grant {
	t.Helper()
	var out []grant
	for _, p := range list(fn.Role["Policies"]) {
		for _, s := range list(obj(obj(p)["PolicyDocument"])["Statement"]) {
			s := obj(s)
			if str(s["Effect"]) != "Allow" {
				continue
			}
			index := slices.ContainsFunc(list(s["Resource"]), func(r any) bool { return strings.Contains(subString(r), "/index/") })
			for _, a := range strs(s["Action"]) {
				out = append(out, grant{Action: a, Resource: s["Resource"], Index: index})
			}
		}
	}
	return out
}

// managedPolicies are the AWS managed policies SAM attaches to a role:
// CloudWatch Logs (every function) and X-Ray (Tracing: Active).
var managedPolicies = []string{
	"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
	"arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
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
		case action == sendMessage:
			return g.Resource != nil && str(g.Resource) != "*"
		}
		return true
	})
}

func TestTemplateIAM(t *testing.T) {
	fns := functions(t, load(t).CFN)

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
					t.Errorf("%s calls %s; its role in the transformed template does not allow it", name, a)
				}
			}
		}
	})

	t.Run("no function is granted an action it never calls", func(t *testing.T) {
		for _, name := range slices.Sorted(maps.Keys(fns)) {
			fn := fns[name]
			dlq, _ := getAtt(obj(fn.Props["DeadLetterConfig"])["TargetArn"])
			for _, g := range grants(t, fn) {
				called := slices.ContainsFunc(calls[name], func(a string) bool { return a == g.Action || (a == queryIndex && g.Action == query) })
				// Lambda itself sends failed asynchronous invocations to
				// the function's dead-letter queue with its role.
				lambdaSends := g.Action == "sqs:SendMessage" && dlq != "" && isRef(g.Resource, dlq)
				// The event source mapping polls the job's queue with it.
				lambdaPolls := slices.Contains(pollerActions, g.Action) && jobQueue(name) != "" && mentions(g.Resource, jobQueue(name))
				if !called && !lambdaSends && !lambdaPolls {
					t.Errorf("%s is granted %s on %v, which it never calls", name, g.Action, g.Resource)
				}
				if strings.Contains(g.Action, "*") || str(g.Resource) == "*" {
					t.Errorf("%s is granted the wildcard %s on %v", name, g.Action, g.Resource)
				}
				if strings.HasPrefix(g.Action, "dynamodb:") && !isRef(g.Resource, "Table") && !g.Index {
					t.Errorf("%s is granted %s on %v, want the table (Table.Arn)", name, g.Action, g.Resource)
				}
			}
			for _, arn := range strs(fn.Role["ManagedPolicyArns"]) {
				if !slices.Contains(managedPolicies, arn) {
					t.Errorf("%s has the managed policy %s; grant what it calls in a statement", name, arn)
				}
			}
		}
	})

	t.Run("each function may read exactly the secrets its environment names", func(t *testing.T) {
		for _, name := range slices.Sorted(maps.Keys(fns)) {
			var want, got []string
			for v, value := range obj(obj(fns[name].Props["Environment"])["Variables"]) {
				if strings.HasSuffix(v, "_SECRET_ARN") {
					want = append(want, str(obj(value)["Ref"]))
				}
			}
			for _, g := range grants(t, fns[name]) {
				if g.Action == getSecret {
					for _, r := range list(g.Resource) {
						got = append(got, str(obj(r)["Ref"]))
					}
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s may read the secrets %v, its environment names %v", name, got, want)
			}
		}
	})

	t.Run("the read-only functions have no write action", func(t *testing.T) {
		for _, name := range readOnly {
			for _, g := range grants(t, fns[name]) {
				if !slices.Contains(reads, g.Action) && g.Action != getSecret {
					t.Errorf("read-only %s is granted %s", name, g.Action)
				}
			}
			if slices.ContainsFunc(calls[name], func(a string) bool { return !slices.Contains(reads, a) && a != getSecret }) {
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
