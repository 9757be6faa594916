// Command ops is the operators' tool for the billing table, in AWS (with
// the usual AWS credentials and TABLE_NAME, the stack's TableName output)
// or locally (with AWS_ENDPOINT_URL_DYNAMODB set to the endpoint the local
// server prints). It refuses to run with neither, rather than guess a
// table with whatever credentials the machine has.
//
//	go run ./infra/ops create-org -name "Acme Inc." [-trial 10.00] [-overage 25.00] ORG
//	go run ./infra/ops grant [-description "Free Trial Credits"] [-key KEY] ORG AMOUNT
//	go run ./infra/ops set-overage ORG AMOUNT
//	go run ./infra/ops set-shards ORG N
//	go run ./infra/ops show ORG
//	go run ./infra/ops list
//	go run ./infra/ops member -org ORG -email EMAIL -role admin|viewer|remove
//
// session-cookie signs a member in: it records a session in the table, as
// a sign-in does, and prints its cookie signed with SESSION_KEY (the key in
// infra/env.json for sam local), for the sample events of infra/events and
// for curl against sam local start-api. Signing out with the cookie (or
// member -role remove) ends it like any other session.
//
//	SESSION_KEY=… go run ./infra/ops session-cookie -org acme [-role admin|viewer] [-email EMAIL] [-name NAME]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/config"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "ops:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage: ops create-org|grant|set-overage|set-shards|show|list|member|session-cookie … (see -h of each)")

// errNoTable is returned when the environment names no table to work on.
var errNoTable = fmt.Errorf("no table given: set %s to the stack's TableName output to use the table in AWS (with your AWS credentials), or %s to a local endpoint (the one make run prints, table %q unless %s says otherwise)",
	config.EnvTableName, config.EnvDynamoEndpoint, "billing", config.EnvTableName)

// run executes one subcommand against the table of getenv's configuration.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, now func() time.Time) error {
	if len(args) == 0 {
		return errUsage
	}
	cfg, err := config.Load(getenv, true)
	if err != nil {
		return err
	}
	// Without either, the SDK would look for credentials everywhere
	// (including the instance metadata service) and use a default table.
	if getenv(config.EnvTableName) == "" && cfg.DynamoEndpoint == "" {
		return errNoTable
	}
	// An operator's machine has profiles, SSO and the like: the SDK's
	// default chain finds them (the functions read only what Lambda sets).
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	db := store.NewClientOf(awsCfg, cfg.DynamoEndpoint, nil)
	s := store.New(db, cfg.TableName, now)
	cmd, args := args[0], args[1:]
	if cmd == "session-cookie" {
		return sessionCookie(ctx, args, cfg, getenv, s, stdout, now)
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stdout)
	switch cmd {
	case "create-org":
		name := fs.String("name", "", "organisation name (required)")
		trial := fs.String("trial", cfg.TrialCredits.String(), "free trial credits, USD")
		overage := fs.String("overage", cfg.OverageLimit.String(), "overage limit (credit line), USD")
		if err := parse(fs, args, 1); err != nil {
			return err
		}
		t, err := amount(*trial)
		if err != nil {
			return err
		}
		o, err := amount(*overage)
		if err != nil {
			return err
		}
		org := billing.Org{ID: fs.Arg(0), Name: *name}
		if err := s.CreateOrg(ctx, store.NewOrg{Org: org, TrialCredits: t, OverageLimit: o}); err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "Created %s (%s) with %s trial credits and a %s overage limit.\n", org.ID, org.Name, t.Display(), o.Display())
		return nil
	case "grant":
		desc := fs.String("description", billing.DescFreeTrial, "description shown in Balance History")
		key := fs.String("key", "", "idempotency key: a second grant with the same key is refused")
		if err := parse(fs, args, 2); err != nil {
			return err
		}
		a, err := amount(fs.Arg(1))
		if err != nil {
			return err
		}
		if a <= 0 {
			return fmt.Errorf("a grant must be more than $0.00")
		}
		tx, err := s.AppendTransaction(ctx, fs.Arg(0), billing.NewTransaction{Description: *desc, Amount: a, Key: *key})
		if err != nil {
			return explain(err)
		}
		audit(ctx, s, fs.Arg(0), stdout, billing.Change{What: fmt.Sprintf("granted %s as %q", a.Display(), tx.Description)})
		fmt.Fprintf(stdout, "Granted %s to %s as %q (%s).\n", a.Display(), fs.Arg(0), tx.Description, tx.ID)
		return nil
	case "set-overage":
		if err := parse(fs, args, 2); err != nil {
			return err
		}
		a, err := amount(fs.Arg(1))
		if err != nil {
			return err
		}
		old, err := s.Account(ctx, fs.Arg(0), now())
		if err != nil {
			return explain(err)
		}
		if err := s.SetOverageLimit(ctx, fs.Arg(0), a); err != nil {
			return explain(err)
		}
		audit(ctx, s, fs.Arg(0), stdout, billing.Change{What: "Overage Protection", Old: old.OverageLimit.Display(), New: a.Display()})
		fmt.Fprintf(stdout, "Overage limit of %s is now %s.\n", fs.Arg(0), a.Display())
		return nil
	case "set-shards":
		// Counter shards let one organisation record more usage per
		// second: each shard is a partition of its own (store/counters.go).
		if err := parse(fs, args, 2); err != nil {
			return err
		}
		n, err := strconv.Atoi(fs.Arg(1))
		if err != nil {
			return fmt.Errorf("shards %q: not a whole number from 1 to %d", fs.Arg(1), store.MaxCounterShards)
		}
		old, err := s.SetCounterShards(ctx, fs.Arg(0), n)
		if err != nil {
			return explain(err)
		}
		if old != n {
			audit(ctx, s, fs.Arg(0), stdout, billing.Change{What: "Usage counter shards", Old: strconv.Itoa(old), New: strconv.Itoa(n)})
		}
		fmt.Fprintf(stdout, "%s has %d usage counter shards (was %d): by DynamoDB's partition limits, up to %d one-event usage requests a second.\n", fs.Arg(0), n, old, 500*n)
		return nil
	case "show":
		if err := parse(fs, args, 1); err != nil {
			return err
		}
		acct, err := s.Account(ctx, fs.Arg(0), now())
		if err != nil {
			return explain(err)
		}
		shards, err := s.CounterShards(ctx, fs.Arg(0))
		if err != nil {
			return explain(err)
		}
		show(stdout, acct, shards, now())
		return nil
	case "member":
		return member(ctx, s, fs, args, stdout)
	case "list":
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		return s.EachOrg(ctx, func(o billing.Org) error {
			_, err := fmt.Fprintf(stdout, "%s\t%s\tcreated %s\n", o.ID, o.Name, o.Created.UTC().Format(time.DateOnly))
			return err
		})
	}
	return errUsage
}

