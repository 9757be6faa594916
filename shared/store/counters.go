package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Usage counters: the only items the hot path (recording usage) writes.
//
// An organisation's usage counters live in N counter shards, COUNTERS
// items on partitions of their own (CTR#<org>#<shard>), apart from the
// ACCOUNT item with its ledger and settings, which the hot path only
// reads. N is 1 unless an operator raises it (SetCounterShards, `ops
// set-shards`), up to MaxCounterShards; the ACCOUNT item's shards
// attribute holds it.
//
// Each shard holds its part of Usage This Period and two day slots, by the
// parity of the UTC day (d0/u0, d1/u1: the day and its usage), so that
// today's writes never touch yesterday's slot, which the daily reset
// closes after midnight into the DAY# item. A write for a day whose slot
// still holds the day before yesterday (the reset did not run) closes that
// day first, itself. A shard's size is therefore bounded, about 200 bytes at
// the longest organisation id, whatever the reset does: one write unit
// (two in a transaction) per write.
//
// A usage write goes to one shard, chosen from its first event's id, so a
// retry of the same request picks the same shard. Readers read the
// ACCOUNT item and every shard in one BatchGetItem and add the shards up
// with checked arithmetic. Each shard's counters are bounded by
// billing.MaxUsageCounter in DynamoDB, so their sum is at most
// MaxCounterShards times that (1.6 × 10^16 micro-dollars, far inside
// Money's range).

// MaxCounterShards is the most counter shards an organisation may have.
const MaxCounterShards = 16

const (
	skCounters   = "COUNTERS"
	attrShards   = "shards"
	attrPeriod   = "usage_period"
	prefixCtrKey = "CTR#"
)

// counterPK is the partition of orgID's counter shard.
func counterPK(orgID string, shard int) string {
	return fmt.Sprintf("%s%s#%02d", prefixCtrKey, orgID, shard)
}

// CounterKey is the key of orgID's counter shard, for operator tools and
// tests that read or set counters directly.
func CounterKey(orgID string, shard int) map[string]types.AttributeValue {
	return key(counterPK(orgID, shard), skCounters)
}

// counterOrg is the organisation and shard of a counter shard's partition
// key; ok false for any other key.
func counterOrg(pk string) (orgID string, shard int, ok bool) {
	rest, found := strings.CutPrefix(pk, prefixCtrKey)
	i := strings.LastIndexByte(rest, '#')
	if !found || i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(rest[i+1:])
	if err != nil {
		return "", 0, false
	}
	return rest[:i], n, true
}

// SlotAttrs names the attributes of the day slot that holds day's usage:
// the day (yyyy-mm-dd) and its usage.
func SlotAttrs(day time.Time) (dayAttr, usedAttr string) {
	p := strconv.Itoa(slotOf(day))
	return "d" + p, "u" + p
}

func slotOf(day time.Time) int {
	y, m, d := day.UTC().Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400 % 2)
}

// counterRecord is a COUNTERS item: one shard of the usage counters.
type counterRecord struct {
	PK          string      `dynamodbav:"PK"`
	SK          string      `dynamodbav:"SK"`
	UsagePeriod money.Money `dynamodbav:"usage_period"`
	Day0        string      `dynamodbav:"d0"`
	Used0       money.Money `dynamodbav:"u0"`
	Day1        string      `dynamodbav:"d1"`
	Used1       money.Money `dynamodbav:"u1"`
}

// slot returns the day and usage of slot p.
func (r counterRecord) slot(p int) (string, money.Money) {
	if p == 0 {
		return r.Day0, r.Used0
	}
	return r.Day1, r.Used1
}

// newCounterItem is a new, empty shard, with the due marks a new item
// needs (markNew).
func newCounterItem(orgID string, shard int) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(counterRecord{PK: counterPK(orgID, shard), SK: skCounters})
	if err != nil {
		return nil, err
	}
	markNew(item, orgID)
	return item, nil
}

// shardCache remembers how many counter shards each organisation has, as
// last read, so that a read asks for all of them at once. Shards only
// grow, so a stale count is too small, never too large: the read that
// finds more on the ACCOUNT item reads the rest and corrects it.
type shardCache struct {
	mu sync.Mutex
	n  map[string]int
}

