package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Invoice statuses, as Stripe names them. Paid and void are final.
const (
	InvoiceOpen          = "open"
	InvoicePaid          = "paid"
	InvoiceVoid          = "void"
	InvoiceUncollectible = "uncollectible"
)

// Invoice is the invoice of one organisation's billing period: the usage
// cut from Usage This Period, the credit applied to it and the amount due.
// Amounts are micro-dollars; Usage = Applied + Due, and Due is whole cents.
type Invoice struct {
	ID    string // in_…
	OrgID string
	// Period is the start of the billing period (a UTC month) invoiced.
	Period time.Time
	// Created is the invoice date: when the cycle closed.
	Created time.Time
	Usage   money.Money
	// Applied is the credit applied, ≥ 0; its balance transaction
	// (TransactionID) is −Applied.
	Applied money.Money
	Due     money.Money
	// Carried is usage of the period left in Usage This Period for the
	// next invoice (see invoicing.Compute).
	Carried       money.Money
	TransactionID string
	// BillTo is the invoice address when the cycle closed.
	BillTo       billing.Address
	BillingEmail string
	// Issued are the seller and the buyer as they stood at the close
	// (BillTo and BillingEmail are its); not Recorded on invoices closed
	// before parties were recorded.
	Issued Parties

	Status  string
	DueDate time.Time // zero when nothing was due
	// PastDueAt is when the invoice, unpaid, makes its organisation past
	// due: DueDate plus the grace period it was issued with (zero on
	// invoices issued before it was recorded: DueDate plus
	// billing.DefaultPastDueGrace).
	PastDueAt time.Time
	PaidAt    time.Time
	// PaidWith says how it was paid, e.g. "Visa •••• 4242".
	PaidWith string

	// The payment provider's invoice, once opened there.
	ProviderID string
	Collection string // charge_automatically or send_invoice
	HostedURL  string
	PDFURL     string // the provider's own PDF, when it has one
	PaymentID  string
	// LastError says, in words safe to show, why the last charge failed.
	LastError string
	// Refunded is what was refunded of its payment (its refunds are kept
	// beside it: an issued invoice never changes), read with it.
	Refunded money.Money
}

// Unpaid reports whether the invoice still waits for a payment.
func (inv Invoice) Unpaid() bool {
	return inv.Status == InvoiceOpen || inv.Status == InvoiceUncollectible
}

// Seller is the company selling the credits, as a document records it.
type Seller struct {
	Name    string   `dynamodbav:"name"`
	Address []string `dynamodbav:"address,omitempty"` // lines
	Email   string   `dynamodbav:"email"`
	TaxID   string   `dynamodbav:"tax_id"`
}

// Parties are the seller and the buyer of an invoice or a receipt as they
// stood when it was issued. They are copied onto the document then and
// never read again from the live settings (DESIGN.md invariant 11).
type Parties struct {
	Seller       Seller          `dynamodbav:"seller"`
	BillTo       billing.Address `dynamodbav:"bill_to"`
	BillingEmail string          `dynamodbav:"billing_email"`
	// TaxRegistrations are the buyer's, as shown, e.g. "European VAT
	// number DE123456789".
	TaxRegistrations []string `dynamodbav:"tax_registrations,omitempty"`
	// Recorded is set on the parties of a document that recorded them: a
	// document issued before they were recorded has the zero Parties.
	Recorded bool `dynamodbav:"-"`
}

// record is p as a document's record stores it: nil when not Recorded
// (the attribute is then absent).
func (p Parties) record() *Parties {
	if !p.Recorded {
		return nil
	}
	return &p
}

// parties are the parties of a record's attribute; not Recorded when it is
// absent.
func (p *Parties) parties() Parties {
	if p == nil {
		return Parties{}
	}
	out := *p
	out.Recorded = true
	return out
}

// Issuer returns the parties of a document issued to the organisation
// now.
type Issuer func(ctx context.Context, orgID string) (Parties, error)

// IssueWith makes f give the parties recorded on each invoice (CloseCycle)
// and receipt (CreditPayment) written without them. Call it before the
// store is used; invoicing.New does.
func (s *Store) IssueWith(f Issuer) { s.issuer = f }

