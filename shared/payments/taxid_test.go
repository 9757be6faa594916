package payments_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
)

func TestTaxIDNormalize(t *testing.T) {
	valid := []struct {
		country, typ, value, want string
	}{
		{"DE", "eu_vat", "DE123456789", "DE123456789"},
		{"DE", "eu_vat", "de 123.456.789", "DE123456789"},
		{"DE", "eu_vat", "123456789", "DE123456789"},
		{"FR", "eu_vat", "FR AB 123456789", "FRAB123456789"},
		{"FR", "eu_vat", "FR12345678901", "FR12345678901"},
		{"NL", "eu_vat", "NL123456789B01", "NL123456789B01"},
		{"NL", "eu_vat", "nl 1234.56.789.b01", "NL123456789B01"},
		{"IT", "eu_vat", "IT12345678901", "IT12345678901"},
		{"ES", "eu_vat", "ESA1234567Z", "ESA1234567Z"},
		{"ES", "eu_vat", "ES12345678Z", "ES12345678Z"},
		{"ES", "eu_vat", "X1234567L", "ESX1234567L"},
		{"AT", "eu_vat", "ATU12345678", "ATU12345678"},
		{"BE", "eu_vat", "BE 0123.456.789", "BE0123456789"},
		{"GR", "eu_vat", "EL123456789", "EL123456789"},
		{"GR", "eu_vat", "GR123456789", "EL123456789"},
		{"IE", "eu_vat", "IE1234567WI", "IE1234567WI"},
		{"IE", "eu_vat", "IE1A23456B", "IE1A23456B"},
		{"SE", "eu_vat", "SE123456789701", "SE123456789701"},
		{"PL", "eu_vat", "PL-123-456-78-90", "PL1234567890"},
		{"CY", "eu_vat", "CY12345678X", "CY12345678X"},
		{" de ", " eu_vat ", " DE123456789 ", "DE123456789"},
		{"GB", "gb_vat", "GB123456789", "GB123456789"},
		{"GB", "gb_vat", "GB 123 4567 89", "GB123456789"},
		{"GB", "gb_vat", "123456789012", "GB123456789012"},
		{"GB", "gb_vat", "GBGD001", "GBGD001"},
		{"US", "us_ein", "12-3456789", "12-3456789"},
		{"US", "us_ein", "123456789", "12-3456789"},
		{"AU", "au_abn", "12 345 678 912", "12345678912"},
		{"CA", "ca_bn", "123456789", "123456789"},
		{"CA", "ca_gst_hst", "123456789 RT 0002", "123456789RT0002"},
		{"CH", "ch_vat", "CHE-123.456.789 MWST", "CHE-123.456.789 MWST"},
		{"CH", "ch_vat", "che123456789tva", "CHE-123.456.789 TVA"},
		{"CH", "ch_vat", "123.456.789 IVA", "CHE-123.456.789 IVA"},
		{"NO", "no_vat", "123456789MVA", "123456789MVA"},
		{"NO", "no_vat", "123 456 789", "123456789MVA"},
		{"IN", "in_gst", "12ABCDE3456FGZH", "12ABCDE3456FGZH"},
		{"BR", "br_cnpj", "01.234.456/5432-10", "01.234.456/5432-10"},
		{"BR", "br_cnpj", "01234456543210", "01.234.456/5432-10"},
		{"JP", "jp_cn", "1234567891234", "1234567891234"},
		{"JP", "jp_trn", "T1234567891234", "T1234567891234"},
		{"JP", "jp_trn", "1234567891234", "T1234567891234"},
		{"NZ", "nz_gst", "123-456-789", "123456789"},
		{"SG", "sg_uen", "123456789F", "123456789F"},
		{"SG", "sg_uen", "T08LL1234A", "T08LL1234A"},
		{"ZA", "za_vat", "4123456789", "4123456789"},
		{"MX", "mx_rfc", "ABC010203AB9", "ABC010203AB9"},
		{"MX", "mx_rfc", "añb010203ab9", "AÑB010203AB9"},
		{"KR", "kr_brn", "1234567890", "123-45-67890"},
		{"AE", "ae_trn", "123456789012345", "123456789012345"},
		{"ES", "es_cif", "A12345678", "A12345678"},
	}
	for _, tt := range valid {
		t.Run(tt.typ+" "+tt.country+" accepts "+tt.value+" as "+tt.want, func(t *testing.T) {
			got, err := payments.TaxIDInput{Country: tt.country, Type: tt.typ, Value: tt.value}.Normalize()
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if got.Value != tt.want || got.Country != strings.ToUpper(strings.TrimSpace(tt.country)) || got.Type != strings.TrimSpace(tt.typ) {
				t.Errorf("normalised = %+v, want value %q", got, tt.want)
			}
		})
	}

	invalid := []struct {
		name, country, typ, value, field, says string
	}{
		{"no country", "", "eu_vat", "DE123456789", "country", "Choose the country"},
		{"a country with no tax ID type here", "AQ", "eu_vat", "DE123456789", "country", "from the list"},
		{"no type", "DE", "", "DE123456789", "type", "Choose the type"},
		{"an unknown type", "DE", "xx_vat", "DE123456789", "type", "from the list"},
		{"a US EIN in Germany", "DE", "us_ein", "12-3456789", "type", "European VAT number"},
		{"an EU VAT number in the United States", "US", "eu_vat", "DE123456789", "type", "not issued in the United States"},
		{"an EU VAT number in the United Kingdom", "GB", "eu_vat", "GB123456789", "type", "United Kingdom VAT number"},
		{"a UK VAT number in France", "FR", "gb_vat", "GB123456789", "type", "not issued in France"},
		{"an empty value", "DE", "eu_vat", "  ", "value", "DE123456789"},
		{"a German VAT number with 8 digits", "DE", "eu_vat", "DE12345678", "value", "DE123456789"},
		{"a German VAT number with 10 digits", "DE", "eu_vat", "DE1234567890", "value", "not a valid European VAT number in Germany"},
		{"a French VAT number in Germany", "DE", "eu_vat", "FRAB123456789", "value", "DE123456789"},
		{"a German VAT number chosen as Austria", "AT", "eu_vat", "DE123456789", "value", "ATU12345678"},
		{"a French VAT number with an I", "FR", "eu_vat", "FRIA123456789", "value", "FRAB123456789"},
		{"a Dutch VAT number without its B", "NL", "eu_vat", "NL12345678901", "value", "NL123456789B01"},
		{"an Italian VAT number with 10 digits", "IT", "eu_vat", "IT1234567890", "value", "IT12345678901"},
		{"a Spanish VAT number of digits only", "ES", "eu_vat", "ES123456789", "value", "ESA1234567Z"},
		{"an Austrian VAT number without its U", "AT", "eu_vat", "AT12345678", "value", "ATU12345678"},
		{"a Swedish VAT number not ending in 01", "SE", "eu_vat", "SE123456789702", "value", "SE123456789701"},
		{"letters in a German VAT number", "DE", "eu_vat", "DE12345678A", "value", "DE123456789"},
		{"a UK VAT number with 10 digits", "GB", "gb_vat", "GB1234567890", "value", "GB123456789"},
		{"a US EIN with 8 digits", "US", "us_ein", "12-345678", "value", "12-3456789"},
		{"an ABN with 10 digits", "AU", "au_abn", "1234567891", "value", "12345678912"},
		{"a Canadian BN with letters", "CA", "ca_bn", "12345678A", "value", "123456789"},
		{"a Swiss VAT number without MWST, TVA or IVA", "CH", "ch_vat", "CHE-123.456.789", "value", "CHE-123.456.789 MWST"},
		{"a Norwegian VAT number with 8 digits", "NO", "no_vat", "12345678MVA", "value", "123456789MVA"},
		{"an Indian GST number without its Z", "IN", "in_gst", "12ABCDE3456FGAH", "value", "12ABCDE3456FGZH"},
		{"a CNPJ with 13 digits", "BR", "br_cnpj", "01.234.456/5432-1", "value", "01.234.456/5432-10"},
		{"a Japanese corporate number with 12 digits", "JP", "jp_cn", "123456789123", "value", "1234567891234"},
		{"a South African VAT number not starting with 4", "ZA", "za_vat", "5123456789", "value", "4123456789"},
		{"a value far too long", "DE", "eu_vat", strings.Repeat("1", 65), "value", "too long"},
	}
	for _, tt := range invalid {
		t.Run("refuses "+tt.name+" on the "+tt.field+" field", func(t *testing.T) {
			_, err := payments.TaxIDInput{Country: tt.country, Type: tt.typ, Value: tt.value}.Normalize()
			var be *billing.Error
			if !errors.As(err, &be) || be.Code != billing.EINVALID || be.Field != tt.field {
				t.Fatalf("error = %v, want EINVALID on %s", err, tt.field)
			}
			if !strings.Contains(be.Message, tt.says) {
				t.Errorf("message = %q, want it to say %q", be.Message, tt.says)
			}
		})
	}
}