// maxCachedOrgs bounds the cache; beyond it, it starts again (at worst a
// read of a sharded organisation takes a second request).
const maxCachedOrgs = 100_000

// get returns the count last read for orgID, and whether there was one
// (1 when not).
func (c *shardCache) get(orgID string) (n int, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.n[orgID]; n > 0 {
		return n, true
	}
	return 1, false
}

// shardCount is the count of orgID's shards as last read (1 before any).
func (c *shardCache) shardCount(orgID string) int {
	n, _ := c.get(orgID)
	return n
}

// set records that orgID has n shards, unless a larger count was read
// before: shards only grow, and an eventually consistent read may return
// an older count.
func (c *shardCache) set(orgID string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil || len(c.n) >= maxCachedOrgs {
		c.n = map[string]int{}
	}
	c.n[orgID] = max(c.n[orgID], n)
}

// ReadEveryShardFirst makes the store's first read of an organisation ask
// for every possible counter shard (MaxCounterShards), not only the
// first, so that no read takes a second request to fetch the shards of a
// sharded organisation. For functions that serve few organisations each,
// the pages: a missing item costs a read unit, once per organisation and
// process. The usage API and the jobs, which read many organisations
// once each, keep the default (at most one more request, once per
// organisation with more than one shard).
func (s *Store) ReadEveryShardFirst() { s.everyShardFirst = true }