// sessionCookie signs a member of an existing organisation in, recording
// the session in st, and prints its cookie (name=value), signed with
// SESSION_KEY and valid for auth.Lifetime from now.
func sessionCookie(ctx context.Context, args []string, cfg config.Config, getenv func(string) string, st *store.Store, stdout io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("session-cookie", flag.ContinueOnError)
	fs.SetOutput(stdout)
	org := fs.String("org", "", "organisation id (required)")
	role := fs.String("role", string(billing.RoleAdmin), "admin or viewer")
	email := fs.String("email", "", "the member's email (default <role>@<org>.test)")
	name := fs.String("name", "", "the organisation's name shown in the pages (default the id)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if getenv(config.EnvSessionKey) == "" {
		return fmt.Errorf("session-cookie needs %s, the key the functions verify sessions with (for sam local, the value in infra/env.json)", config.EnvSessionKey)
	}
	s := auth.Session{OrgID: *org, OrgName: *name, Email: *email, Role: billing.Role(*role)}
	if s.OrgName == "" {
		s.OrgName = s.OrgID
	}
	if s.Email == "" {
		s.Email = *role + "@" + *org + ".test"
	}
	if err := s.Validate(); err != nil {
		return explain(err)
	}
	if _, err := st.Account(ctx, s.OrgID, now()); err != nil {
		return explain(err)
	}
	sessions, err := auth.NewSessions(cfg.SessionKey, true, now)
	if err != nil {
		return err
	}
	sessions.UseRecords(st)
	rec := httptest.NewRecorder()
	if err := sessions.SignIn(ctx, rec, s); err != nil {
		return explain(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == auth.CookieName {
			_, err := fmt.Fprintf(stdout, "%s=%s\n", c.Name, c.Value)
			return err
		}
	}
	return errors.New("the session was issued without a cookie")
}

// operator is who Recent changes names for what infra/ops changes.
const operator = "operator"

// audit records an operator's change in the organisation's Recent changes.
// The change is made already, so a failure to record it is reported, not
// returned.
func audit(ctx context.Context, s *store.Store, org string, stdout io.Writer, c billing.Change) {
	if err := s.AddAudit(ctx, org, billing.AuditEntry{Actor: operator, Page: "Operations", Changes: billing.Changes{c}}); err != nil {
		fmt.Fprintf(stdout, "Warning: the change is made, but recording it in Recent changes failed: %v\n", err)
	}
}

func parse(fs *flag.FlagSet, args []string, n int) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != n {
		return fmt.Errorf("%s takes %d argument(s), got %d: %w", fs.Name(), n, fs.NArg(), errUsage)
	}
	return nil
}

func amount(s string) (money.Money, error) {
	m, err := money.ParseInput(s)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	if m < 0 {
		return 0, fmt.Errorf("amount %q must not be negative", s)
	}
	return m, nil
}

// explain turns a domain error into its message; other errors keep their
// detail, which is for the operator.
func explain(err error) error {
	if billing.ErrorCode(err) != billing.EINTERNAL {
		return errors.New(billing.ErrorMessage(err))
	}
	return err
}

// show prints the account figures at full precision.
func show(w io.Writer, a billing.Account, shards int, now time.Time) {
	f := a.Figures()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	limit := "off"
	if f.DailyLimitOn {
		limit = f.UsedToday.String() + " of " + f.DailyBudget.String()
	}
	reason := f.Reason
	if reason == "" {
		reason = "allowed"
	}
	for _, row := range [][2]string{
		{"Organisation", a.OrgID + " (" + a.Name + ")"},
		{"Total Credits", f.TotalCredits.String()},
		{"Ledger balance", a.Ledger.String()},
		{"Usage This Period", f.UsagePeriod.String()},
		{"Remaining Credits", f.Remaining.String()},
		{"Overage Protection", f.OverageLimit.String()},
		{"Used today (UTC " + billing.Day(now) + ")", f.UsedToday.String()},
		{"Daily hard limit", limit},
		{"Available to Use", f.Available.String()},
		{"Allowance", reason},
		{"Usage counter shards", strconv.Itoa(shards)},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	_ = tw.Flush()
}
