package billing

import (
	"cmp"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/biter777/countries"
)

// Lengths of the invoice address fields, in characters. They fit Stripe's
// limits (a customer's name and address lines, an invoice custom field's
// value of 140).
const (
	MaxCompanyName = 120
	MaxAddressLine = 200
	MaxCity        = 120
	MaxRegion      = 120
	MaxPostalCode  = 20
	MaxPONumber    = 40
)

// Country is one entry of the country list: an ISO 3166-1 alpha-2 code and
// its English name.
type Country struct {
	Code string // "DE"
	Name string // "Germany"
}

// Countries returns the countries an invoice address may name, sorted by
// name, from the ISO 3166-1 list of github.com/biter777/countries: the 249
// current codes and XK (Kosovo, user-assigned, accepted by Stripe), less
// the library's withdrawn AN (Netherlands Antilles) and YU (Yugoslavia).
// The list is shared: the caller must not change it.
func Countries() []Country { return countryList() }

// withdrawn are codes the library still lists that ISO 3166-1 removed.
var withdrawn = map[string]bool{"AN": true, "YU": true}

var countryList = sync.OnceValue(func() []Country {
	alpha2 := regexp.MustCompile(`^[A-Z]{2}$`)
	var list []Country
	seen := map[string]bool{}
	for _, c := range countries.All() {
		code := c.Alpha2()
		if !alpha2.MatchString(code) || withdrawn[code] || seen[code] {
			continue
		}
		seen[code] = true
		list = append(list, Country{Code: code, Name: c.String()})
	}
	slices.SortFunc(list, func(a, b Country) int { return cmp.Compare(a.Name, b.Name) })
	return list
})

var countryNames = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, c := range Countries() {
		m[c.Code] = c.Name
	}
	return m
})

// CountryName returns the English name of an ISO 3166-1 alpha-2 code of the
// list, and "" for any other code.
func CountryName(code string) string { return countryNames()[code] }

// noPostalCode are countries without a postal code system (or where it is
// not used in addresses): their postal code is optional.
var noPostalCode = map[string]bool{
	"AE": true, "AG": true, "AO": true, "AW": true, "BF": true, "BI": true, "BJ": true, "BO": true, "BS": true,
	"BW": true, "BZ": true, "CD": true, "CF": true, "CG": true, "CI": true, "CK": true, "CM": true, "DJ": true,
	"DM": true, "ER": true, "FJ": true, "GA": true, "GD": true, "GH": true, "GM": true, "GQ": true, "GY": true,
	"HK": true, "KI": true, "KM": true, "KN": true, "KP": true, "LY": true, "ML": true, "MO": true, "MR": true,
	"MW": true, "NR": true, "NU": true, "QA": true, "RW": true, "SB": true, "SC": true, "SL": true, "SR": true,
	"ST": true, "SY": true, "TD": true, "TF": true, "TG": true, "TK": true, "TL": true, "TO": true, "TV": true,
	"UG": true, "VU": true, "YE": true, "ZW": true,
}

// PostalCodeRequired reports whether an address in country needs a postal
// code.
func PostalCodeRequired(country string) bool { return !noPostalCode[country] }

