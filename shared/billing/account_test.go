package billing_test

import (
	"math"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

// usd returns whole dollars, to keep the tables readable.
func usd(d int64) money.Money { return money.Dollars(d) }

func TestAccountFigures(t *testing.T) {
	const (
		maxM = money.Money(math.MaxInt64)
		minM = money.Money(math.MinInt64)
	)
	on := func(budget money.Money) billing.SpendSettings {
		return billing.SpendSettings{Enabled: true, DailyBudget: budget}
	}

	tests := []struct {
		name string
		acc  billing.Account
		want billing.Figures
	}{
		{
			name: "an empty account has nothing available for lack of credits",
			acc:  billing.Account{},
			want: billing.Figures{Reason: billing.ReasonInsufficientCredits},
		},
		{
			name: "remaining credits are the ledger balance minus usage this period",
			acc:  billing.Account{Ledger: usd(100), UsagePeriod: usd(30)},
			want: billing.Figures{UsagePeriod: usd(30), Remaining: usd(70), Available: usd(70)},
		},
		{
			name: "a negative remaining balance covered by the overage line leaves the rest of the line",
			acc:  billing.Account{Ledger: usd(10), UsagePeriod: usd(15), OverageLimit: usd(20)},
			want: billing.Figures{UsagePeriod: usd(15), Remaining: usd(-5), OverageLimit: usd(20), Available: usd(15)},
		},
		{
			name: "a negative remaining balance beyond the overage line leaves nothing for lack of credits",
			acc:  billing.Account{Ledger: usd(10), UsagePeriod: usd(40), OverageLimit: usd(20)},
			want: billing.Figures{UsagePeriod: usd(40), Remaining: usd(-30), OverageLimit: usd(20), Reason: billing.ReasonInsufficientCredits},
		},
		{
			name: "a remaining balance that uses up the overage line exactly leaves nothing for lack of credits",
			acc:  billing.Account{Ledger: usd(10), UsagePeriod: usd(30), OverageLimit: usd(20)},
			want: billing.Figures{UsagePeriod: usd(30), Remaining: usd(-20), OverageLimit: usd(20), Reason: billing.ReasonInsufficientCredits},
		},
		{
			name: "without a credit line one micro-dollar of overuse leaves nothing",
			acc:  billing.Account{Ledger: usd(5), UsagePeriod: usd(5) + 1},
			want: billing.Figures{UsagePeriod: 5_000_001, Remaining: -1, Reason: billing.ReasonInsufficientCredits},
		},
		{
			name: "without a credit line one micro-dollar of credit is available",
			acc:  billing.Account{Ledger: usd(5), UsagePeriod: usd(5) - 1},
			want: billing.Figures{UsagePeriod: 4_999_999, Remaining: 1, Available: 1},
		},
		{
			name: "the daily budget caps what credit would allow",
			acc:  billing.Account{Ledger: usd(100), UsagePeriod: usd(10), UsedToday: usd(2), Spend: on(usd(5))},
			want: billing.Figures{UsagePeriod: usd(10), Remaining: usd(90), DailyLimitOn: true, DailyBudget: usd(5), UsedToday: usd(2), Available: usd(3)},
		},
		{
			name: "credit caps what the daily budget would allow",
			acc:  billing.Account{Ledger: usd(2), Spend: on(usd(50))},
			want: billing.Figures{Remaining: usd(2), DailyLimitOn: true, DailyBudget: usd(50), Available: usd(2)},
		},
		{
			name: "usage equal to the daily budget reaches the daily limit",
			acc:  billing.Account{Ledger: usd(100), UsagePeriod: usd(10), UsedToday: usd(5), Spend: on(usd(5))},
			want: billing.Figures{UsagePeriod: usd(10), Remaining: usd(90), DailyLimitOn: true, DailyBudget: usd(5), UsedToday: usd(5), Reason: billing.ReasonDailyLimitReached},
		},
		{
			name: "usage one micro-dollar below the daily budget leaves one micro-dollar",
			acc:  billing.Account{Ledger: usd(100), UsagePeriod: usd(10), UsedToday: usd(5) - 1, Spend: on(usd(5))},
			want: billing.Figures{UsagePeriod: usd(10), Remaining: usd(90), DailyLimitOn: true, DailyBudget: usd(5), UsedToday: 4_999_999, Available: 1},
		},
		{
			name: "usage beyond the daily budget leaves nothing rather than a negative amount",
			acc:  billing.Account{Ledger: usd(100), UsedToday: usd(8), Spend: on(usd(5))},
			want: billing.Figures{Remaining: usd(100), DailyLimitOn: true, DailyBudget: usd(5), UsedToday: usd(8), Reason: billing.ReasonDailyLimitReached},
		},
		{
			name: "with spend management off the budget is ignored even when today's usage exceeds it",
			acc: billing.Account{
				Ledger: usd(100), UsagePeriod: usd(10), OverageLimit: usd(5), UsedToday: usd(8),
				Spend: billing.SpendSettings{Enabled: false, DailyBudget: usd(5)},
			},
			want: billing.Figures{UsagePeriod: usd(10), Remaining: usd(90), OverageLimit: usd(5), DailyBudget: usd(5), UsedToday: usd(8), Available: usd(95)},
		},
		{
			name: "spend management on without a daily budget sets no daily limit",
			acc:  billing.Account{Ledger: usd(100), UsedToday: usd(7), Spend: on(0)},
			want: billing.Figures{Remaining: usd(100), UsedToday: usd(7), Available: usd(100)},
		},
		{
			name: "exhausted credit is the reason even when the daily limit is also reached",
			acc:  billing.Account{Ledger: usd(1), UsagePeriod: usd(3), OverageLimit: usd(1), UsedToday: usd(9), Spend: on(usd(5))},
			want: billing.Figures{UsagePeriod: usd(3), Remaining: usd(-2), OverageLimit: usd(1), DailyLimitOn: true, DailyBudget: usd(5), UsedToday: usd(9), Reason: billing.ReasonInsufficientCredits},
		},
		{
			name: "a negative overage limit is treated as no credit line",
			acc:  billing.Account{Ledger: usd(10), OverageLimit: usd(-50)},
			want: billing.Figures{Remaining: usd(10), Available: usd(10)},
		},
		{
			name: "a negative overage limit does not deepen a negative balance",
			acc:  billing.Account{UsagePeriod: usd(1), OverageLimit: usd(-50)},
			want: billing.Figures{UsagePeriod: usd(1), Remaining: usd(-1), Reason: billing.ReasonInsufficientCredits},
		},
		{
			name: "total credits are passed through untouched",
			acc:  billing.Account{TotalCredits: usd(500), Ledger: usd(40), UsagePeriod: usd(15)},
			want: billing.Figures{TotalCredits: usd(500), UsagePeriod: usd(15), Remaining: usd(25), Available: usd(25)},
		},
		{
			name: "a remaining balance above the int64 maximum saturates instead of wrapping negative",
			acc:  billing.Account{Ledger: maxM, UsagePeriod: -1},
			want: billing.Figures{UsagePeriod: -1, Remaining: maxM, Available: maxM},
		},
		{
			name: "the largest ledger minus the smallest usage saturates at the int64 maximum",
			acc:  billing.Account{Ledger: maxM, UsagePeriod: minM},
			want: billing.Figures{UsagePeriod: minM, Remaining: maxM, Available: maxM},
		},
		{
			name: "a remaining balance below the int64 minimum saturates instead of wrapping positive",
			acc:  billing.Account{Ledger: minM, UsagePeriod: 1},
			want: billing.Figures{UsagePeriod: 1, Remaining: minM, Reason: billing.ReasonInsufficientCredits},
		},
		{
			name: "the largest overage line on the largest balance saturates instead of wrapping negative",
			acc:  billing.Account{Ledger: maxM, OverageLimit: maxM},
			want: billing.Figures{Remaining: maxM, OverageLimit: maxM, Available: maxM},
		},
		{
			name: "the largest overage line on a saturated negative balance still leaves nothing",
			acc:  billing.Account{Ledger: minM, UsagePeriod: maxM, OverageLimit: maxM},
			want: billing.Figures{UsagePeriod: maxM, Remaining: minM, OverageLimit: maxM, Reason: billing.ReasonInsufficientCredits},
		},
		{
			name: "a budget at the int64 minimum counts as no budget and wraps nothing",
			acc:  billing.Account{Ledger: usd(100), UsedToday: 1, Spend: on(minM)},
			want: billing.Figures{Remaining: usd(100), DailyBudget: minM, UsedToday: 1, Available: usd(100)},
		},
		{
			name: "a budget at the int64 maximum with a negative usage today saturates and leaves credit as the cap",
			acc:  billing.Account{Ledger: usd(100), UsedToday: -1, Spend: on(maxM)},
			want: billing.Figures{Remaining: usd(100), DailyLimitOn: true, DailyBudget: maxM, UsedToday: -1, Available: usd(100)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.acc.Figures()
			if got != tt.want {
				t.Errorf("Figures() =\n\t%+v\nwant\n\t%+v", got, tt.want)
			}
			if got.Allowed() != (tt.want.Available > 0) {
				t.Errorf("Allowed() = %v with Available %d", got.Allowed(), got.Available)
			}
			if (got.Reason == "") != got.Allowed() {
				t.Errorf("Reason = %q while Allowed() = %v", got.Reason, got.Allowed())
			}
		})
	}
}

func TestFiguresAllowed(t *testing.T) {
	tests := []struct {
		name      string
		available money.Money
		want      bool
	}{
		{"nothing available is refused", 0, false},
		{"one micro-dollar available is allowed", 1, true},
		{"a dollar available is allowed", usd(1), true},
		{"a negative amount available is refused", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := billing.Figures{Available: tt.available}
			if got := f.Allowed(); got != tt.want {
				t.Errorf("Figures{Available: %d}.Allowed() = %v, want %v", tt.available, got, tt.want)
			}
		})
	}
}

