package billing

import (
	"math/bits"
	"time"

	"github.com/acme/billing/shared/money"
)

// Account is the state of an organisation's credit account: the counters
// kept by the store and the settings the figures depend on. All amounts are
// micro-dollars.
type Account struct {
	OrgID string
	Name  string

	// TotalCredits is the sum of all positive balance transactions ever.
	TotalCredits money.Money
	// Ledger is the sum of all balance transactions (credits minus debits).
	Ledger money.Money
	// UsagePeriod is usage recorded but not yet invoiced.
	UsagePeriod money.Money
	// OverageLimit is the credit line L ≥ 0 an operator grants.
	OverageLimit money.Money
	// UsedToday is usage recorded on the current UTC day.
	UsedToday money.Money
	// OldestDue is the due date of the oldest unpaid invoice (zero when
	// every invoice is paid), UnpaidDue what the unpaid invoices are owed.
	OldestDue time.Time
	UnpaidDue money.Money
	// PastDueFrom is when the first of the unpaid invoices makes the
	// organisation past due: its due date plus the grace period it was
	// issued with (zero when every invoice is paid).
	PastDueFrom time.Time
	// PastDue is PastDueAt at the time the account was read: Overage
	// Protection counts as $0 while it holds (invariant 12).
	PastDue bool

	Spend        SpendSettings
	AutoRecharge AutoRechargeSettings
}

// SpendSettings is the Spend Management configuration.
type SpendSettings struct {
	Enabled bool
	// DailyBudget is the daily hard limit B; it applies only when Enabled
	// and set (above zero).
	DailyBudget money.Money
	// EmailThreshold is today's usage above which an email goes out.
	EmailThreshold money.Money
}

// AutoRechargeSettings is the Auto Recharge configuration.
type AutoRechargeSettings struct {
	Enabled bool
	// Threshold: when Remaining Credits fall below it, the default card is
	// charged Amount.
	Threshold money.Money
	Amount    money.Money
	// MonthlyCap bounds what auto-recharge charges in a calendar month
	// (UTC); zero means no cap.
	MonthlyCap money.Money
	// DisabledReason says why auto-recharge turned itself off, if it did.
	DisabledReason string
}

// Limits of the auto-recharge threshold and amount.
var (
	MinRecharge = money.Dollars(5)
	MaxRecharge = money.Dollars(5000)
)

// Validate returns EINVALID errors at the fields threshold, amount and
// monthly_cap. Disabled settings are not checked, so auto-recharge can
// always be turned off.
func (s AutoRechargeSettings) Validate() error {
	if !s.Enabled {
		return nil
	}
	if s.Threshold < MinRecharge || s.Threshold > MaxRecharge || s.Threshold%money.Cent != 0 {
		return FieldError("threshold", "Enter a threshold between $5 and $5000.")
	}
	if s.Amount < MinRecharge || s.Amount > MaxRecharge || s.Amount%money.Cent != 0 {
		return FieldError("amount", "Enter a recharge amount between $5 and $5000.")
	}
	if s.MonthlyCap < 0 || s.MonthlyCap%money.Cent != 0 || (s.MonthlyCap > 0 && s.MonthlyCap < s.Amount) {
		return FieldError("monthly_cap", "Leave the monthly cap empty, or enter at least the recharge amount.")
	}
	return nil
}

// Reasons an allowance is refused, as the usage API reports them.
const (
	ReasonInsufficientCredits = "insufficient_credits"
	ReasonDailyLimitReached   = "daily_limit_reached"
	// ReasonPaymentOverdue: credit is used up and Overage Protection,
	// which would cover more, is suspended by an invoice past due.
	ReasonPaymentOverdue = "payment_overdue"
)

// DefaultPastDueGrace is how long after its due date an unpaid invoice
// makes its organisation past due, unless configured otherwise
// (PAST_DUE_GRACE_DAYS, within MaxPastDueGrace). An invoice keeps the grace
// it was issued with.
const DefaultPastDueGrace = 7 * 24 * time.Hour

// MaxPastDueGrace bounds the configured grace period.
const MaxPastDueGrace = 90 * 24 * time.Hour

