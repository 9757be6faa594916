package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
)

// EnvPastDueGraceDays is how many days after its due date an invoice
// issued from now on, unpaid, makes its organisation past due (Overage
// Protection suspended, invariant 12): a whole number from 0 to 90,
// billing.DefaultPastDueGrace (7 days) when unset. Invoices keep the grace
// they were issued with.
const EnvPastDueGraceDays = "PAST_DUE_GRACE_DAYS"

// pastDueGrace reads EnvPastDueGraceDays.
func pastDueGrace(getenv func(string) string) (time.Duration, error) {
	v := strings.TrimSpace(getenv(EnvPastDueGraceDays))
	if v == "" {
		return billing.DefaultPastDueGrace, nil
	}
	const day = 24 * time.Hour
	days, err := strconv.Atoi(v)
	if err != nil || days < 0 || days > int(billing.MaxPastDueGrace/day) {
		return 0, fmt.Errorf("%s is %q: give a whole number of days from 0 to %d", EnvPastDueGraceDays, v, billing.MaxPastDueGrace/day)
	}
	return time.Duration(days) * day, nil
}
