package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// UsageOutcome is what recording did with one usage event.
type UsageOutcome string

// Outcomes of recording.
const (
	UsageAccepted   UsageOutcome = "accepted"
	UsageDuplicate  UsageOutcome = "duplicate"
	UsageUnknownOrg UsageOutcome = "unknown_org"
	// UsageOverLimit: counting the event would take Usage This Period or
	// today's usage past billing.MaxUsageCounter; it was not recorded.
	UsageOverLimit UsageOutcome = "over_limit"
)

// maxEventsPerTransaction leaves three actions of DynamoDB's 100: for the
// counter shard, and for the DAY# item and RECENT's revision when usage
// arrives for a day already closed.
const maxEventsPerTransaction = MaxTransactActions - 3

// eventRecord is the idempotency record of one usage event, on its own
// partition (EVT#<org>#<sha256 of id>) so the organisation's hot partition
// only carries its ACCOUNT item. Short attribute names and a capped
// description keep it within one write unit (1 KB).
type eventRecord struct {
	PK          string      `dynamodbav:"PK"`
	SK          string      `dynamodbav:"SK"`
	EventID     string      `dynamodbav:"i"`
	Amount      money.Money `dynamodbav:"a"`
	Day         string      `dynamodbav:"d"`
	Time        string      `dynamodbav:"t"`
	Description string      `dynamodbav:"n,omitempty"`
	Token       string      `dynamodbav:"k"`
	ExpiresAt   int64       `dynamodbav:"expires_at"`
}

// maxStoredDescription is how many bytes of an event's description its
// record keeps.
const maxStoredDescription = 160

func eventPK(orgID, eventID string) string {
	sum := sha256.Sum256([]byte(eventID))
	return "EVT#" + orgID + "#" + hex.EncodeToString(sum[:])
}

const skEvent = "EVT"

func newEventRecord(e billing.UsageEvent, day, token string, now time.Time) eventRecord {
	desc := e.Description
	for len(desc) > maxStoredDescription {
		_, size := utf8.DecodeLastRuneInString(desc)
		desc = desc[:len(desc)-size]
	}
	return eventRecord{
		PK: eventPK(e.OrgID, e.ID), SK: skEvent, EventID: e.ID, Amount: e.Amount, Day: day,
		Time: e.Time.UTC().Format(time.RFC3339Nano), Description: desc, Token: token,
		// Kept a day past the retention window; events older than the
		// window are refused anyway, so an id never counts twice.
		ExpiresAt: now.Add(billing.UsageRetention + 24*time.Hour).Unix(),
	}
}

// RecordUsage records usage events of one organisation, counted on the UTC
// day of now. Each event's idempotency record and one counter shard of the
// organisation (its Usage This Period and today's usage; counters.go)
// change in one transaction, at most 99 events per transaction, so an
// event id counts exactly once: across requests, concurrent callers and
// retries after lost answers. Every chunk of a request goes to the same
// shard, chosen from the first event's id, so a retry picks it again.
//
// Every transaction is conditioned on both counters of the shard staying
// at most billing.MaxUsageCounter, so no sequence of recordings overflows
// them. When
// the condition fails, the events that still fit, in order, are recorded
// and the others come back UsageOverLimit; usage already recorded stays.
//
// events must be valid (amounts positive and at most billing.MaxUsageEvent),
// of orgID, and have distinct ids. The outcomes come back in the order of
// events. An error means the events without an outcome were not recorded
// and may be retried.
func (s *Store) RecordUsage(ctx context.Context, orgID string, now time.Time, events []billing.UsageEvent) ([]UsageOutcome, error) {
	outcomes := make([]UsageOutcome, len(events))
	if len(events) == 0 {
		return outcomes, nil
	}
	shard := usageShard(events[0].ID, s.shards.shardCount(orgID))
	for start := 0; start < len(events); start += maxEventsPerTransaction {
		end := min(start+maxEventsPerTransaction, len(events))
		if err := s.recordChunk(ctx, orgID, shard, now, events[start:end], outcomes[start:end]); err != nil {
			return outcomes, fmt.Errorf("record usage %s: %w", orgID, err)
		}
	}
	return outcomes, nil
}

// maxRecordAttempts bounds how often one chunk is re-sent after its
// conditions failed (duplicates found, events over the limit dropped); each
// attempt settles at least one event unless the counters moved meanwhile.
const maxRecordAttempts = 2 * MaxTransactActions

