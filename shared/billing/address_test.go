package billing_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/acme/billing/shared/billing"
)

// validAddress is a complete address in Germany.
func validAddress() billing.Address {
	return billing.Address{
		CompanyName: "Beispiel GmbH", Address1: "Unter den Linden 1", City: "Berlin",
		PostalCode: "10117", Country: "DE", PONumber: "PO-7",
	}
}

// fieldMessages returns the field → message of each EINVALID error joined
// in err.
func fieldMessages(t *testing.T, err error) map[string]string {
	t.Helper()
	got := map[string]string{}
	if err == nil {
		return got
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %v is not a joined error", err)
	}
	for _, e := range j.Unwrap() {
		be, ok := errors.AsType[*billing.Error](e)
		if !ok || be.Code != billing.EINVALID || be.Field == "" {
			t.Fatalf("error %v is not a field error", e)
		}
		got[be.Field] = be.Message
	}
	return got
}

func TestAddressValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*billing.Address)
		field  string // the one field with an error; "" for none
		want   string // a part of its message
	}{
		{"a complete address is valid", func(*billing.Address) {}, "", ""},
		{"address 2, region and PO number are optional", func(a *billing.Address) { a.Address2, a.Region, a.PONumber = "", "", "" }, "", ""},
		{"the company name is required", func(a *billing.Address) { a.CompanyName = "" }, "company_name", "Enter the company name."},
		{"the company name has at most 120 characters", func(a *billing.Address) { a.CompanyName = strings.Repeat("é", 121) }, "company_name", "at most 120 characters"},
		{"120 characters of company name are fine", func(a *billing.Address) { a.CompanyName = strings.Repeat("é", 120) }, "", ""},
		{"address 1 is required", func(a *billing.Address) { a.Address1 = "" }, "address1", "Enter the first line of the address."},
		{"address 1 has at most 200 characters", func(a *billing.Address) { a.Address1 = strings.Repeat("a", 201) }, "address1", "at most 200 characters"},
		{"address 2 has at most 200 characters", func(a *billing.Address) { a.Address2 = strings.Repeat("a", 201) }, "address2", "at most 200 characters"},
		{"the city is required", func(a *billing.Address) { a.City = "" }, "city", "Enter the city."},
		{"the city has at most 120 characters", func(a *billing.Address) { a.City = strings.Repeat("a", 121) }, "city", "at most 120 characters"},
		{"the postal code is required", func(a *billing.Address) { a.PostalCode = "" }, "postal_code", "Enter the postal code."},
		{"the postal code has at most 20 characters", func(a *billing.Address) { a.Country, a.PostalCode = "NO", strings.Repeat("1", 21) }, "postal_code", "at most 20 characters"},
		{"a German postal code has 5 digits", func(a *billing.Address) { a.PostalCode = "1011" }, "postal_code", "Enter 5 digits, like 10115 for Germany."},
		{"a US ZIP code has 5 digits", func(a *billing.Address) { a.Country, a.PostalCode = "US", "9410" }, "postal_code", "ZIP code"},
		{"a US ZIP+4 code is fine", func(a *billing.Address) { a.Country, a.PostalCode = "US", "94105-1234" }, "", ""},
		{"a Canadian postal code is letter digit letter, digit letter digit", func(a *billing.Address) { a.Country, a.PostalCode = "CA", "12345" }, "postal_code", "K1A 0B1"},
		{"a Canadian postal code without its space is fine", func(a *billing.Address) { a.Country, a.PostalCode = "CA", "K1A0B1" }, "", ""},
		{"a British postcode has its pattern", func(a *billing.Address) { a.Country, a.PostalCode = "GB", "12345" }, "postal_code", "SW1A 1AA"},
		{"a British postcode is fine", func(a *billing.Address) { a.Country, a.PostalCode = "GB", "SW1A 1AA" }, "", ""},
		{"a French postal code has 5 digits", func(a *billing.Address) { a.Country, a.PostalCode = "FR", "7500" }, "postal_code", "for France"},
		{"a Dutch postal code is 4 digits and 2 letters", func(a *billing.Address) { a.Country, a.PostalCode = "NL", "1012" }, "postal_code", "1012 AB"},
		{"a Dutch postal code is fine", func(a *billing.Address) { a.Country, a.PostalCode = "NL", "1012 AB" }, "", ""},
		{"a country without postal codes needs none", func(a *billing.Address) { a.Country, a.PostalCode = "AE", "" }, "", ""},
		{"a country with no known format takes any short code", func(a *billing.Address) { a.Country, a.PostalCode = "NO", "0150" }, "", ""},
		{"the region has at most 120 characters", func(a *billing.Address) { a.Region = strings.Repeat("a", 121) }, "region", "at most 120 characters"},
		{"the country is required", func(a *billing.Address) { a.Country = "" }, "country", "Select a country."},
		{"the country is one of the list", func(a *billing.Address) { a.Country = "ZZ" }, "country", "Select a country from the list."},
		{"the withdrawn Netherlands Antilles is not in the list", func(a *billing.Address) { a.Country = "AN" }, "country", "from the list"},
		{"the PO number has at most 40 characters", func(a *billing.Address) { a.PONumber = strings.Repeat("1", 41) }, "po_number", "at most 40 characters"},
		{"fields are one line of text", func(a *billing.Address) { a.City = "Ber\x00lin" }, "city", "one line of text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validAddress()
			tt.change(&a)
			got := fieldMessages(t, a.Clean().Validate())
			if tt.field == "" {
				if len(got) != 0 {
					t.Fatalf("errors %v, want none", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[tt.field], tt.want) {
				t.Errorf("errors %v, want only %s containing %q", got, tt.field, tt.want)
			}
		})
	}

	t.Run("an empty address reports every required field at once, in form order", func(t *testing.T) {
		err := billing.Address{}.Validate()
		got := fieldMessages(t, err)
		for _, f := range []string{"company_name", "address1", "city", "country"} {
			if got[f] == "" {
				t.Errorf("no error for %s in %v", f, got)
			}
		}
		if be, _ := errors.AsType[*billing.Error](err); be == nil || be.Field != "company_name" {
			t.Errorf("the first error is %v, want the company name's", be)
		}
		if billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("code %q, want EINVALID", billing.ErrorCode(err))
		}
	})
}