// usageShard is the shard a usage write of orgID, identified by id (its
// first event's), goes to among n.
func usageShard(id string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// accountRead is the ACCOUNT item and the counter shards of an
// organisation, and any other items read with them.
type accountRead struct {
	account  map[string]types.AttributeValue
	counters []counterRecord
	// other holds the other items read, by keyString of their key.
	other map[string]map[string]types.AttributeValue
}

// item is the other item of key k read, nil when it does not exist.
func (r accountRead) item(k map[string]types.AttributeValue) map[string]types.AttributeValue {
	return r.other[keyString(k)]
}

// readAccountItems reads the organisation's ACCOUNT item, its counter
// shards and the items extra (of any partition, at most 80) in one
// BatchGetItem; a second one only when the organisation has more shards
// than this process knew (see ReadEveryShardFirst). account is nil for an
// unknown organisation.
func (s *Store) readAccountItems(ctx context.Context, orgID string, consistent bool, extra ...map[string]types.AttributeValue) (accountRead, error) {
	n, known := s.shards.get(orgID)
	if !known && s.everyShardFirst {
		n = MaxCounterShards // the missing ones are simply not found
	}
	keys := append([]map[string]types.AttributeValue{key(orgPK(orgID), skAccount)}, counterKeys(orgID, 0, n)...)
	items, err := s.batchGetWith(ctx, append(keys, extra...), consistent)
	if err != nil {
		return accountRead{}, err
	}
	r := accountRead{other: map[string]map[string]types.AttributeValue{}}
	if err := r.add(items); err != nil {
		return accountRead{}, err
	}
	if r.account == nil {
		return r, nil
	}
	m, err := shardsOf(r.account)
	if err != nil {
		return accountRead{}, err
	}
	if m > n {
		more, err := s.batchGetWith(ctx, counterKeys(orgID, n, m), consistent)
		if err != nil {
			return accountRead{}, err
		}
		if err := r.add(more); err != nil {
			return accountRead{}, err
		}
	}
	s.shards.set(orgID, m)
	return r, nil
}

func counterKeys(orgID string, from, to int) []map[string]types.AttributeValue {
	keys := make([]map[string]types.AttributeValue, 0, to-from)
	for i := from; i < to; i++ {
		keys = append(keys, CounterKey(orgID, i))
	}
	return keys
}

func (r *accountRead) add(items []map[string]types.AttributeValue) error {
	for _, it := range items {
		switch sk := skOf(it); sk {
		case skAccount:
			r.account = it
		case skCounters:
			var c counterRecord
			if err := attributevalue.UnmarshalMap(it, &c); err != nil {
				return fmt.Errorf("counters: %w", err)
			}
			r.counters = append(r.counters, c)
		default:
			r.other[keyString(it)] = it
		}
	}
	return nil
}

// shardsOf is the number of counter shards an ACCOUNT item records.
func shardsOf(account map[string]types.AttributeValue) (int, error) {
	v, ok := account[attrShards]
	if !ok {
		return 1, nil
	}
	var n int
	if err := attributevalue.Unmarshal(v, &n); err != nil || n < 1 || n > MaxCounterShards {
		return 0, fmt.Errorf("account shards %v: not 1–%d", v, MaxCounterShards)
	}
	return n, nil
}

// period is Usage This Period: the sum of the shards'.
func (r accountRead) period() (money.Money, error) {
	var sum money.Money
	for _, c := range r.counters {
		var err error
		if sum, err = sum.Add(c.UsagePeriod); err != nil {
			return 0, fmt.Errorf("usage this period: %w", err)
		}
	}
	return sum, nil
}

// openDays is the usage of each day still in a slot (not closed yet),
// summed over the shards.
func (r accountRead) openDays() (map[string]money.Money, error) {
	days := map[string]money.Money{}
	for _, c := range r.counters {
		for p := range 2 {
			day, used := c.slot(p)
			if day == "" {
				continue
			}
			sum, err := days[day].Add(used)
			if err != nil {
				return nil, fmt.Errorf("usage of %s: %w", day, err)
			}
			days[day] = sum
		}
	}
	return days, nil
}

// addDays adds the days of more into days, with checked arithmetic: a day
// the reset closed can still be in a slot when its usage arrived late.
func addDays(days, more map[string]money.Money) error {
	for d, u := range more {
		sum, err := days[d].Add(u)
		if err != nil {
			return fmt.Errorf("usage of %s: %w", d, err)
		}
		days[d] = sum
	}
	return nil
}

// countUsage is the actions that count sum of usage on day (yyyy-mm-dd) on
// orgID's shard, written at now: Usage This Period and the day's slot grow
// together, and the shard carries the due marks (markActive) of the day
// and of the months of day and now, whichever close comes first cuts it. The shard's condition fails when it is missing (an unknown
// organisation), when the slot holds another day, or when a counter would
// pass billing.MaxUsageCounter.
//
// With late, the day is older than the one its slot holds (closed, or
// never used): the day's usage goes straight to its DAY# item instead (and
// RECENT's revision moves, recentChanged): two more actions; and the day
// is not marked for a reset again (its slot's mark is the newer day's).
func (s *Store) countUsage(orgID string, shard int, day string, sum money.Money, late bool, now time.Time) ([]types.TransactWriteItem, error) {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, fmt.Errorf("usage day %q: %w", day, err)
	}
	room, err := billing.MaxUsageCounter.Sub(sum)
	if err != nil || room < 0 {
		return nil, fmt.Errorf("usage of %v does not fit any counter", sum)
	}
	dayAttr, usedAttr := SlotAttrs(t)
	fits := func(attr string, room money.Money) expression.ConditionBuilder {
		name := expression.Name(attr)
		return expression.AttributeNotExists(name).Or(name.LessThanEqual(expression.Value(room)))
	}
	cond := expression.AttributeExists(expression.Name(AttrPK)).And(fits(attrPeriod, room))
	marked := day
	if late {
		marked = ""
	}
	upd := markActive(expression.Add(expression.Name(attrPeriod), expression.Value(sum)), orgID, marked, t, now)
	if !late {
		cond = cond.And(fits(usedAttr, room), expression.AttributeNotExists(expression.Name(dayAttr)).
			Or(expression.Name(dayAttr).Equal(expression.Value(day))).
			Or(expression.Name(dayAttr).Equal(expression.Value(""))))
		upd = upd.Add(expression.Name(usedAttr), expression.Value(sum)).Set(expression.Name(dayAttr), expression.Value(day))
	}
	e, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{{Update: s.update(CounterKey(orgID, shard), e, true)}}
	if late {
		u, err := s.addToDay(orgID, day, sum)
		if err != nil {
			return nil, err
		}
		changed, err := s.recentChanged(orgID)
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Update: u}, changed)
	}
	return items, nil
}