// issue returns the parties of a document issued to orgID now, Recorded;
// not Recorded without an issuer.
func (s *Store) issue(ctx context.Context, orgID string) (Parties, error) {
	if s.issuer == nil {
		return Parties{}, nil
	}
	p, err := s.issuer(ctx, orgID)
	if err != nil {
		return Parties{}, fmt.Errorf("parties of a document of %s: %w", orgID, err)
	}
	p.Recorded = true
	return p, nil
}

type invoiceRecord struct {
	PK            string          `dynamodbav:"PK"` // ORG#<org>
	SK            string          `dynamodbav:"SK"` // INVOICE#<id>
	ID            string          `dynamodbav:"id"`
	OrgID         string          `dynamodbav:"org_id"`
	Period        time.Time       `dynamodbav:"period"`
	Created       time.Time       `dynamodbav:"created"`
	Usage         money.Money     `dynamodbav:"usage"`
	Applied       money.Money     `dynamodbav:"applied"`
	Due           money.Money     `dynamodbav:"due"`
	Carried       money.Money     `dynamodbav:"carried"`
	TransactionID string          `dynamodbav:"tx_id"`
	BillTo        billing.Address `dynamodbav:"bill_to"`
	BillingEmail  string          `dynamodbav:"billing_email"`
	Issued        *Parties        `dynamodbav:"issued,omitempty"`
	Status        string          `dynamodbav:"status"`
	DueDate       time.Time       `dynamodbav:"due_date"`
	PastDueAt     time.Time       `dynamodbav:"past_due_at"`
	PaidAt        time.Time       `dynamodbav:"paid_at"`
	PaidWith      string          `dynamodbav:"paid_with"`
	ProviderID    string          `dynamodbav:"provider_id"`
	Collection    string          `dynamodbav:"collection"`
	HostedURL     string          `dynamodbav:"hosted_url"`
	PDFURL        string          `dynamodbav:"pdf_url"`
	PaymentID     string          `dynamodbav:"payment_id"`
	LastError     string          `dynamodbav:"last_error"`
	// PayToken and PayUntil are the claim of a payment in progress.
	PayToken string `dynamodbav:"pay_token"`
	PayUntil int64  `dynamodbav:"pay_until"`
}

func (r invoiceRecord) invoice() Invoice {
	return Invoice{
		ID: r.ID, OrgID: r.OrgID, Period: r.Period.UTC(), Created: r.Created.UTC(),
		Usage: r.Usage, Applied: r.Applied, Due: r.Due, Carried: r.Carried, TransactionID: r.TransactionID,
		BillTo: r.BillTo, BillingEmail: r.BillingEmail, Issued: r.Issued.parties(),
		Status: r.Status, DueDate: r.DueDate.UTC(), PastDueAt: r.PastDueAt.UTC(), PaidAt: r.PaidAt.UTC(), PaidWith: r.PaidWith,
		ProviderID: r.ProviderID, Collection: r.Collection, HostedURL: r.HostedURL, PDFURL: r.PDFURL,
		PaymentID: r.PaymentID, LastError: r.LastError,
	}
}

// periodRecord guards the close of one period: one invoice per
// organisation and period.
type periodRecord struct {
	PK        string `dynamodbav:"PK"` // ORG#<org>
	SK        string `dynamodbav:"SK"` // INVPERIOD#<yyyy-mm>
	InvoiceID string `dynamodbav:"invoice_id"`
}

const prefixInvoice = "INVOICE#"

func invoiceSK(id string) string { return prefixInvoice + id }

func periodSK(period time.Time) string { return "INVPERIOD#" + period.UTC().Format("2006-01") }

// CloseCycle closes inv.Period for inv.OrgID in one transaction: it writes
// the invoice (its ID and TransactionID are assigned), cuts inv.Usage from
// Usage This Period, and, when inv.Applied > 0, appends the balance
// transaction "Applied credit balance to invoice" of −inv.Applied, which
// lowers the ledger. It also closes a period whose
// applied credit or usage is zero.
//
// The account must still hold what inv was computed from: a ledger balance
// of exactly ledger and at least inv.Usage of Usage This Period (usage
// recorded since only adds to it, and stays for the next period). When it
// does not, CloseCycle changes nothing and returns ECONFLICT, and the
// caller computes again from a fresh read.
//
// The invoice records inv.Issued, or else the parties of the store's
// issuer (IssueWith), as its seller and buyer: BillTo and BillingEmail
// become theirs. Without either it records BillTo and BillingEmail only.
//
// It is idempotent per organisation and period: when the period is closed
// already it changes nothing and returns that invoice with created false.
// It returns ENOTFOUND for an unknown organisation.
func (s *Store) CloseCycle(ctx context.Context, inv Invoice, ledger money.Money) (Invoice, bool, error) {
	return s.closeCycle(ctx, inv, ledger, nil)
}

