package web

import (
	"strings"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

// amountRule is what a dollar form field accepts: whole cents from min to
// max, typed as people type amounts ("25", "$1,250.50").
type amountRule struct {
	min, max money.Money
	// required is the message for an empty field; "" when an empty field
	// is allowed (it reads as 0).
	required string
	// below, when set, follows the message of an amount under min (for
	// example what leaving the field empty does instead).
	below string
}

// read returns the amount typed into field, or an EINVALID error at field
// whose message says what is wrong with what was typed: "“abc” is not an
// amount in dollars", "$5,000.01 is above the $5,000 maximum.".
func (r amountRule) read(field, typed string) (money.Money, error) {
	typed = strings.TrimSpace(typed)
	if typed == "" {
		if r.required != "" {
			return 0, billing.FieldError(field, "%s", r.required)
		}
		return 0, nil
	}
	m, err := money.ParseInput(typed)
	switch {
	case err != nil:
		return 0, billing.FieldError(field, "“%s” is not an amount in dollars: enter it like 25 or 25.50.", quoted(typed))
	case m%money.Cent != 0:
		return 0, billing.FieldError(field, "%s has more than two decimals: enter whole cents, like %s.", quoted(typed), m.RoundCents().String())
	case m < r.min:
		msg := m.Display() + " is below the " + dollars(r.min) + " minimum."
		if r.below != "" {
			msg = strings.TrimSuffix(msg, ".") + ": " + r.below
		}
		return 0, billing.FieldError(field, "%s", msg)
	case m > r.max:
		return 0, billing.FieldError(field, "%s is above the %s maximum.", m.Display(), dollars(r.max))
	}
	return m, nil
}

// dollars is m for a limit in a message: "$5,000", or "$0.01" when m is
// not whole dollars.
func dollars(m money.Money) string {
	if m%money.Dollar == 0 {
		return strings.TrimSuffix(m.Display(), ".00")
	}
	return m.Display()
}

// quoted is what was typed, cut to 24 characters for a message.
func quoted(typed string) string {
	if r := []rune(typed); len(r) > 24 {
		return string(r[:24]) + "…"
	}
	return typed
}