func (s *Store) recordChunk(ctx context.Context, orgID string, shard int, now time.Time, events []billing.UsageEvent, outcomes []UsageOutcome) error {
	day := billing.Day(now)
	token := newToken()
	late := false
	pending := make([]int, len(events))
	for i := range events {
		pending[i] = i
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == maxRecordAttempts {
			return fmt.Errorf("usage counters kept changing: %d events not recorded after %d attempts", len(pending), attempt)
		}
		items := make([]types.TransactWriteItem, 0, len(pending)+1)
		var sum money.Money
		for _, i := range pending {
			put, err := s.putNew(newEventRecord(events[i], day, token, now))
			if err != nil {
				return err
			}
			items = append(items, types.TransactWriteItem{Put: put})
			if sum, err = sum.Add(events[i].Amount); err != nil {
				return fmt.Errorf("sum of usage: %w", err)
			}
		}
		counted, err := s.countUsage(orgID, shard, day, sum, late, now)
		if err != nil {
			return err
		}
		items = append(items, counted...)

		err = s.transact(ctx, items)
		if err == nil && late {
			// The closed day's usage changed: so does the RECENT item's
			// copy. Best effort: the usage is recorded, and the next
			// daily close rewrites RECENT anyway.
			_ = s.refreshRecent(ctx, orgID, now)
		}
		if err == nil {
			setAll(outcomes, pending, UsageAccepted)
			return nil
		}
		reasons := cancelReasons(err)
		var dups []int
		for n, i := range pending {
			if conditionFailed(reasons, n) {
				dups = append(dups, i)
			}
		}
		if len(dups) > 0 {
			// Read every pending event's record at once: a cancellation
			// need not name every failed condition (the embedded server
			// names one), and a retried batch is often all duplicates. A
			// record of ours means this very transaction was applied and
			// its answer lost: every event in it counted.
			recorded, ours, err := s.recordsOf(ctx, events, pending, token)
			if err != nil {
				return err
			}
			if ours {
				setAll(outcomes, pending, UsageAccepted)
				return nil
			}
			if len(recorded) == 0 {
				recorded = dups // gone since (expired): the condition said so
			}
			setAll(outcomes, recorded, UsageDuplicate)
			pending = without(pending, recorded)
			continue
		}
		if !conditionFailed(reasons, len(pending)) {
			return err
		}
		// The shard is missing, its slot holds an older day, or the sum
		// does not fit: read the shard and keep the events that fit, in
		// order.
		why, c, err := s.whyRefused(ctx, orgID, shard, day, late)
		switch {
		case err != nil:
			return err
		case why == refusedUnknownOrg:
			setAll(outcomes, pending, UsageUnknownOrg)
			return nil
		case why == refusedSlotClosed:
			continue
		case why == refusedLate:
			late = true
			continue
		}
		period, today := c.UsagePeriod, money.Money(0)
		if held, used := c.slot(slotOf(now)); held == day {
			today = used
		}
		var over []int
		for _, i := range pending {
			p, perr := period.Add(events[i].Amount)
			t, terr := today.Add(events[i].Amount)
			if perr != nil || terr != nil || p > billing.MaxUsageCounter || t > billing.MaxUsageCounter {
				over = append(over, i)
				continue
			}
			period, today = p, t
		}
		setAll(outcomes, over, UsageOverLimit)
		pending = without(pending, over)
	}
	return nil
}

// recordsOf reads, in one BatchGetItem, the idempotency records of the
// events idx of events, and returns the indexes that have one, in the
// order of idx, and whether any carries token (was written by this very
// recording).
func (s *Store) recordsOf(ctx context.Context, events []billing.UsageEvent, idx []int, token string) (recorded []int, ours bool, err error) {
	keys := make([]map[string]types.AttributeValue, len(idx))
	for n, i := range idx {
		keys[n] = key(eventPK(events[i].OrgID, events[i].ID), skEvent)
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, false, err
	}
	found := map[string]bool{}
	for _, it := range items {
		var rec eventRecord
		if err := attributevalue.UnmarshalMap(it, &rec); err != nil {
			return nil, false, err
		}
		found[rec.PK] = true
		ours = ours || rec.Token == token
	}
	for _, i := range idx {
		if found[eventPK(events[i].OrgID, events[i].ID)] {
			recorded = append(recorded, i)
		}
	}
	return recorded, ours, nil
}

func setAll(outcomes []UsageOutcome, idx []int, o UsageOutcome) {
	for _, i := range idx {
		outcomes[i] = o
	}
}