// Closing is the account as a cycle close reads it (ReadClosing): its
// figures, and the counter shards CloseCycleOf cuts the usage from.
type Closing struct {
	billing.Account
	read accountRead
}

// ReadClosing reads the organisation's account for a cycle close, in one
// strongly consistent read; ENOTFOUND for an unknown organisation.
func (s *Store) ReadClosing(ctx context.Context, orgID string, now time.Time) (Closing, error) {
	r, err := s.readAccountItems(ctx, orgID, true)
	if err != nil {
		return Closing{}, fmt.Errorf("read account %s: %w", orgID, err)
	}
	acct, err := accountFrom(orgID, r, now)
	return Closing{Account: acct, read: r}, err
}

// CloseCycleOf is CloseCycle of inv computed from acct: it cuts the usage
// from the shards as acct read them, without reading them again.
func (s *Store) CloseCycleOf(ctx context.Context, inv Invoice, acct Closing) (Invoice, bool, error) {
	return s.closeCycle(ctx, inv, acct.Ledger, &acct.read)
}

// closeCycle is CloseCycle, from the account read r (nil: read it now).
func (s *Store) closeCycle(ctx context.Context, inv Invoice, ledger money.Money, r *accountRead) (Invoice, bool, error) {
	if inv.Usage < 0 || inv.Applied < 0 || inv.Due < 0 || inv.Carried < 0 || inv.Applied+inv.Due != inv.Usage {
		return Invoice{}, false, billing.FieldError("amount", "An invoice's usage must equal its applied credit plus the amount due.")
	}
	if !inv.Issued.Recorded {
		issued, err := s.issue(ctx, inv.OrgID)
		if err != nil {
			return Invoice{}, false, fmt.Errorf("close cycle %s: %w", inv.OrgID, err)
		}
		inv.Issued = issued
	}
	if inv.Issued.Recorded {
		inv.BillTo, inv.BillingEmail = inv.Issued.BillTo, inv.Issued.BillingEmail
	}
	if inv.Created.IsZero() {
		inv.Created = s.now()
	}
	inv.Created, inv.Period = inv.Created.UTC(), inv.Period.UTC()
	inv.ID = s.newID("in", inv.Created)
	org := inv.OrgID

	var tx *txRecord
	if inv.Applied > 0 {
		tx = &txRecord{
			PK: orgPK(org), ID: s.newID("bt", inv.Created), OrgID: org,
			Description: billing.DescAppliedCredit, Amount: -inv.Applied, Created: inv.Created,
		}
		tx.SK = txSK(tx.ID)
		inv.TransactionID = tx.ID
	}
	guard, err := s.putNew(periodRecord{PK: orgPK(org), SK: periodSK(inv.Period), InvoiceID: inv.ID})
	if err != nil {
		return Invoice{}, false, fmt.Errorf("close cycle %s: %w", org, err)
	}
	rec := newInvoiceRecord(inv)
	put, err := s.putNew(rec)
	if err != nil {
		return Invoice{}, false, fmt.Errorf("close cycle %s: %w", org, err)
	}
	if r == nil {
		read, err := s.readAccountItems(ctx, org, true)
		if err != nil {
			return Invoice{}, false, fmt.Errorf("close cycle %s: %w", org, err)
		}
		r = &read
	}
	if r.account == nil {
		return Invoice{}, false, billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", org)
	}
	cuts, covered := cutUsage(r.counters, inv.Usage)
	if !covered {
		// Less usage than the invoice: the period was closed since the
		// caller read (its usage cut), or the account changed.
		return s.closedBefore(ctx, inv, "")
	}
	acctCond := expression.AttributeExists(expression.Name(AttrPK)).
		And(expression.Name("ledger").Equal(expression.Value(ledger)))
	acctAction, err := s.accountCheck(org, acctCond, tx)
	if err != nil {
		return Invoice{}, false, fmt.Errorf("close cycle %s: %w", org, err)
	}
	items := []types.TransactWriteItem{{Put: guard}, {Put: put}, acctAction}
	first := counterPK(org, 0)
	if _, cut := cuts[first]; !cut && inv.Carried > 0 {
		// What is carried stays in Usage This Period for the next
		// period: mark its close too, on the first shard, cut or not.
		cuts[first] = 0
	}
	for shardPK, cut := range cuts {
		upd := expression.Add(expression.Name(attrPeriod), expression.Value(-cut))
		if shardPK == first && inv.Carried > 0 {
			upd = markActive(upd, org, "", inv.Period.AddDate(0, 1, 0), inv.Period.AddDate(0, 1, 0))
		}
		e, err := expression.NewBuilder().WithUpdate(upd).
			WithCondition(expression.Name(attrPeriod).GreaterThanEqual(expression.Value(cut))).Build()
		if err != nil {
			return Invoice{}, false, fmt.Errorf("close cycle %s: %w", org, err)
		}
		items = append(items, types.TransactWriteItem{Update: s.update(key(shardPK, skCounters), e, true)})
	}
	if tx != nil {
		txPut, err := s.putNew(*tx)
		if err != nil {
			return Invoice{}, false, fmt.Errorf("close cycle %s: %w", org, err)
		}
		items = append(items, types.TransactWriteItem{Put: txPut})
	}

	err = s.transact(ctx, items)
	reasons := cancelReasons(err)
	switch {
	case err == nil:
		if err := s.refreshUnpaid(ctx, org); err != nil {
			return Invoice{}, false, fmt.Errorf("close cycle %s: %w", org, err)
		}
		return rec.invoice(), true, nil
	case conditionFailed(reasons, 0):
		return s.closedBefore(ctx, inv, inv.ID)
	case slices.ContainsFunc(reasons[min(2, len(reasons)):], isConditionReason):
		return Invoice{}, false, billing.Errorf(billing.ECONFLICT, "The account changed while the cycle closed; compute the invoice again.")
	}
	return Invoice{}, false, fmt.Errorf("close cycle %s: %w", org, err)
}

