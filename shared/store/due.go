package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Due work: how the scheduled jobs find the organisations that have work,
// without walking every organisation.
//
//   - Usage on a UTC day (the daily reset) and in a calendar month (the
//     cycle close): the write that counts usage also sets due_day<p> to
//     "<yyyy-mm-dd>#<shard>" and due_month<p> to "<yyyy-mm>#<shard>" on
//     the counter shard it writes (markActive), where p is the parity of the day (of
//     the month). Each attribute is the key of a sparse, keys-only GSI,
//     which DynamoDB writes only when the value changes: once per
//     organisation and day (and month), however much usage it records.
//     Two attributes per period, by parity, because the organisation's
//     first usage of a new day must not overwrite yesterday's mark before
//     the reset at midnight has read it: yesterday's mark stays until the
//     day after tomorrow.
//   - Auto-recharge on (the recharge sweep): a due item
//     DUE#recharge#<shard> / ORG#<org>, put when auto-recharge is turned
//     on and dropped by the sweep when it finds it off.
//
// The GSI key and the due partition carry one of DueShards shards (a hash
// of the organisation's id), so that the first usage of the day of many
// organisations at midnight spreads over that many index partitions.

// DueShards is how many partitions each kind of due work is spread over.
const DueShards = 16

// The GSIs of due work (see TableInput).
const (
	IndexDueDay0   = "DueDay0"
	IndexDueDay1   = "DueDay1"
	IndexDueMonth0 = "DueMonth0"
	IndexDueMonth1 = "DueMonth1"
)

// dueIndexes maps each due GSI to its key attribute.
var dueIndexes = map[string]string{
	IndexDueDay0: "due_day0", IndexDueDay1: "due_day1",
	IndexDueMonth0: "due_month0", IndexDueMonth1: "due_month1",
}

const pkDueRecharge = "DUE#recharge#"

// dueShard is the shard of orgID's due work.
func dueShard(orgID string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(orgID))
	return int(h.Sum32() % DueShards)
}

func dueValue(period string, shard int) string { return fmt.Sprintf("%s#%02d", period, shard) }

// dayIndex is the due GSI of the UTC day day (yyyy-mm-dd) by its parity.
func dayIndex(day time.Time) string {
	y, m, d := day.UTC().Date()
	if time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()/86400%2 == 0 {
		return IndexDueDay0
	}
	return IndexDueDay1
}

// monthIndex is the due GSI of the month of t by its parity.
func monthIndex(t time.Time) string {
	y, m, _ := t.UTC().Date()
	if (y*12+int(m))%2 == 0 {
		return IndexDueMonth0
	}
	return IndexDueMonth1
}

// monthEndMargin is how close to the end of a month a usage write also
// marks the next month: a write whose clock read the month's last minutes
// may land after the month's close ran (a usage request lasts at most its
// function's 10 s timeout), and then the next close must cut it.
const monthEndMargin = 5 * time.Minute

// markActive adds to upd the due marks of orgID's usage: of the UTC day
// day (yyyy-mm-dd) unless day is "" (usage of a day already closed, which
// the reset must not look for again), and of the calendar months whose
// close may cut it: the month of usedIn (the usage's), the month of
// writtenAt (the write's clock), and the next one when writtenAt is in its
// month's last monthEndMargin. Two months of one parity share an
// attribute: the later one keeps it. Every update that counts usage must
// carry it, so that the daily reset and the cycle close find the
// organisation.
func markActive(upd expression.UpdateBuilder, orgID, day string, usedIn, writtenAt time.Time) expression.UpdateBuilder {
	shard := dueShard(orgID)
	if t, err := time.Parse(time.DateOnly, day); err == nil {
		upd = upd.Set(expression.Name(dueIndexes[dayIndex(t)]), expression.Value(dueValue(day, shard)))
	}
	months := []time.Time{billing.PeriodStart(usedIn), billing.PeriodStart(writtenAt)}
	if next := billing.PeriodStart(writtenAt).AddDate(0, 1, 0); next.Sub(writtenAt) <= monthEndMargin {
		months = append(months, next)
	}
	latest := map[string]time.Time{} // by index
	for _, m := range months {
		if cur, ok := latest[monthIndex(m)]; !ok || m.After(cur) {
			latest[monthIndex(m)] = m
		}
	}
	for _, index := range []string{IndexDueMonth0, IndexDueMonth1} {
		if m, ok := latest[index]; ok {
			upd = upd.Set(expression.Name(dueIndexes[index]), expression.Value(dueValue(m.Format("2006-01"), shard)))
		}
	}
	return upd
}