func TestTaxIDTypes(t *testing.T) {
	t.Run("there are at least 10 types, each code once, with a description, countries and a valid example per country", func(t *testing.T) {
		if len(payments.TaxIDTypes) < 10 {
			t.Errorf("%d types, want at least 10", len(payments.TaxIDTypes))
		}
		seen := map[string]bool{}
		for _, typ := range payments.TaxIDTypes {
			if seen[typ.Code] {
				t.Errorf("type %s is listed twice", typ.Code)
			}
			seen[typ.Code] = true
			if typ.Description == "" || len(typ.Countries()) == 0 {
				t.Errorf("type %s has no description or no countries", typ.Code)
			}
			for _, c := range typ.Countries() {
				if payments.TaxCountryName(c) == c {
					t.Errorf("type %s: country %s has no name", typ.Code, c)
				}
				ex := typ.Example(c)
				got, err := payments.TaxIDInput{Country: c, Type: typ.Code, Value: ex}.Normalize()
				if err != nil {
					t.Errorf("type %s in %s: its example %q is refused: %v", typ.Code, c, ex, err)
				} else if got.Value != ex {
					t.Errorf("type %s in %s: its example %q normalises to %q; examples must be in the written form", typ.Code, c, ex, got.Value)
				}
			}
		}
	})

	t.Run("the European VAT number covers the 27 member states", func(t *testing.T) {
		typ, ok := payments.LookupTaxIDType("eu_vat")
		if !ok {
			t.Fatal("no eu_vat")
		}
		eu := []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
		if got := typ.Countries(); !slices.Equal(got, eu) {
			t.Errorf("countries = %v, want %v", got, eu)
		}
	})

	t.Run("every country of the list has at least one type, and the list is sorted by name", func(t *testing.T) {
		cs := payments.TaxCountries()
		for i, c := range cs {
			if len(payments.TaxIDTypesFor(c.Code)) == 0 {
				t.Errorf("%s has no tax ID type", c.Code)
			}
			if i > 0 && cs[i-1].Name > c.Name {
				t.Errorf("%s comes after %s", c.Name, cs[i-1].Name)
			}
		}
	})

	t.Run("descriptions are Stripe's, and an unknown type is shown by its code", func(t *testing.T) {
		for code, want := range map[string]string{
			"eu_vat": "European VAT number", "gb_vat": "United Kingdom VAT number", "us_ein": "United States EIN", "xx_new": "xx_new",
		} {
			if got := payments.TaxIDDescription(code); got != want {
				t.Errorf("description of %s = %q, want %q", code, got, want)
			}
		}
	})
}