// closedBefore answers a close of inv's period that found it closed: by a
// concurrent run, or by this very request whose answer was lost (then the
// invoice is ours, id ourID). A retry also completes the refresh of the
// unpaid invoices that a failure cut short. When the period is not closed,
// the account changed under the caller: ECONFLICT.
func (s *Store) closedBefore(ctx context.Context, inv Invoice, ourID string) (Invoice, bool, error) {
	closed, err := s.InvoiceOfPeriod(ctx, inv.OrgID, inv.Period)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return Invoice{}, false, billing.Errorf(billing.ECONFLICT, "The account changed while the cycle closed; compute the invoice again.")
	}
	if err != nil {
		return Invoice{}, false, err
	}
	if err := s.refreshUnpaid(ctx, inv.OrgID); err != nil {
		return Invoice{}, false, fmt.Errorf("close cycle %s: %w", inv.OrgID, err)
	}
	return closed, ourID != "" && closed.ID == ourID, nil
}

// accountCheck is the action of a cycle close on the ACCOUNT item: the
// condition cond, and, with a balance transaction tx, the ledger lowered
// by it.
func (s *Store) accountCheck(orgID string, cond expression.ConditionBuilder, tx *txRecord) (types.TransactWriteItem, error) {
	if tx == nil {
		e, err := expression.NewBuilder().WithCondition(cond).Build()
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(s.table), Key: key(orgPK(orgID), skAccount),
			ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}}, nil
	}
	e, err := expression.NewBuilder().WithUpdate(expression.Add(expression.Name("ledger"), expression.Value(tx.Amount)).
		Add(expression.Name("tx_count"), expression.Value(1))).WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: s.update(key(orgPK(orgID), skAccount), e, true)}, nil
}

