package payments

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/acme/billing/shared/billing"
)

// TaxIDStatus is the verification status of a tax ID, as Stripe reports it.
type TaxIDStatus string

// Tax ID statuses. A new tax ID starts unverified (the sandbox) or pending
// (Stripe, for the types it verifies).
const (
	TaxIDUnverified  TaxIDStatus = "unverified"
	TaxIDPending     TaxIDStatus = "pending"
	TaxIDVerified    TaxIDStatus = "verified"
	TaxIDUnavailable TaxIDStatus = "unavailable" // the verification service could not be reached
)

// TaxID is a tax registration of a customer (Stripe's customer tax ID).
type TaxID struct {
	ID      string // txi_…
	Type    string // one of Stripe's tax ID types, e.g. eu_vat
	Country string // ISO 3166-1 alpha-2
	Value   string // normalised, e.g. DE123456789
	Status  TaxIDStatus
	Created time.Time
}

// TaxIDInput is a tax registration to add, as typed.
type TaxIDInput struct {
	Country string
	Type    string
	Value   string
}

// TaxIDType is one of Stripe's tax ID types, with the countries it is
// issued in and the format of its values there.
type TaxIDType struct {
	Code        string // Stripe's code, e.g. eu_vat
	Description string // Stripe's description, e.g. "European VAT number"
	// formats is the value's format per country it applies to.
	formats map[string]taxFormat
	// display turns a compact value into Stripe's written form (e.g.
	// 12-3456789 for an EIN); nil keeps it compact.
	display func(compact string) string
}

// taxFormat is the format of a type's values in one country.
type taxFormat struct {
	// prefix starts every value (e.g. DE for German VAT numbers); a value
	// typed without it gets it.
	prefix string
	// alias is another prefix people type, replaced by prefix (GR for
	// Greece's EL).
	alias string
	// body returns the pattern of the compact value after the prefix,
	// compiled on first use (not at init: most functions never check a
	// tax ID).
	body func() *regexp.Regexp
	// example is a well-formed value, shown in hints and errors.
	example string
}

// Countries returns the countries the type applies to, ISO 3166-1 alpha-2,
// sorted.
func (t TaxIDType) Countries() []string {
	cs := make([]string, 0, len(t.formats))
	for c := range t.formats {
		cs = append(cs, c)
	}
	slices.Sort(cs)
	return cs
}

// Example returns a well-formed value of the type in country, or of its
// first country when country is not one of them.
func (t TaxIDType) Example(country string) string {
	f, ok := t.formats[country]
	if !ok {
		cs := t.Countries()
		if len(cs) == 0 {
			return ""
		}
		f = t.formats[cs[0]]
	}
	return f.example
}