func TestAddressClean(t *testing.T) {
	got := billing.Address{CompanyName: "  Acme   Inc. ", Address1: "1\tMarket  St", City: " Ottawa", PostalCode: "k1a 0b1", Country: "ca"}.Clean()
	want := billing.Address{CompanyName: "Acme Inc.", Address1: "1 Market St", City: "Ottawa", PostalCode: "K1A 0B1", Country: "CA"}
	if got != want {
		t.Errorf("Clean() = %+v, want %+v", got, want)
	}
}

func TestCountries(t *testing.T) {
	list := billing.Countries()
	t.Run("the list comes from the ISO 3166-1 library, with names", func(t *testing.T) {
		for code, name := range map[string]string{"DE": "Germany", "FR": "France", "US": "United States", "NL": "Netherlands", "JP": "Japan"} {
			if got := billing.CountryName(code); got != name {
				t.Errorf("CountryName(%q) = %q, want %q", code, got, name)
			}
		}
		if len(list) != 250 {
			t.Errorf("%d countries, want the 249 of ISO 3166-1 and Kosovo", len(list))
		}
	})
	t.Run("codes are unique alpha-2 codes and the list is sorted by name", func(t *testing.T) {
		seen := map[string]bool{}
		for i, c := range list {
			if len(c.Code) != 2 || strings.ToUpper(c.Code) != c.Code || seen[c.Code] || c.Name == "" {
				t.Errorf("bad entry %+v", c)
			}
			seen[c.Code] = true
			if i > 0 && list[i-1].Name > c.Name {
				t.Errorf("%q comes before %q", list[i-1].Name, c.Name)
			}
		}
	})
	t.Run("unknown codes have no name", func(t *testing.T) {
		for _, code := range []string{"", "ZZ", "de", "DEU", "AN", "YU"} {
			if got := billing.CountryName(code); got != "" {
				t.Errorf("CountryName(%q) = %q, want empty", code, got)
			}
		}
	})
}

func TestAuditChanges(t *testing.T) {
	t.Run("only the fields that differ are changes, labelled as on the form", func(t *testing.T) {
		old := validAddress()
		new := old
		new.City, new.PONumber = "Hamburg", ""
		got := billing.AddressChanges(old, new)
		want := billing.Changes{{What: "City", Old: "Berlin", New: "Hamburg"}, {What: "Purchase order (PO) number", Old: "PO-7", New: ""}}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("changes %+v, want %+v", got, want)
		}
		if len(billing.AddressChanges(old, old)) != 0 {
			t.Error("an unchanged address has changes")
		}
	})
	t.Run("an entry reads as field: old → new, and events as they are", func(t *testing.T) {
		e := billing.AuditEntry{Changes: []billing.Change{
			{What: "City", Old: "Berlin", New: "Hamburg"}, {What: "Address 2", New: "Suite 1"}, {What: "webhook signing secret rotated"},
		}}
		want := `City: "Berlin" → "Hamburg"; Address 2: (empty) → "Suite 1"; webhook signing secret rotated`
		if got := e.Summary(); got != want {
			t.Errorf("Summary() = %q, want %q", got, want)
		}
	})
}