// cutUsage splits usage over the counter shards, taking each shard's Usage
// This Period in turn, by partition key; covered is false when the shards
// hold less than usage.
func cutUsage(counters []counterRecord, usage money.Money) (cuts map[string]money.Money, covered bool) {
	sorted := slices.SortedFunc(slices.Values(counters), func(a, b counterRecord) int { return strings.Compare(a.PK, b.PK) })
	cuts = map[string]money.Money{}
	left := usage
	for _, c := range sorted {
		if left == 0 {
			break
		}
		cut := min(left, max(c.UsagePeriod, 0))
		if cut > 0 {
			cuts[c.PK] = cut
			left -= cut
		}
	}
	return cuts, left == 0
}

func newInvoiceRecord(inv Invoice) invoiceRecord {
	return invoiceRecord{
		PK: orgPK(inv.OrgID), SK: invoiceSK(inv.ID), ID: inv.ID, OrgID: inv.OrgID, Period: inv.Period, Created: inv.Created,
		Usage: inv.Usage, Applied: inv.Applied, Due: inv.Due, Carried: inv.Carried, TransactionID: inv.TransactionID,
		BillTo: inv.BillTo, BillingEmail: inv.BillingEmail, Issued: inv.Issued.record(),
		Status: inv.Status, DueDate: inv.DueDate.UTC(), PastDueAt: inv.PastDueAt.UTC(), PaidAt: inv.PaidAt.UTC(), PaidWith: inv.PaidWith,
		ProviderID: inv.ProviderID, Collection: inv.Collection, HostedURL: inv.HostedURL, PDFURL: inv.PDFURL,
		PaymentID: inv.PaymentID, LastError: inv.LastError,
	}
}

// Invoice returns the organisation's invoice id; ENOTFOUND when the
// organisation has no such invoice (another organisation's included).
func (s *Store) Invoice(ctx context.Context, orgID, id string) (Invoice, error) {
	var rec invoiceRecord
	err := s.Items().Get(ctx, orgPK(orgID), invoiceSK(id), &rec)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return Invoice{}, billing.Errorf(billing.ENOTFOUND, "Invoice %s not found.", id)
	}
	if err != nil {
		return Invoice{}, fmt.Errorf("invoice %s/%s: %w", orgID, id, err)
	}
	inv := rec.invoice()
	refunds, err := s.invoiceRefunds(ctx, orgID, id+"#")
	if err != nil {
		return Invoice{}, err
	}
	inv.Refunded = refunds[id]
	return inv, nil
}

// InvoiceOfPeriod returns the invoice of the billing period starting at
// period; ENOTFOUND while that period is not closed.
func (s *Store) InvoiceOfPeriod(ctx context.Context, orgID string, period time.Time) (Invoice, error) {
	var g periodRecord
	err := s.Items().Get(ctx, orgPK(orgID), periodSK(period), &g)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return Invoice{}, billing.Errorf(billing.ENOTFOUND, "The period of %s is not invoiced yet.", period.UTC().Format("January 2006"))
	}
	if err != nil {
		return Invoice{}, fmt.Errorf("invoice of period %s: %w", orgID, err)
	}
	return s.Invoice(ctx, orgID, g.InvoiceID)
}