func TestFiguresResetsAt(t *testing.T) {
	brisbane := time.FixedZone("UTC+10", 10*60*60)
	newYork := time.FixedZone("UTC-5", -5*60*60)

	tests := []struct {
		name   string
		reason string
		now    time.Time
		want   time.Time
	}{
		{
			name:   "a daily limit resets at the next UTC midnight",
			reason: billing.ReasonDailyLimitReached,
			now:    time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC),
			want:   time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		},
		{
			name:   "a daily limit reached at 23:30 in UTC+10 resets at the next UTC midnight, not local midnight",
			reason: billing.ReasonDailyLimitReached,
			now:    time.Date(2026, 11, 27, 23, 30, 0, 0, brisbane), // 13:30 UTC on the 27th
			want:   time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		},
		{
			name:   "a daily limit reached at 21:00 in UTC-5 resets after the UTC day already begun",
			reason: billing.ReasonDailyLimitReached,
			now:    time.Date(2026, 11, 27, 21, 0, 0, 0, newYork), // 02:00 UTC on the 28th
			want:   time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC),
		},
		{
			name:   "insufficient credits never reset on their own",
			reason: billing.ReasonInsufficientCredits,
			now:    time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC),
			want:   time.Time{},
		},
		{
			name:   "an allowed account has no reset time",
			reason: "",
			now:    time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC),
			want:   time.Time{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := billing.Figures{Reason: tt.reason}.ResetsAt(tt.now)
			if !got.Equal(tt.want) {
				t.Errorf("ResetsAt(%v) = %v, want %v", tt.now, got, tt.want)
			}
			if !tt.want.IsZero() && got.Location() != time.UTC {
				t.Errorf("ResetsAt(%v) is in %v, want UTC", tt.now, got.Location())
			}
			if tt.want.IsZero() && !got.IsZero() {
				t.Errorf("ResetsAt(%v) = %v, want the zero time", tt.now, got)
			}
		})
	}
}