// postalFormats are the postal code checks of the countries where one
// pattern is cheap and sure, with the example shown when it fails. Codes
// are checked after Clean (upper case, single spaces). Each pattern is
// compiled on its first use, not at every cold start.
var postalFormats = map[string]struct {
	pattern func() *regexp.Regexp
	example string
}{
	"US": {lazyRegexp(`^\d{5}(-\d{4})?$`), "a 5-digit ZIP code like 94105, or ZIP+4 like 94105-1234"},
	"CA": {lazyRegexp(`^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d$`), "a postal code like K1A 0B1"},
	"GB": {lazyRegexp(`^([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|GIR ?0AA)$`), "a postcode like SW1A 1AA"},
	"DE": {lazyRegexp(`^\d{5}$`), "5 digits, like 10115"},
	"FR": {lazyRegexp(`^\d{5}$`), "5 digits, like 75001"},
	"ES": {lazyRegexp(`^\d{5}$`), "5 digits, like 28001"},
	"IT": {lazyRegexp(`^\d{5}$`), "5 digits, like 00184"},
	"NL": {lazyRegexp(`^\d{4} ?[A-Z]{2}$`), "4 digits and 2 letters, like 1012 AB"},
	"BE": {lazyRegexp(`^\d{4}$`), "4 digits, like 1000"},
	"AT": {lazyRegexp(`^\d{4}$`), "4 digits, like 1010"},
	"CH": {lazyRegexp(`^\d{4}$`), "4 digits, like 8001"},
	"DK": {lazyRegexp(`^\d{4}$`), "4 digits, like 1050"},
	"AU": {lazyRegexp(`^\d{4}$`), "4 digits, like 2000"},
	"SE": {lazyRegexp(`^\d{3} ?\d{2}$`), "5 digits, like 114 55"},
	"PL": {lazyRegexp(`^\d{2}-\d{3}$`), "a code like 00-950"},
	"JP": {lazyRegexp(`^\d{3}-?\d{4}$`), "7 digits, like 100-0001"},
	"IN": {lazyRegexp(`^\d{6}$`), "6 digits, like 110001"},
	"BR": {lazyRegexp(`^\d{5}-?\d{3}$`), "8 digits, like 01310-100"},
}

// Clean returns the address as it is stored: every field trimmed with its
// inner runs of spaces squeezed, the country code and the postal code in
// upper case.
func (a Address) Clean() Address {
	for _, f := range []*string{&a.CompanyName, &a.Address1, &a.Address2, &a.City, &a.PostalCode, &a.Region, &a.Country, &a.PONumber} {
		*f = strings.Join(strings.Fields(*f), " ")
	}
	a.Country = strings.ToUpper(a.Country)
	a.PostalCode = strings.ToUpper(a.PostalCode)
	return a
}

// Validate returns nil for a complete invoice address, else the EINVALID
// error of every bad field joined (errors.Join), in the order of the form;
// each carries its form field name (company_name, address1, …) and a
// message to show next to it. It checks an address after Clean: company
// name, address 1, city and country (one of Countries) are required, and
// the postal code unless the country has none; lengths are bounded;
// the postal code has its country's format where one is known.
func (a Address) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) { errs = append(errs, FieldError(field, format, args...)) }
	text := func(field, label, value string, maxLen int, required bool) {
		switch n := len([]rune(value)); {
		case n == 0 && required:
			add(field, "Enter the %s.", label)
		case n > maxLen:
			add(field, "The %s must be at most %d characters (it has %d).", label, maxLen, n)
		case strings.ContainsFunc(value, unicode.IsControl):
			add(field, "The %s must be one line of text.", label)
		}
	}
	text("company_name", "company name", a.CompanyName, MaxCompanyName, true)
	text("address1", "first line of the address", a.Address1, MaxAddressLine, true)
	text("address2", "second line of the address", a.Address2, MaxAddressLine, false)
	text("city", "city", a.City, MaxCity, true)
	known := CountryName(a.Country) != ""
	before := len(errs)
	text("postal_code", "postal code", a.PostalCode, MaxPostalCode, known && PostalCodeRequired(a.Country))
	if f, ok := postalFormats[a.Country]; ok && len(errs) == before && a.PostalCode != "" && !f.pattern().MatchString(a.PostalCode) {
		add("postal_code", "Enter %s for %s.", f.example, CountryName(a.Country))
	}
	text("region", "region or province", a.Region, MaxRegion, false)
	switch {
	case a.Country == "":
		add("country", "Select a country.")
	case !known:
		add("country", "Select a country from the list.")
	}
	text("po_number", "purchase order (PO) number", a.PONumber, MaxPONumber, false)
	return errors.Join(errs...)
}
