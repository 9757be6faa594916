package store

import (
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Sort keys and key builders of the single-table layout (see the package doc).
const (
	skAccount = "ACCOUNT"
	skProfile = "PROFILE"
	pkOrgs    = "ORGS"
	prefixTx  = "TX#"
	prefixDay = "DAY#"
)

func orgPK(orgID string) string       { return "ORG#" + orgID }
func daySK(day string) string         { return prefixDay + day }
func txSK(id string) string           { return prefixTx + id }
func txKeySK(key string) string       { return "TXKEY#" + key }
func orgListSK(orgID string) string   { return "ORG#" + orgID }
func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: s(pk), AttrSK: s(sk)}
}

// accountRecord is the ACCOUNT item: the ledger, the limits and the
// settings every allowance check reads with the counter shards
// (counters.go). Recording usage only reads it.
type accountRecord struct {
	PK           string      `dynamodbav:"PK"`
	SK           string      `dynamodbav:"SK"`
	OrgID        string      `dynamodbav:"org_id"`
	Name         string      `dynamodbav:"name"`
	Created      time.Time   `dynamodbav:"created"`
	Ledger       money.Money `dynamodbav:"ledger"`
	TotalCredits money.Money `dynamodbav:"total_credits"`
	OverageLimit money.Money `dynamodbav:"overage_limit"`
	TxCount      int64       `dynamodbav:"tx_count"`

	SpendEnabled   bool        `dynamodbav:"spend_enabled"`
	DailyBudget    money.Money `dynamodbav:"daily_budget"`
	EmailThreshold money.Money `dynamodbav:"email_threshold"`

	RechargeEnabled   bool        `dynamodbav:"recharge_enabled"`
	RechargeThreshold money.Money `dynamodbav:"recharge_threshold"`
	RechargeAmount    money.Money `dynamodbav:"recharge_amount"`
	RechargeCap       money.Money `dynamodbav:"recharge_cap"`

	// The unpaid invoices, kept here by refreshUnpaid so that one read of
	// this item answers an allowance: the due date of the oldest (zero
	// when none), when the first makes the organisation past due, their
	// total due, and a revision that orders refreshes.
	OldestDue   time.Time   `dynamodbav:"oldest_due"`
	PastDueFrom time.Time   `dynamodbav:"past_due_from"`
	UnpaidDue   money.Money `dynamodbav:"unpaid_due"`
	UnpaidRev   int64       `dynamodbav:"unpaid_rev"`
}

func (r accountRecord) account(usagePeriod, usedToday money.Money) billing.Account {
	return billing.Account{
		OrgID:        r.OrgID,
		Name:         r.Name,
		TotalCredits: r.TotalCredits,
		Ledger:       r.Ledger,
		UsagePeriod:  usagePeriod,
		OverageLimit: r.OverageLimit,
		UsedToday:    usedToday,
		OldestDue:    r.OldestDue.UTC(),
		PastDueFrom:  r.PastDueFrom.UTC(),
		UnpaidDue:    r.UnpaidDue,
		Spend: billing.SpendSettings{
			Enabled:        r.SpendEnabled,
			DailyBudget:    r.DailyBudget,
			EmailThreshold: r.EmailThreshold,
		},
		AutoRecharge: billing.AutoRechargeSettings{
			Enabled:    r.RechargeEnabled,
			Threshold:  r.RechargeThreshold,
			Amount:     r.RechargeAmount,
			MonthlyCap: r.RechargeCap,
		},
	}
}

// dayRecord is a DAY# item: the usage of one closed UTC day.
type dayRecord struct {
	PK    string      `dynamodbav:"PK"`
	SK    string      `dynamodbav:"SK"`
	OrgID string      `dynamodbav:"org_id"`
	Day   string      `dynamodbav:"day"`
	Used  money.Money `dynamodbav:"used"`
}

// profileRecord is the PROFILE item.
type profileRecord struct {
	PK           string `dynamodbav:"PK"`
	SK           string `dynamodbav:"SK"`
	CompanyName  string `dynamodbav:"company_name"`
	Address1     string `dynamodbav:"address1"`
	Address2     string `dynamodbav:"address2"`
	City         string `dynamodbav:"city"`
	PostalCode   string `dynamodbav:"postal_code"`
	Region       string `dynamodbav:"region"`
	Country      string `dynamodbav:"country"`
	PONumber     string `dynamodbav:"po_number"`
	BillingEmail string `dynamodbav:"billing_email"`
	CustomerID   string `dynamodbav:"customer_id,omitempty"`
}

func (r profileRecord) profile() billing.Profile {
	return billing.Profile{
		Address: billing.Address{
			CompanyName: r.CompanyName,
			Address1:    r.Address1,
			Address2:    r.Address2,
			City:        r.City,
			PostalCode:  r.PostalCode,
			Region:      r.Region,
			Country:     r.Country,
			PONumber:    r.PONumber,
		},
		BillingEmail: r.BillingEmail,
		CustomerID:   r.CustomerID,
	}
}

func newProfileRecord(orgID string, p billing.Profile) profileRecord {
	a := p.Address
	return profileRecord{
		PK: orgPK(orgID), SK: skProfile,
		CompanyName: a.CompanyName, Address1: a.Address1, Address2: a.Address2, City: a.City,
		PostalCode: a.PostalCode, Region: a.Region, Country: a.Country, PONumber: a.PONumber,
		BillingEmail: p.BillingEmail,
	}
}

// txRecord is a TX# item: one balance transaction. Never updated or deleted.
type txRecord struct {
	PK          string      `dynamodbav:"PK"`
	SK          string      `dynamodbav:"SK"`
	ID          string      `dynamodbav:"id"`
	OrgID       string      `dynamodbav:"org_id"`
	Description string      `dynamodbav:"description"`
	Amount      money.Money `dynamodbav:"amount"`
	Created     time.Time   `dynamodbav:"created"`
	Key         string      `dynamodbav:"idempotency_key,omitempty"`
}

func (r txRecord) transaction() billing.Transaction {
	return billing.Transaction{ID: r.ID, OrgID: r.OrgID, Description: r.Description, Amount: r.Amount, Created: r.Created.UTC()}
}

// orgListRecord is an ORGS item listing one organisation.
type orgListRecord struct {
	PK      string    `dynamodbav:"PK"`
	SK      string    `dynamodbav:"SK"`
	OrgID   string    `dynamodbav:"org_id"`
	Name    string    `dynamodbav:"name"`
	Created time.Time `dynamodbav:"created"`
}