// markNew gives a new counter shard its due attributes, with a period no
// job asks for ("new"). DynamoDB does not need it (it costs each index
// one write per organisation, once); the embedded server (minidyn v0.8.2)
// does: its UpdateItem loses another entry of an index when it adds an
// item that was not in that index yet (core/index.go, updateData), while a
// put adds it correctly and an update that changes the key moves it.
func markNew(item map[string]types.AttributeValue, orgID string) {
	for _, attr := range dueIndexes {
		item[attr] = &types.AttributeValueMemberS{Value: dueValue("new", dueShard(orgID))}
	}
}

// Due is one kind of due work: where DueOrgs finds it.
type Due struct {
	index, value string // a due GSI and the period its key names
	pk           string // or a due partition
}

// DueUsageOn is the organisations with usage on the UTC day of day.
func DueUsageOn(day time.Time) Due {
	return Due{index: dayIndex(day), value: billing.Day(day)}
}

// DueUsageIn is the organisations with usage in the calendar month (UTC)
// of t.
func DueUsageIn(t time.Time) Due {
	return Due{index: monthIndex(t), value: t.UTC().Format("2006-01")}
}

// DueRecharge is the organisations with auto-recharge on (and some that
// turned it off since: the sweep drops those with DropRechargeDue).
func DueRecharge() Due { return Due{pk: pkDueRecharge} }

// DueOrgs calls fn with the ids of the organisations that have work of
// kind d, one page of one shard at a time, in no particular order; it
// stops at fn's first error and returns it. Index reads are eventually
// consistent (a mark written in the last second may be missing).
func (s *Store) DueOrgs(ctx context.Context, d Due, fn func(orgIDs []string) error) error {
	for shard := range DueShards {
		in, err := s.dueQuery(d, shard)
		if err != nil {
			return fmt.Errorf("due orgs: %w", err)
		}
		p := dynamodb.NewQueryPaginator(s.db, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("due orgs: %w", err)
			}
			ids := make([]string, 0, len(out.Items))
			seen := make(map[string]bool, len(out.Items))
			for _, item := range out.Items {
				// An organisation with more than one counter shard may
				// be listed once per shard it wrote: once a page.
				if id := dueOrg(d, item); id != "" && !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
			if len(ids) > 0 {
				if err := fn(ids); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *Store) dueQuery(d Due, shard int) (*dynamodb.QueryInput, error) {
	if d.index == "" {
		in, err := s.query(d.pk+fmt.Sprintf("%02d", shard), nil, false)
		if err != nil {
			return nil, err
		}
		in.ProjectionExpression = aws.String(AttrSK)
		return in, nil
	}
	e, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(dueIndexes[d.index]).Equal(expression.Value(dueValue(d.value, shard)))).Build()
	if err != nil {
		return nil, err
	}
	return &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(d.index),
		KeyConditionExpression: e.KeyCondition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}, nil
}

// dueOrg is the organisation of one due item or index entry (a counter
// shard's keys).
func dueOrg(d Due, item map[string]types.AttributeValue) string {
	if d.index == "" {
		v, _ := item[AttrSK].(*types.AttributeValueMemberS)
		if v == nil {
			return ""
		}
		id, _ := strings.CutPrefix(v.Value, "ORG#")
		return id
	}
	if skOf(item) != skCounters {
		return ""
	}
	pk, _ := item[AttrPK].(*types.AttributeValueMemberS)
	if pk == nil {
		return ""
	}
	id, _, _ := counterOrg(pk.Value)
	return id
}

// dueItem is a due item of a partition of due work.
type dueItem struct {
	PK string `dynamodbav:"PK"` // DUE#<kind>#<shard>
	SK string `dynamodbav:"SK"` // ORG#<org>
}

// AddRechargeDue lists orgID for the recharge sweep; idempotent.
func (s *Store) AddRechargeDue(ctx context.Context, orgID string) error {
	rec := dueItem{PK: pkDueRecharge + fmt.Sprintf("%02d", dueShard(orgID)), SK: orgPK(orgID)}
	if err := s.Items().Put(ctx, rec, false); err != nil {
		return fmt.Errorf("recharge due %s: %w", orgID, err)
	}
	return nil
}

// DropRechargeDue takes orgID off the recharge sweep's list, unless
// auto-recharge is on (turned on again since the sweep looked): one
// transaction checks it is off (or the organisation gone) and deletes the
// item. It is idempotent, and does nothing while auto-recharge is on.
func (s *Store) DropRechargeDue(ctx context.Context, orgID string) error {
	on := expression.Name("recharge_enabled")
	e, err := expression.NewBuilder().WithCondition(
		expression.AttributeNotExists(on).Or(on.NotEqual(expression.Value(true)))).Build()
	if err != nil {
		return fmt.Errorf("recharge due %s: %w", orgID, err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(s.table), Key: key(orgPK(orgID), skAccount), ConditionExpression: e.Condition(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		}},
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(pkDueRecharge+fmt.Sprintf("%02d", dueShard(orgID)), orgPK(orgID))}},
	})
	if conditionFailed(cancelReasons(err), 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("recharge due %s: %w", orgID, err)
	}
	return nil
}
