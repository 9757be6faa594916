package store

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// prefixAudit starts the sort key of an audit entry: ORG#<org> AUDIT#<id>,
// where the id (a ULID) sorts by time, so the newest entries are the last
// of the partition's AUDIT# range.
const prefixAudit = "AUDIT#"

// maxAuditValue bounds an old or new value kept in an entry, in bytes.
const maxAuditValue = 300

type auditRecord struct {
	PK      string         `dynamodbav:"PK"` // ORG#<org>
	SK      string         `dynamodbav:"SK"` // AUDIT#<id>
	ID      string         `dynamodbav:"id"`
	Time    time.Time      `dynamodbav:"time"`
	Actor   string         `dynamodbav:"actor"`
	Page    string         `dynamodbav:"page"`
	Changes []changeRecord `dynamodbav:"changes"`
}

type changeRecord struct {
	What string `dynamodbav:"what"`
	Old  string `dynamodbav:"old,omitempty"`
	New  string `dynamodbav:"new,omitempty"`
}

// auditPut returns the Put of a new audit entry of the organisation, for a
// transaction.
func (s *Store) auditPut(orgID string, e billing.AuditEntry) (*types.Put, error) {
	return s.putNew(s.newAuditRecord(orgID, e))
}

// newAuditRecord returns the record of a new audit entry, dated now when e
// has no time.
func (s *Store) newAuditRecord(orgID string, e billing.AuditEntry) auditRecord {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	rec := auditRecord{PK: orgPK(orgID), ID: s.newID("au", e.Time), Time: e.Time.UTC(), Actor: e.Actor, Page: e.Page}
	rec.SK = prefixAudit + rec.ID
	for _, c := range e.Changes {
		rec.Changes = append(rec.Changes, changeRecord{What: c.What, Old: clip(c.Old), New: clip(c.New)})
	}
	return rec
}

// clip cuts v to at most maxAuditValue bytes, on a rune boundary.
func clip(v string) string {
	if len(v) <= maxAuditValue {
		return v
	}
	cut := maxAuditValue
	for cut > 0 && v[cut]&0xC0 == 0x80 {
		cut--
	}
	return v[:cut] + "…"
}

// AddAudit records a change of settings in the organisation's audit trail.
// An entry with no changes is not recorded.
func (s *Store) AddAudit(ctx context.Context, orgID string, e billing.AuditEntry) error {
	if len(e.Changes) == 0 {
		return nil
	}
	if err := s.Items().Put(ctx, s.newAuditRecord(orgID, e), true); err != nil {
		return fmt.Errorf("record audit %s: %w", orgID, err)
	}
	return nil
}

// RecentChanges returns the organisation's last n audit entries, newest
// first, in one Query.
func (s *Store) RecentChanges(ctx context.Context, orgID string, n int) ([]billing.AuditEntry, error) {
	in, err := s.query(orgPK(orgID), beginsWith(prefixAudit), true)
	if err != nil {
		return nil, fmt.Errorf("recent changes %s: %w", orgID, err)
	}
	in.Limit = aws.Int32(int32(n))
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("recent changes %s: %w", orgID, err)
	}
	var recs []auditRecord
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
		return nil, fmt.Errorf("recent changes %s: %w", orgID, err)
	}
	entries := make([]billing.AuditEntry, len(recs))
	for i, r := range recs {
		e := billing.AuditEntry{ID: r.ID, Time: r.Time.UTC(), Actor: r.Actor, Page: r.Page}
		for _, c := range r.Changes {
			e.Changes = append(e.Changes, billing.Change{What: c.What, Old: c.Old, New: c.New})
		}
		entries[i] = e
	}
	return entries, nil
}
