package billing_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/acme/billing/shared/billing"
)

// wantInvalid fails t unless err is an EINVALID *billing.Error for field with a
// message to show.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want an %q error for field %q", billing.EINVALID, field)
	}
	if got := billing.ErrorCode(err); got != billing.EINVALID {
		t.Errorf("ErrorCode(%v) = %q, want %q", err, got, billing.EINVALID)
	}
	e, ok := errors.AsType[*billing.Error](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *billing.Error", err, err)
	}
	if e.Field != field {
		t.Errorf("Field = %q, want %q", e.Field, field)
	}
	if e.Message == "" {
		t.Error("Message is empty")
	}
}

func TestValidateOrgID(t *testing.T) {
	valid := []struct {
		name string
		id   string
	}{
		{"a lowercase word is valid", "acme"},
		{"a single letter is valid", "a"},
		{"a hyphen and a digit are valid", "acme-2"},
		{"a leading digit is valid", "2acme"},
		{"63 characters are valid", strings.Repeat("a", 63)},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			if err := billing.ValidateOrgID(tt.id); err != nil {
				t.Errorf("ValidateOrgID(%q) = %v, want nil", tt.id, err)
			}
		})
	}

	invalid := []struct {
		name string
		id   string
	}{
		{"an empty id is invalid", ""},
		{"an uppercase letter is invalid", "Acme"},
		{"a leading hyphen is invalid", "-acme"},
		{"64 characters are invalid", strings.Repeat("a", 64)},
		{"punctuation is invalid", "acme!"},
		{"an underscore is invalid", "acme_co"},
		{"a space is invalid", "acme co"},
		{"a trailing newline is invalid", "acme\n"},
		{"a non-ASCII letter is invalid", "acmé"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, billing.ValidateOrgID(tt.id), "org")
		})
	}
}

func TestRole(t *testing.T) {
	tests := []struct {
		name      string
		role      billing.Role
		valid     bool
		canChange bool
	}{
		{"an admin is valid and may change things", billing.RoleAdmin, true, true},
		{"a viewer is valid and may only look", billing.RoleViewer, true, false},
		{"an empty role is invalid and may change nothing", "", false, false},
		{"a capitalised admin is invalid and may change nothing", "Admin", false, false},
		{"an unknown role is invalid and may change nothing", "owner", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.role.Valid(); got != tt.valid {
				t.Errorf("Role(%q).Valid() = %v, want %v", tt.role, got, tt.valid)
			}
			if got := tt.role.CanChange(); got != tt.canChange {
				t.Errorf("Role(%q).CanChange() = %v, want %v", tt.role, got, tt.canChange)
			}
		})
	}
}

func TestValidateEmail(t *testing.T) {
	// "a@" + 248 letters + ".com" is 254 characters, the most allowed.
	longest := "a@" + strings.Repeat("b", 248) + ".com"

	valid := []struct {
		name  string
		email string
	}{
		{"a simple address is valid", "name@example.com"},
		{"a dotted local part and subdomain are valid", "first.last@mail.example.co.uk"},
		{"a plus tag is valid", "billing+acme@example.com"},
		{"254 characters are valid", longest},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			if err := billing.ValidateEmail("billing_email", tt.email); err != nil {
				t.Errorf("ValidateEmail(%q) = %v, want nil", tt.email, err)
			}
		})
	}

	invalid := []struct {
		name  string
		email string
	}{
		{"an empty address is invalid", ""},
		{"an address with a display name is invalid", "Name <a@b.com>"},
		{"an address in angle brackets is invalid", "<a@b.com>"},
		{"an address without an at sign is invalid", "no-at"},
		{"a domain without a dot is invalid", "a@b"},
		{"a dot only in the local part is invalid", "a.b@c"},
		{"255 characters are invalid", longest + "m"},
		{"a leading space is invalid", " a@b.com"},
		{"two addresses are invalid", "a@b.com, c@d.com"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, billing.ValidateEmail("billing_email", tt.email), "billing_email")
		})
	}
}

func TestOrgValidate(t *testing.T) {
	tests := []struct {
		name    string
		org     billing.Org
		wantErr bool
		field   string
	}{
		{"a plain id and name are valid", billing.Org{ID: "acme", Name: "Acme Corp"}, false, ""},
		{"a one-character name is valid", billing.Org{ID: "acme", Name: "A"}, false, ""},
		{"a name of 120 characters is valid", billing.Org{ID: "acme", Name: strings.Repeat("a", 120)}, false, ""},
		{"a name of 120 multi-byte characters is valid", billing.Org{ID: "acme", Name: strings.Repeat("é", 120)}, false, ""},
		{"an empty name is invalid", billing.Org{ID: "acme", Name: ""}, true, "name"},
		{"a name of 121 characters is invalid", billing.Org{ID: "acme", Name: strings.Repeat("a", 121)}, true, "name"},
		{"a name of 121 multi-byte characters is invalid", billing.Org{ID: "acme", Name: strings.Repeat("é", 121)}, true, "name"},
		{"a bad id is reported on the org field", billing.Org{ID: "Acme", Name: "Acme Corp"}, true, "org"},
		{"a bad id is reported before a bad name", billing.Org{ID: "", Name: ""}, true, "org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.org.Validate()
			if !tt.wantErr {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			wantInvalid(t, err, tt.field)
		})
	}
}