// maxDayUsage bounds a DAY# item: the sum of every shard's slot.
const maxDayUsage = MaxCounterShards * billing.MaxUsageCounter

// addToDay is the Update that adds sum to the DAY# item of day, creating
// it if needed, conditioned on it staying at most maxDayUsage.
func (s *Store) addToDay(orgID, day string, sum money.Money) (*types.Update, error) {
	room, err := money.Money(maxDayUsage).Sub(sum)
	if err != nil {
		return nil, err
	}
	used := expression.Name("used")
	e, err := expression.NewBuilder().WithUpdate(expression.Add(used, expression.Value(sum)).
		Set(expression.Name("org_id"), expression.Value(orgID)).Set(expression.Name("day"), expression.Value(day))).
		WithCondition(expression.AttributeNotExists(used).Or(used.LessThanEqual(expression.Value(room)))).Build()
	if err != nil {
		return nil, err
	}
	return s.update(key(orgPK(orgID), daySK(day)), e, true), nil
}

// refusal is why a shard refused the update of countUsage.
type refusal int

const (
	refusedUnknownOrg refusal = iota // the shard does not exist
	refusedSlotClosed                // an older day held the slot; it is closed now: write again
	refusedLate                      // a newer day holds the slot: write again, late
	refusedOverLimit                 // a counter would pass the maximum
)

// whyRefused reads the shard that refused countUsage for day and says
// why; when an older, unclosed day held the slot, it closes that day
// first. It also returns the shard as read, for fitting what still fits.
//
// A late write (late) has no slot to refuse it: only a missing shard or a
// Usage This Period that would pass the maximum.
func (s *Store) whyRefused(ctx context.Context, orgID string, shard int, day string, late bool) (refusal, counterRecord, error) {
	var c counterRecord
	err := s.Items().Get(ctx, counterPK(orgID, shard), skCounters, &c)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return refusedUnknownOrg, c, nil
	}
	if err != nil {
		return 0, c, err
	}
	t, _ := time.Parse(time.DateOnly, day)
	held, _ := c.slot(slotOf(t))
	switch {
	case late || held == "" || held == day:
		return refusedOverLimit, c, nil
	case held > day:
		return refusedLate, c, nil
	}
	if err := s.closeDay(ctx, orgID, held); err != nil {
		return 0, c, err
	}
	if err := s.refreshRecent(ctx, orgID, s.now()); err != nil {
		return 0, c, err
	}
	return refusedSlotClosed, c, nil
}

// closeDay moves the usage of day out of the slots of every shard into the
// day's DAY# item, in one transaction that checks each slot still holds
// what was read. It is safe to repeat and to run concurrently: a slot
// already emptied is not added twice. A DAY# item that exists (usage of
// the day arrived after it closed) gets the late usage added.
func (s *Store) closeDay(ctx context.Context, orgID, day string) error {
	for attempt := 0; ; attempt++ {
		r, err := s.readAccountItems(ctx, orgID, true)
		if err != nil {
			return fmt.Errorf("close day %s/%s: %w", orgID, day, err)
		}
		err = s.closeDayFrom(ctx, orgID, day, r)
		if !errors.Is(err, errDayRaced) || attempt == 5 {
			return err
		}
		if err := sleep(ctx, rand.N(conflictBackoffCap)); err != nil {
			return err
		}
	}
}

// errDayRaced is closeDayFrom's answer when a slot changed after it was
// read (usage still arriving for the day, or a concurrent close).
var errDayRaced = errors.New("the day's usage changed while it closed")

