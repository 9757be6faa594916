package billing

import (
	"strings"
	"time"
)

// AuditEntry is one saved change of settings on a Billing page: who made
// it, when, and what it changed. Entries hold no secrets and no card
// numbers: a card is named by brand and last four digits, a signing secret
// only by what happened to it.
type AuditEntry struct {
	ID      string // time-ordered, set by the store
	Time    time.Time
	Actor   string // the signed-in member's email
	Page    string // the Billing page, e.g. "Invoice Address"
	Changes []Change
}

// Summary is the entry's changes in one line, e.g.
// `City: "Berlin" → "Hamburg"; Country: …`.
func (e AuditEntry) Summary() string {
	parts := make([]string, len(e.Changes))
	for i, c := range e.Changes {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}

// Change is one thing a save changed: a field from Old to New, or, when
// both are empty, an event named by What ("webhook signing secret
// rotated").
type Change struct {
	What string
	Old  string
	New  string
}

// String is `What: "old" → "new"`, an empty value shown as (empty), or
// just What for an event.
func (c Change) String() string {
	if c.Old == "" && c.New == "" {
		return c.What
	}
	return c.What + ": " + quote(c.Old) + " → " + quote(c.New)
}

func quote(v string) string {
	if v == "" {
		return "(empty)"
	}
	return `"` + v + `"`
}

// Changes collects the changes of one save.
type Changes []Change

// Field adds the change of the field what from before to after, if they
// differ.
func (cs *Changes) Field(what, before, after string) {
	if before != after {
		*cs = append(*cs, Change{What: what, Old: before, New: after})
	}
}

// Event adds a change that has no values, e.g. "card Visa •••• 4242 added".
func (cs *Changes) Event(what string) {
	*cs = append(*cs, Change{What: what})
}

// AddressChanges returns what changed from before to after, field by field,
// with the labels of the Invoice Address form.
func AddressChanges(before, after Address) Changes {
	var cs Changes
	cs.Field("Company Name", before.CompanyName, after.CompanyName)
	cs.Field("Address 1", before.Address1, after.Address1)
	cs.Field("Address 2", before.Address2, after.Address2)
	cs.Field("City", before.City, after.City)
	cs.Field("Postal code", before.PostalCode, after.PostalCode)
	cs.Field("Region/Province", before.Region, after.Region)
	cs.Field("Country", before.Country, after.Country)
	cs.Field("Purchase order (PO) number", before.PONumber, after.PONumber)
	return cs
}