func without(all, drop []int) []int {
	out := all[:0:0]
	d := 0
	for _, i := range all {
		if d < len(drop) && drop[d] == i {
			d++
			continue
		}
		out = append(out, i)
	}
	return out
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Notification kinds, flagged once per organisation and UTC day.
const (
	NotifyEmailThreshold = "email_threshold"
	NotifyBudget         = "budget"
)

// NotifyRecharge is the flag of a low-balance crossing: once per level of
// Total Credits (a top-up or recharge opens a new one) and UTC day.
func NotifyRecharge(totalCredits money.Money) string {
	return "recharge_" + strconv.FormatInt(int64(totalCredits), 10)
}

// Flag states: "pending@<unix seconds>" once claimed, FlagSent once the
// event is published.
const (
	flagPending = "pending@"
	FlagSent    = "sent"
)

// PendingSince returns when a pending flag state was claimed; the zero
// time for any other state.
func PendingSince(state string) time.Time {
	sec, ok := strings.CutPrefix(state, flagPending)
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// flagsRecord holds a day's notification flags of an organisation, on its
// own partition: NOTIFY#<org>, DAY#<day>. Attributes are kind → state.
func flagsKey(orgID, day string) map[string]types.AttributeValue {
	return key("NOTIFY#"+orgID, daySK(day))
}

// UsageState returns the account, with today's usage, and today's
// notification flags (kind → state), in one BatchGetItem: strongly
// consistent for an organisation with one counter shard; eventually
// consistent for one with more, whose every usage request reads every
// shard, so that reads do not cap it below what its shards can write (it
// may miss usage of about the last second; GET /v1/allowance reads
// strongly consistent).
func (s *Store) UsageState(ctx context.Context, orgID string, now time.Time) (billing.Account, map[string]string, error) {
	r, err := s.readAccountItems(ctx, orgID, s.shards.shardCount(orgID) == 1, flagsKey(orgID, billing.Day(now)))
	if err != nil {
		return billing.Account{}, nil, fmt.Errorf("read usage state %s: %w", orgID, err)
	}
	flags := map[string]string{}
	if it := r.item(flagsKey(orgID, billing.Day(now))); it != nil {
		addFlags(flags, it)
	}
	acct, err := accountFrom(orgID, r, now)
	return acct, flags, err
}

// DayState returns the account with the usage of the UTC day of day as
// today's, whether the day is still open in the counter shards or closed
// into its DAY# item (or, with late usage, both), and the day's
// notification flags, in one strongly consistent BatchGetItem: what the
// daily reset needs to finish a day, however late it runs.
func (s *Store) DayState(ctx context.Context, orgID string, day time.Time) (billing.Account, map[string]string, error) {
	closedKey := key(orgPK(orgID), daySK(billing.Day(day)))
	r, err := s.readAccountItems(ctx, orgID, true, flagsKey(orgID, billing.Day(day)), closedKey)
	if err != nil {
		return billing.Account{}, nil, fmt.Errorf("read day %s: %w", orgID, err)
	}
	acct, err := accountFrom(orgID, r, day)
	if err != nil {
		return billing.Account{}, nil, err
	}
	if it := r.item(closedKey); it != nil {
		var closed dayRecord
		if err := attributevalue.UnmarshalMap(it, &closed); err != nil {
			return billing.Account{}, nil, fmt.Errorf("read day %s: %w", orgID, err)
		}
		if acct.UsedToday, err = acct.UsedToday.Add(closed.Used); err != nil {
			return billing.Account{}, nil, fmt.Errorf("read day %s: %w", orgID, err)
		}
	}
	flags := map[string]string{}
	if it := r.item(flagsKey(orgID, billing.Day(day))); it != nil {
		addFlags(flags, it)
	}
	return acct, flags, nil
}

func addFlags(flags map[string]string, item map[string]types.AttributeValue) {
	for name, v := range item {
		if sv, ok := v.(*types.AttributeValueMemberS); ok && name != AttrPK && name != AttrSK {
			flags[name] = sv.Value
		}
	}
}

// ClaimFlag marks the notification kind of the UTC day of now as pending,
// and reports whether this call did so: exactly one caller wins per day.
func (s *Store) ClaimFlag(ctx context.Context, orgID string, now time.Time, kind string) (bool, error) {
	return s.setFlag(ctx, orgID, now, kind, flagPending+strconv.FormatInt(now.Unix(), 10), expression.AttributeNotExists(expression.Name(kind)))
}

// MarkFlagSent records that the event of a claimed flag was published.
func (s *Store) MarkFlagSent(ctx context.Context, orgID string, now time.Time, kind string) error {
	_, err := s.setFlag(ctx, orgID, now, kind, FlagSent, expression.AttributeExists(expression.Name(kind)))
	return err
}

func (s *Store) setFlag(ctx context.Context, orgID string, now time.Time, kind, state string, cond expression.ConditionBuilder) (bool, error) {
	expires := billing.NextMidnight(now).Add(48 * time.Hour).Unix()
	e, err := expression.NewBuilder().WithUpdate(expression.
		Set(expression.Name(kind), expression.Value(state)).
		Set(expression.Name(AttrTTL), expression.Value(expires))).WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("flag %s %s: %w", orgID, kind, err)
	}
	err = s.updateItem(ctx, s.update(flagsKey(orgID, billing.Day(now)), e, true))
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("flag %s %s: %w", orgID, kind, err)
	}
	return true, nil
}

// DeleteFlags removes the notification flags of the UTC day of day. Flags
// are keyed by day, so this is housekeeping: a new day starts unflagged
// whether or not it runs.
func (s *Store) DeleteFlags(ctx context.Context, orgID string, day time.Time) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: flagsKey(orgID, billing.Day(day))})
	if err != nil {
		return fmt.Errorf("delete flags %s: %w", orgID, err)
	}
	return nil
}
