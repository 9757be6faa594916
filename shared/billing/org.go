package billing

import (
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Role is what a signed-in member may do in the Billing section.
type Role string

// The roles. Admins change settings and pay; viewers only look.
const (
	RoleAdmin  Role = "admin"
	RoleViewer Role = "viewer"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleViewer }

// CanChange reports whether r may change anything (settings, payments).
func (r Role) CanChange() bool { return r == RoleAdmin }

var orgIDPattern = lazyRegexp(`^[a-z0-9][a-z0-9-]{0,62}$`)

// lazyRegexp returns the regular expression expr, compiled on the first
// call rather than at package initialisation, which every function pays at
// its cold start.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// ValidateOrgID returns an EINVALID error unless id is 1–63 lowercase
// letters, digits or hyphens, starting with a letter or digit.
func ValidateOrgID(id string) error {
	if !orgIDPattern().MatchString(id) {
		return FieldError("org", "Organisation id must be 1–63 lowercase letters, digits or hyphens.")
	}
	return nil
}

// ValidateEmail returns an EINVALID error unless s is a single plain address
// (no display name) of at most 254 characters.
func ValidateEmail(field, s string) error {
	if s == "" {
		return FieldError(field, "Enter an email address.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.LastIndex(s, "@"):], ".") {
		return FieldError(field, "Enter an email address like name@example.com.")
	}
	return nil
}

// Org is a customer organisation: the tenant every figure belongs to.
type Org struct {
	ID      string
	Name    string
	Created time.Time
}

// Validate returns an EINVALID error for a bad id or name.
func (o Org) Validate() error {
	if err := ValidateOrgID(o.ID); err != nil {
		return err
	}
	if n := len([]rune(o.Name)); n == 0 || n > 120 {
		return FieldError("name", "Organisation name must be 1–120 characters.")
	}
	return nil
}

// Profile is the organisation's billing identity shown on the Overview:
// the invoice address and the billing email.
type Profile struct {
	Address      Address
	BillingEmail string
	// CustomerID is the organisation's customer at the payment provider
	// (cus_…), created on first need.
	CustomerID string
}

// Address is the invoice address. Country is ISO 3166-1 alpha-2.
type Address struct {
	CompanyName string
	Address1    string
	Address2    string
	City        string
	PostalCode  string
	Region      string
	Country     string
	PONumber    string
}

// IsZero reports whether no address has been entered.
func (a Address) IsZero() bool { return a == Address{} }