func (s *Store) closeDayFrom(ctx context.Context, orgID, day string, r accountRead) error {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return fmt.Errorf("close day %q: %w", day, err)
	}
	dayAttr, usedAttr := SlotAttrs(t)
	var sum money.Money
	var items []types.TransactWriteItem
	for _, c := range r.counters {
		held, used := c.slot(slotOf(t))
		if held != day {
			continue
		}
		if sum, err = sum.Add(used); err != nil {
			return fmt.Errorf("close day %s/%s: %w", orgID, day, err)
		}
		e, err := expression.NewBuilder().
			WithUpdate(expression.Set(expression.Name(dayAttr), expression.Value("")).Set(expression.Name(usedAttr), expression.Value(money.Money(0)))).
			WithCondition(expression.Name(dayAttr).Equal(expression.Value(day)).And(expression.Name(usedAttr).Equal(expression.Value(used)))).Build()
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Update: s.update(key(c.PK, c.SK), e, true)})
	}
	if len(items) == 0 {
		return nil
	}
	toDay, err := s.addToDay(orgID, day, sum)
	if err != nil {
		return fmt.Errorf("close day %s/%s: %w", orgID, day, err)
	}
	changed, err := s.recentChanged(orgID)
	if err != nil {
		return fmt.Errorf("close day %s/%s: %w", orgID, day, err)
	}
	items = append(items, types.TransactWriteItem{Update: toDay}, changed)
	err = s.transact(ctx, items)
	reasons := cancelReasons(err)
	for i := range len(items) - 2 {
		if conditionFailed(reasons, i) {
			return errDayRaced
		}
	}
	if err != nil {
		return fmt.Errorf("close day %s/%s: %w", orgID, day, err)
	}
	return nil
}

// SetCounterShards gives the organisation n counter shards (1 to
// MaxCounterShards): the new shards and the count on the ACCOUNT item in
// one transaction. Shards are only added: a usage writer that learned
// the old count may write any shard it knew long after, so dropping one
// could lose its counts. It returns the count before, EINVALID for n out
// of range or below the count, and ENOTFOUND for an unknown organisation.
func (s *Store) SetCounterShards(ctx context.Context, orgID string, n int) (int, error) {
	if n < 1 || n > MaxCounterShards {
		return 0, billing.FieldError("shards", "Counter shards must be 1 to %d.", MaxCounterShards)
	}
	var acct map[string]types.AttributeValue
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(orgPK(orgID), skAccount), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, fmt.Errorf("set shards %s: %w", orgID, err)
	}
	if acct = out.Item; acct == nil {
		return 0, billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	}
	old, err := shardsOf(acct)
	if err != nil {
		return 0, fmt.Errorf("set shards %s: %w", orgID, err)
	}
	s.shards.set(orgID, old)
	switch {
	case n == old:
		return old, nil
	case n < old:
		return old, billing.FieldError("shards", "%s has %d counter shards; shards can only be added, because a usage writer may still write any shard it knows.", orgID, old)
	}
	was := expression.Name(attrShards).Equal(expression.Value(old))
	if old == 1 {
		was = expression.AttributeNotExists(expression.Name(attrShards)).Or(was)
	}
	e, err := expression.NewBuilder().WithUpdate(expression.Set(expression.Name(attrShards), expression.Value(n))).
		WithCondition(expression.AttributeExists(expression.Name(AttrPK)).And(was)).Build()
	if err != nil {
		return old, err
	}
	items := []types.TransactWriteItem{{Update: s.update(key(orgPK(orgID), skAccount), e, true)}}
	for i := old; i < n; i++ {
		item, err := newCounterItem(orgID, i)
		if err != nil {
			return old, err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(PK)")}})
	}
	if err := s.transact(ctx, items); err != nil {
		if len(cancelReasons(err)) == 0 {
			return old, fmt.Errorf("set shards %s: %w", orgID, err)
		}
		// Changed meanwhile, or changed by this very request whose
		// answer was lost (its retry then fails the conditions).
		now, rerr := s.CounterShards(ctx, orgID)
		if rerr != nil || now != n {
			return old, billing.Errorf(billing.ECONFLICT, "The counter shards of %s changed meanwhile; read them again.", orgID)
		}
	}
	s.shards.set(orgID, n)
	return old, nil
}

// CounterShards returns how many counter shards the organisation has.
func (s *Store) CounterShards(ctx context.Context, orgID string) (int, error) {
	r, err := s.readAccountItems(ctx, orgID, true)
	if err != nil {
		return 0, fmt.Errorf("counter shards %s: %w", orgID, err)
	}
	if r.account == nil {
		return 0, billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	}
	return shardsOf(r.account)
}