// PastDueAt reports whether the organisation is past due at now: an invoice
// still unpaid at its due date plus its grace period (PastDueFrom).
func (a Account) PastDueAt(now time.Time) bool {
	return !a.PastDueFrom.IsZero() && !now.Before(a.PastDueFrom)
}

// Figures are the numbers of the Billing Overview, derived from an Account.
type Figures struct {
	TotalCredits money.Money
	UsagePeriod  money.Money
	// Remaining is Ledger − UsagePeriod; it may be negative.
	Remaining    money.Money
	OverageLimit money.Money
	// DailyLimitOn reports whether the daily hard limit applies.
	DailyLimitOn bool
	DailyBudget  money.Money
	UsedToday    money.Money
	// Available is what may still be used right now, never negative.
	Available money.Money
	// Reason says why Available is zero, or is "" while usage is allowed.
	Reason string
	// OverageSuspended: the organisation is past due, so OverageLimit
	// counts as $0 in Available.
	OverageSuspended bool
}

// Allowed reports whether a new call may proceed: Available to Use > 0.
func (f Figures) Allowed() bool { return f.Available > 0 }

// Figures computes the account figures:
//
//	Remaining = Ledger − UsagePeriod
//	Available = max(0, min(Remaining + L, B − used today)), the B term only when Spend Management is on with a budget set,
//	and L counted as $0 while the organisation is past due (PastDue).
//
// When nothing is available, Reason is ReasonPaymentOverdue if credit is
// exhausted only because the overage line is suspended,
// ReasonInsufficientCredits if credit (including the line) is exhausted,
// else ReasonDailyLimitReached.
// Sums saturate instead of overflowing, so extreme values stay ordered.
func (a Account) Figures() Figures {
	f := Figures{
		TotalCredits: a.TotalCredits,
		UsagePeriod:  a.UsagePeriod,
		Remaining:    sub(a.Ledger, a.UsagePeriod),
		OverageLimit: max(a.OverageLimit, 0),
		DailyLimitOn: a.Spend.Enabled && a.Spend.DailyBudget > 0,
		DailyBudget:  a.Spend.DailyBudget,
		UsedToday:    a.UsedToday,
	}
	line := f.OverageLimit
	if a.PastDue && line > 0 {
		line, f.OverageSuspended = 0, true
	}
	credit := add(f.Remaining, line)
	avail := credit
	if f.DailyLimitOn {
		avail = min(avail, sub(a.Spend.DailyBudget, a.UsedToday))
	}
	f.Available = max(avail, 0)
	switch {
	case credit <= 0 && f.OverageSuspended && add(f.Remaining, f.OverageLimit) > 0:
		f.Reason = ReasonPaymentOverdue
	case credit <= 0:
		f.Reason = ReasonInsufficientCredits
	case f.Available <= 0:
		f.Reason = ReasonDailyLimitReached
	}
	return f
}

// ResetsAt returns when a refusal for the daily limit ends: the next UTC
// midnight after now. It is the zero time for any other state.
func (f Figures) ResetsAt(now time.Time) time.Time {
	if f.Reason != ReasonDailyLimitReached {
		return time.Time{}
	}
	return NextMidnight(now)
}

// DailyUsedFraction is today's usage against the daily budget in percent,
// clamped to 0–100, for the usage meter. It is 0 when no limit applies.
func (f Figures) DailyUsedFraction() int {
	if !f.DailyLimitOn || f.DailyBudget <= 0 {
		return 0
	}
	if f.UsedToday >= f.DailyBudget {
		return 100
	}
	// 0 ≤ used < budget here; the 128-bit product cannot overflow and the
	// quotient is below 100, so Div64 cannot panic.
	hi, lo := bits.Mul64(uint64(max(f.UsedToday, 0)), 100)
	q, _ := bits.Div64(hi, lo, uint64(f.DailyBudget))
	return int(q)
}

func add(a, b money.Money) money.Money {
	s, err := a.Add(b)
	if err != nil {
		if b > 0 {
			return money.Money(1<<63 - 1)
		}
		return money.Money(-1 << 63)
	}
	return s
}

func sub(a, b money.Money) money.Money {
	s, err := a.Sub(b)
	if err != nil {
		if b < 0 {
			return money.Money(1<<63 - 1)
		}
		return money.Money(-1 << 63)
	}
	return s
}