func TestFiguresDailyUsedFraction(t *testing.T) {
	tests := []struct {
		name string
		acc  billing.Account
		want int
	}{
		{
			name: "a quarter of the budget used is 25 percent",
			acc:  billing.Account{UsedToday: usd(25), Spend: billing.SpendSettings{Enabled: true, DailyBudget: usd(100)}},
			want: 25,
		},
		{
			name: "nothing used is 0 percent",
			acc:  billing.Account{Spend: billing.SpendSettings{Enabled: true, DailyBudget: usd(100)}},
			want: 0,
		},
		{
			name: "one micro-dollar short of the budget rounds down to 99 percent",
			acc:  billing.Account{UsedToday: usd(100) - 1, Spend: billing.SpendSettings{Enabled: true, DailyBudget: usd(100)}},
			want: 99,
		},
		{
			name: "the whole budget used is 100 percent",
			acc:  billing.Account{UsedToday: usd(100), Spend: billing.SpendSettings{Enabled: true, DailyBudget: usd(100)}},
			want: 100,
		},
		{
			name: "usage beyond the budget clamps at 100 percent",
			acc:  billing.Account{UsedToday: usd(300), Spend: billing.SpendSettings{Enabled: true, DailyBudget: usd(100)}},
			want: 100,
		},
		{
			name: "negative usage today clamps at 0 percent",
			acc:  billing.Account{UsedToday: usd(-5), Spend: billing.SpendSettings{Enabled: true, DailyBudget: usd(100)}},
			want: 0,
		},
		{
			name: "spend management off is 0 percent whatever was used",
			acc:  billing.Account{UsedToday: usd(25), Spend: billing.SpendSettings{Enabled: false, DailyBudget: usd(100)}},
			want: 0,
		},
		{
			name: "a zero budget is 0 percent",
			acc:  billing.Account{UsedToday: usd(25), Spend: billing.SpendSettings{Enabled: true, DailyBudget: 0}},
			want: 0,
		},
		{
			name: "a negative budget is 0 percent",
			acc:  billing.Account{UsedToday: usd(25), Spend: billing.SpendSettings{Enabled: true, DailyBudget: usd(-100)}},
			want: 0,
		},
		{
			name: "half of the largest budget is just under 50 percent without overflowing",
			acc:  billing.Account{UsedToday: math.MaxInt64 / 2, Spend: billing.SpendSettings{Enabled: true, DailyBudget: math.MaxInt64}},
			want: 49, // (2^62 − 1) / (2^63 − 1) is a hair under one half
		},
		{
			name: "a quarter of the largest budget is 25 percent, not a negative percentage",
			acc:  billing.Account{UsedToday: 1 << 61, Spend: billing.SpendSettings{Enabled: true, DailyBudget: math.MaxInt64}},
			want: 25, // 2^61 / (2^63 − 1) is a hair over one quarter
		},
		{
			name: "all but one micro-dollar of the largest budget is 99 percent without overflowing",
			acc:  billing.Account{UsedToday: math.MaxInt64 - 1, Spend: billing.SpendSettings{Enabled: true, DailyBudget: math.MaxInt64}},
			want: 99,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.acc.Figures().DailyUsedFraction(); got != tt.want {
				t.Errorf("DailyUsedFraction() = %d, want %d", got, tt.want)
			}
		})
	}
}