// Invoices returns the organisation's invoices, newest first, each with
// what was refunded of it. It reads them, their refunds and their period
// guards in one Query (one request per MB, about 50 years of monthly
// invoices): an organisation has one invoice a month.
func (s *Store) Invoices(ctx context.Context, orgID string) ([]Invoice, error) {
	// INVOICE#, INVPERIOD# and INVREFUND# are the only sort keys starting
	// with INV.
	in, err := s.query(orgPK(orgID), beginsWith("INV"), true)
	if err != nil {
		return nil, fmt.Errorf("invoices %s: %w", orgID, err)
	}
	var out []Invoice
	refunds := map[string]money.Money{}
	err = eachItem(ctx, s, in, func(item map[string]types.AttributeValue) error {
		switch sk := skOf(item); {
		case strings.HasPrefix(sk, prefixInvoice):
			var r invoiceRecord
			if err := attributevalue.UnmarshalMap(item, &r); err != nil {
				return err
			}
			out = append(out, r.invoice())
		case strings.HasPrefix(sk, prefixInvoiceRefund):
			var r invoiceRefundRecord
			if err := attributevalue.UnmarshalMap(item, &r); err != nil {
				return err
			}
			refunds[r.InvoiceID] += r.Amount
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("invoices %s: %w", orgID, err)
	}
	for i := range out {
		out[i].Refunded = refunds[out[i].ID]
	}
	return out, nil
}

// skOf returns an item's sort key.
func skOf(item map[string]types.AttributeValue) string {
	if v, ok := item[AttrSK].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// InvoiceChange is a change of an invoice. Status, when set, moves it only
// out of an unpaid state (open, uncollectible), with PaidAt and PaidWith;
// paid and void are final. The other fields are facts from the payment
// provider and are written, when set, whatever the status.
type InvoiceChange struct {
	Status   string
	PaidAt   time.Time
	PaidWith string

	ProviderID string
	Collection string
	HostedURL  string
	PDFURL     string
	PaymentID  string
	// LastError, when not nil, replaces the last charge's error ("" clears it).
	LastError *string
	// Release ends the claim of a payment in progress.
	Release bool
}

// ChangeInvoice applies ch to the organisation's invoice id and reports
// whether it changed the status: false when the invoice had reached a
// final state (a webhook and the synchronous answer both report one
// payment, or events arrive out of order). A change with a status also
// refreshes the account's unpaid invoices (changed or not, so that a retry
// completes a refresh a failure cut short). It returns ENOTFOUND for an
// unknown invoice.
func (s *Store) ChangeInvoice(ctx context.Context, orgID, id string, ch InvoiceChange) (bool, error) {
	changed, err := s.changeInvoice(ctx, orgID, id, ch)
	if err == nil && ch.Status != "" {
		if err := s.refreshUnpaid(ctx, orgID); err != nil {
			return changed, fmt.Errorf("change invoice %s/%s: %w", orgID, id, err)
		}
	}
	return changed, err
}

func (s *Store) changeInvoice(ctx context.Context, orgID, id string, ch InvoiceChange) (bool, error) {
	exists := expression.AttributeExists(expression.Name(AttrPK))
	if ch.Status != "" {
		// A fresh builder: builders share their operations when copied.
		upd, _ := ch.facts()
		upd = upd.Set(expression.Name("status"), expression.Value(ch.Status))
		if ch.Status == InvoicePaid {
			upd = upd.Set(expression.Name("paid_at"), expression.Value(ch.PaidAt.UTC())).
				Set(expression.Name("paid_with"), expression.Value(ch.PaidWith))
		}
		err := s.updateInvoice(ctx, orgID, id, upd, exists.And(unpaid()))
		if err == nil {
			return true, nil
		}
		if !isConditionFailed(err) {
			return false, fmt.Errorf("change invoice %s/%s: %w", orgID, id, err)
		}
		// Final already (or missing): still record the facts.
	}
	facts, n := ch.facts()
	if n == 0 {
		_, err := s.Invoice(ctx, orgID, id)
		return false, err
	}
	err := s.updateInvoice(ctx, orgID, id, facts, exists)
	if isConditionFailed(err) {
		return false, billing.Errorf(billing.ENOTFOUND, "Invoice %s not found.", id)
	}
	if err != nil {
		return false, fmt.Errorf("change invoice %s/%s: %w", orgID, id, err)
	}
	return false, nil
}

// facts returns a new update of the fields of ch other than the status,
// and how many it sets.
func (ch InvoiceChange) facts() (expression.UpdateBuilder, int) {
	var upd expression.UpdateBuilder
	n := 0
	set := func(name string, v any) {
		upd = upd.Set(expression.Name(name), expression.Value(v))
		n++
	}
	for _, f := range []struct{ name, v string }{{"provider_id", ch.ProviderID}, {"collection", ch.Collection},
		{"hosted_url", ch.HostedURL}, {"pdf_url", ch.PDFURL}, {"payment_id", ch.PaymentID}} {
		if f.v != "" {
			set(f.name, f.v)
		}
	}
	if ch.LastError != nil {
		set("last_error", *ch.LastError)
	}
	if ch.Release {
		set("pay_until", int64(0))
	}
	return upd, n
}

func unpaid() expression.ConditionBuilder {
	status := expression.Name("status")
	return status.Equal(expression.Value(InvoiceOpen)).Or(status.Equal(expression.Value(InvoiceUncollectible)))
}

func (s *Store) updateInvoice(ctx context.Context, orgID, id string, upd expression.UpdateBuilder, cond expression.ConditionBuilder) error {
	e, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return err
	}
	return s.updateItem(ctx, s.update(key(orgPK(orgID), invoiceSK(id)), e, true))
}

// ClaimInvoicePayment claims the payment of an unpaid invoice for the
// submit carrying token, until now+hold: of two forms paying one invoice
// at once, one charges. The same token may claim again (a double submit:
// the provider's idempotency key then returns the first payment). It
// returns ECONFLICT when the invoice is paid or void, or another payment
// of it is in progress, and ENOTFOUND for an unknown invoice.
func (s *Store) ClaimInvoicePayment(ctx context.Context, orgID, id, token string, now time.Time, hold time.Duration) error {
	until := expression.Name("pay_until")
	cond := expression.AttributeExists(expression.Name(AttrPK)).And(unpaid()).
		And(expression.Or(expression.AttributeNotExists(until), until.LessThan(expression.Value(now.Unix())),
			expression.Name("pay_token").Equal(expression.Value(token))))
	upd := expression.Set(expression.Name("pay_token"), expression.Value(token)).
		Set(until, expression.Value(now.Add(hold).Unix()))
	err := s.updateInvoice(ctx, orgID, id, upd, cond)
	if err == nil {
		return nil
	}
	if !isConditionFailed(err) {
		return fmt.Errorf("claim invoice %s/%s: %w", orgID, id, err)
	}
	inv, err := s.Invoice(ctx, orgID, id)
	if err != nil {
		return err
	}
	if !inv.Unpaid() {
		return billing.Errorf(billing.ECONFLICT, "Invoice %s is already %s.", id, inv.Status)
	}
	return billing.Errorf(billing.ECONFLICT, "A payment of invoice %s is in progress; try again in a minute.", id)
}

// InvoiceRefund is a refund of the payment of an invoice. The invoice
// itself never changes once issued; its refunds are kept beside it and
// shown with it. They do not touch the prepaid balance.
type InvoiceRefund struct {
	InvoiceID string
	RefundID  string // the provider's re_…
	PaymentID string
	Amount    money.Money // > 0
	Created   time.Time
}

type invoiceRefundRecord struct {
	PK        string      `dynamodbav:"PK"` // ORG#<org>
	SK        string      `dynamodbav:"SK"` // INVREFUND#<invoice>#<refund>
	InvoiceID string      `dynamodbav:"invoice_id"`
	RefundID  string      `dynamodbav:"refund_id"`
	PaymentID string      `dynamodbav:"payment_id"`
	Amount    money.Money `dynamodbav:"amount"`
	Created   time.Time   `dynamodbav:"created"`
}

const prefixInvoiceRefund = "INVREFUND#"

// AddInvoiceRefund records a refund of an invoice's payment once per
// refund id and reports whether this call recorded it. It returns
// EINVALID for a refund without invoice, id or a positive amount.
func (s *Store) AddInvoiceRefund(ctx context.Context, orgID string, r InvoiceRefund) (bool, error) {
	if r.InvoiceID == "" || r.RefundID == "" || r.Amount <= 0 {
		return false, billing.FieldError("amount", "An invoice refund needs an invoice, a refund id and a positive amount.")
	}
	rec := invoiceRefundRecord{PK: orgPK(orgID), SK: prefixInvoiceRefund + r.InvoiceID + "#" + r.RefundID, InvoiceID: r.InvoiceID,
		RefundID: r.RefundID, PaymentID: r.PaymentID, Amount: r.Amount, Created: r.Created.UTC()}
	err := s.Items().Put(ctx, rec, true)
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("invoice refund %s: %w", r.InvoiceID, err)
	}
	return true, nil
}

// invoiceRefunds returns what was refunded of each of the organisation's
// invoices (prefix narrows them to one invoice).
func (s *Store) invoiceRefunds(ctx context.Context, orgID, prefix string) (map[string]money.Money, error) {
	var recs []invoiceRefundRecord
	if err := s.Items().Query(ctx, orgPK(orgID), prefixInvoiceRefund+prefix, &recs); err != nil {
		return nil, fmt.Errorf("invoice refunds %s: %w", orgID, err)
	}
	out := map[string]money.Money{}
	for _, r := range recs {
		out[r.InvoiceID] += r.Amount
	}
	return out, nil
}