// re returns an anchored pattern, compiled once on its first use.
func re(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:` + pattern + `)$`) })
}

// one is the format map of a type issued in a single country.
func one(country, prefix, body, example string) map[string]taxFormat {
	return map[string]taxFormat{country: {prefix: prefix, body: re(body), example: example}}
}

// euVAT is the VAT number format of each EU member state: its prefix
// (the country code; EL for Greece) and what follows it.
var euVAT = map[string]taxFormat{
	"AT": {prefix: "AT", body: re(`U\d{8}`), example: "ATU12345678"},
	"BE": {prefix: "BE", body: re(`[01]\d{9}`), example: "BE0123456789"},
	"BG": {prefix: "BG", body: re(`\d{9,10}`), example: "BG123456789"},
	"CY": {prefix: "CY", body: re(`\d{8}[A-Z]`), example: "CY12345678X"},
	"CZ": {prefix: "CZ", body: re(`\d{8,10}`), example: "CZ12345678"},
	"DE": {prefix: "DE", body: re(`\d{9}`), example: "DE123456789"},
	"DK": {prefix: "DK", body: re(`\d{8}`), example: "DK12345678"},
	"EE": {prefix: "EE", body: re(`\d{9}`), example: "EE123456789"},
	"ES": {prefix: "ES", body: re(`[A-Z]\d{7}[A-Z0-9]|\d{8}[A-Z]`), example: "ESA1234567Z"},
	"FI": {prefix: "FI", body: re(`\d{8}`), example: "FI12345678"},
	"FR": {prefix: "FR", body: re(`[0-9A-HJ-NP-Z]{2}\d{9}`), example: "FRAB123456789"},
	"GR": {prefix: "EL", alias: "GR", body: re(`\d{9}`), example: "EL123456789"},
	"HR": {prefix: "HR", body: re(`\d{11}`), example: "HR12345678901"},
	"HU": {prefix: "HU", body: re(`\d{8}`), example: "HU12345678"},
	"IE": {prefix: "IE", body: re(`\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W]`), example: "IE1234567WI"},
	"IT": {prefix: "IT", body: re(`\d{11}`), example: "IT12345678901"},
	"LT": {prefix: "LT", body: re(`\d{9}|\d{12}`), example: "LT123456789"},
	"LU": {prefix: "LU", body: re(`\d{8}`), example: "LU12345678"},
	"LV": {prefix: "LV", body: re(`\d{11}`), example: "LV12345678901"},
	"MT": {prefix: "MT", body: re(`\d{8}`), example: "MT12345678"},
	"NL": {prefix: "NL", body: re(`\d{9}B\d{2}`), example: "NL123456789B01"},
	"PL": {prefix: "PL", body: re(`\d{10}`), example: "PL1234567890"},
	"PT": {prefix: "PT", body: re(`\d{9}`), example: "PT123456789"},
	"RO": {prefix: "RO", body: re(`[1-9]\d{1,9}`), example: "RO1234567891"},
	"SE": {prefix: "SE", body: re(`\d{10}01`), example: "SE123456789701"},
	"SI": {prefix: "SI", body: re(`\d{8}`), example: "SI12345678"},
	"SK": {prefix: "SK", body: re(`\d{10}`), example: "SK1234567891"},
}

// TaxIDTypes are the tax ID types a registration can have: the common
// ones of Stripe's list, with Stripe's codes and descriptions. This is the
// one place they are defined.
var TaxIDTypes = []TaxIDType{
	{Code: "eu_vat", Description: "European VAT number", formats: euVAT},
	{Code: "gb_vat", Description: "United Kingdom VAT number", formats: one("GB", "GB", `\d{9}|\d{12}|GD[0-4]\d{2}|HA[5-9]\d{2}`, "GB123456789")},
	{Code: "ch_vat", Description: "Switzerland VAT number", formats: one("CH", "CHE", `\d{9}(?:MWST|TVA|IVA)`, "CHE-123.456.789 MWST"),
		display: func(v string) string { return "CHE-" + v[3:6] + "." + v[6:9] + "." + v[9:12] + " " + v[12:] }},
	{Code: "no_vat", Description: "Norwegian VAT number", formats: one("NO", "", `\d{9}(?:MVA)?`, "123456789MVA"),
		display: func(v string) string { return v[:9] + "MVA" }},
	{Code: "es_cif", Description: "Spanish NIF number (previously Spanish CIF number)", formats: one("ES", "", `[A-Z]\d{7}[A-Z0-9]|\d{8}[A-Z]`, "A12345678")},
	{Code: "us_ein", Description: "United States EIN", formats: one("US", "", `\d{9}`, "12-3456789"),
		display: func(v string) string { return v[:2] + "-" + v[2:] }},
	{Code: "ca_bn", Description: "Canadian BN", formats: one("CA", "", `\d{9}`, "123456789")},
	{Code: "ca_gst_hst", Description: "Canadian GST/HST number", formats: one("CA", "", `\d{9}RT\d{4}`, "123456789RT0002")},
	{Code: "mx_rfc", Description: "Mexican RFC number", formats: one("MX", "", `[A-ZÑ&]{3,4}\d{6}[A-Z0-9]{3}`, "ABC010203AB9")},
	{Code: "br_cnpj", Description: "Brazilian CNPJ number", formats: one("BR", "", `\d{14}`, "01.234.456/5432-10"),
		display: func(v string) string { return v[:2] + "." + v[2:5] + "." + v[5:8] + "/" + v[8:12] + "-" + v[12:] }},
	{Code: "au_abn", Description: "Australian Business Number (AU ABN)", formats: one("AU", "", `\d{11}`, "12345678912")},
	{Code: "nz_gst", Description: "New Zealand GST number", formats: one("NZ", "", `\d{8,9}`, "123456789")},
	{Code: "in_gst", Description: "Indian GST number", formats: one("IN", "", `\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]`, "12ABCDE3456FGZH")},
	{Code: "jp_cn", Description: "Japanese Corporate Number (Hōjin Bangō)", formats: one("JP", "", `\d{13}`, "1234567891234")},
	{Code: "jp_trn", Description: "Japanese Tax Registration Number (Tōroku Bangō)", formats: one("JP", "T", `\d{13}`, "T1234567891234")},
	{Code: "kr_brn", Description: "Korean BRN", formats: one("KR", "", `\d{10}`, "123-45-67890"),
		display: func(v string) string { return v[:3] + "-" + v[3:5] + "-" + v[5:] }},
	{Code: "sg_uen", Description: "Singaporean UEN", formats: one("SG", "", `\d{8,9}[A-Z]|[TSR]\d{2}[A-Z]{2}\d{4}[A-Z]`, "123456789F")},
	{Code: "ae_trn", Description: "United Arab Emirates TRN", formats: one("AE", "", `\d{15}`, "123456789012345")},
	{Code: "za_vat", Description: "South African VAT number", formats: one("ZA", "", `4\d{9}`, "4123456789")},
}

// taxCountryNames names the countries of TaxIDTypes, by ISO 3166-1
// alpha-2 code, from the ISO country list of the invoice address. Only
// these countries can hold a tax registration. Built on first use.
var taxCountryNames = sync.OnceValue(func() map[string]string {
	names := map[string]string{}
	for _, t := range TaxIDTypes {
		for code := range t.formats {
			names[code] = billing.CountryName(code)
		}
	}
	return names
})

// TaxCountry is a country a tax registration can be in.
type TaxCountry struct {
	Code string // ISO 3166-1 alpha-2
	Name string
}

// TaxCountries returns the countries of TaxIDTypes, sorted by name.
func TaxCountries() []TaxCountry {
	names := taxCountryNames()
	cs := make([]TaxCountry, 0, len(names))
	for code, name := range names {
		cs = append(cs, TaxCountry{Code: code, Name: name})
	}
	slices.SortFunc(cs, func(a, b TaxCountry) int { return cmp.Compare(a.Name, b.Name) })
	return cs
}

// TaxCountryName returns the name of a country of TaxIDTypes, or code
// itself for any other.
func TaxCountryName(code string) string {
	if n, ok := taxCountryNames()[code]; ok {
		return n
	}
	return code
}

// inCountry is a country's name as written after "in": "in the
// Netherlands", "in Germany".
func inCountry(code string) string {
	switch code {
	case "AE", "GB", "NL", "US":
		return "the " + TaxCountryName(code)
	}
	return TaxCountryName(code)
}

// LookupTaxIDType returns the type with code.
func LookupTaxIDType(code string) (TaxIDType, bool) {
	i := slices.IndexFunc(TaxIDTypes, func(t TaxIDType) bool { return t.Code == code })
	if i < 0 {
		return TaxIDType{}, false
	}
	return TaxIDTypes[i], true
}

// TaxIDDescription is the description of a type code, e.g. "European VAT
// number"; the code itself for a type not in TaxIDTypes (one added in
// Stripe's dashboard).
func TaxIDDescription(code string) string {
	if t, ok := LookupTaxIDType(code); ok {
		return t.Description
	}
	return code
}

// TaxIDTypesFor returns the types issued in country, in TaxIDTypes order.
func TaxIDTypesFor(country string) []TaxIDType {
	var ts []TaxIDType
	for _, t := range TaxIDTypes {
		if _, ok := t.formats[country]; ok {
			ts = append(ts, t)
		}
	}
	return ts
}

// maxTaxIDInput bounds a value as typed.
const maxTaxIDInput = 64

// compactTaxID upper-cases a value and drops the spaces, dots, dashes and
// slashes people write in it.
func compactTaxID(v string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '.' || r == '-' || r == '/' {
			return -1
		}
		return unicode.ToUpper(r)
	}, v)
}

// Normalize checks a registration as typed and returns it with its value
// in Stripe's written form (e.g. "de 123.456.789" becomes DE123456789).
// Errors are EINVALID on the field concerned: "country" for a country
// with no tax ID type here, "type" for an unknown type or one not issued
// in the country, "value" for a value that does not match the type's
// format there.
func (in TaxIDInput) Normalize() (TaxIDInput, error) {
	in.Country = strings.ToUpper(strings.TrimSpace(in.Country))
	in.Type = strings.TrimSpace(in.Type)
	raw := strings.TrimSpace(in.Value)
	switch _, known := taxCountryNames()[in.Country]; {
	case in.Country == "":
		return in, billing.FieldError("country", "Choose the country of the registration.")
	case !known:
		return in, billing.FieldError("country", "Choose a country from the list.")
	}
	t, ok := LookupTaxIDType(in.Type)
	switch {
	case in.Type == "":
		return in, billing.FieldError("type", "Choose the type of tax ID.")
	case !ok:
		return in, billing.FieldError("type", "Choose a type of tax ID from the list.")
	}
	f, ok := t.formats[in.Country]
	if !ok {
		var names []string
		for _, o := range TaxIDTypesFor(in.Country) {
			names = append(names, o.Description)
		}
		return in, billing.FieldError("type", "The type “%s” is not issued in %s. Choose one of: %s.",
			t.Description, inCountry(in.Country), strings.Join(names, "; "))
	}
	v := compactTaxID(raw)
	switch {
	case v == "":
		return in, billing.FieldError("value", "Enter the tax ID, e.g. %s.", f.example)
	case len(raw) > maxTaxIDInput:
		return in, billing.FieldError("value", "That is too long; enter it like %s.", f.example)
	}
	if f.alias != "" && strings.HasPrefix(v, f.alias) {
		v = f.prefix + v[len(f.alias):]
	}
	body, hasPrefix := strings.CutPrefix(v, f.prefix)
	if !hasPrefix || !f.body().MatchString(body) {
		// Typed without its prefix (e.g. 123456789 for DE123456789)?
		if !f.body().MatchString(v) {
			return in, billing.FieldError("value", "That is not a valid %s in %s; enter it like %s.",
				t.Description, inCountry(in.Country), f.example)
		}
		body = v
	}
	in.Value = f.prefix + body
	if t.display != nil {
		in.Value = t.display(in.Value)
	}
	return in, nil
}
