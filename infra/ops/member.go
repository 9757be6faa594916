package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/store"
)

// member applies a member's new role, or their removal, to their live
// sessions at once (changes are refused at once, pages follow within
// auth.RecheckAfter):
//
//	go run ./infra/ops member -org ORG -email EMAIL -role admin|viewer|remove
//
// In AWS the role comes from the identity provider's claims at sign-in:
// change it there too, or the member's next sign-in brings the old role
// back (and remove the member there, or they can sign in again).
func member(ctx context.Context, s *store.Store, fs *flag.FlagSet, args []string, stdout io.Writer) error {
	org := fs.String("org", "", "organisation id (required)")
	email := fs.String("email", "", "the member's email (required)")
	role := fs.String("role", "", "admin, viewer, or remove to end their sessions (required)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if err := billing.ValidateOrgID(*org); err != nil {
		return explain(err)
	}
	if err := billing.ValidateEmail("email", *email); err != nil {
		return explain(err)
	}
	r := billing.Role(*role)
	if *role == "remove" {
		r = ""
	} else if !r.Valid() {
		return fmt.Errorf("-role must be admin, viewer or remove: %w", errUsage)
	}
	n, err := s.SetMemberRole(ctx, *org, *email, r)
	if err != nil {
		return explain(err)
	}
	if r == "" {
		fmt.Fprintf(stdout, "Ended %d live session(s) of %s in %s.\n", n, *email, *org)
	} else {
		fmt.Fprintf(stdout, "%s is now %s in %d live session(s) of %s.\n", *email, r, n, *org)
	}
	fmt.Fprintln(stdout, "A new sign-in takes its role from the identity provider (Cognito in AWS): change it there too.")
	return nil
}
