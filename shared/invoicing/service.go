package invoicing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
)

// Service closes billing cycles, collects invoices and serves them to the
// Invoices page. It is safe for concurrent use.
type Service struct {
	store    *store.Store
	payments *payments.Service
	provider Provider
	now      func() time.Time
	log      *slog.Logger
	// seller is the seller of the documents issued (WithSeller).
	seller Party
	// grace is how long after its due date an invoice issued now, unpaid,
	// makes its organisation past due (WithPastDueGrace).
	grace time.Duration
}

// New returns the Service on the payment provider of pay, which must
// implement Provider (Stripe and the sandbox do); with any other provider
// every collection fails with payments.ErrNotConfigured and invoices stay
// listed under Payments Due.
//
// New makes the Service the issuer of st (store.IssueWith): every invoice
// and receipt st writes records the parties of Service.Parties.
func New(st *store.Store, pay *payments.Service, now func() time.Time, log *slog.Logger) *Service {
	var p Provider = unavailable{}
	if pay != nil {
		if ip, ok := pay.Provider().(Provider); ok {
			p = ip
		}
	}
	s := &Service{store: st, payments: pay, provider: p, now: now, log: log, seller: DefaultSeller(), grace: billing.DefaultPastDueGrace}
	if st != nil {
		st.IssueWith(s.Parties)
	}
	return s
}

// WithPastDueGrace makes invoices s issues from now on make their
// organisation past due grace after their due date, unpaid
// (billing.DefaultPastDueGrace when not called); invoices issued before
// keep theirs, as they keep their other terms. grace must be within
// [0, billing.MaxPastDueGrace]. Call it before s is used.
func (s *Service) WithPastDueGrace(grace time.Duration) *Service {
	s.grace = grace
	return s
}

// maxCloseAttempts bounds how often Close computes again when the account
// changes between its read and its write (a top-up landing meanwhile).
const maxCloseAttempts = 10

// Close closes the billing period starting at period (any time in it
// names it) for the organisation, now: Usage This Period is cut into an
// invoice with credit applied, in one transaction (see Compute for the
// amounts and store.CloseCycle for the atomicity), and an amount due is
// then charged to the default card, or the invoice is sent with a due date
// DueDays out and listed under Payments Due.
//
// Close is idempotent per organisation and period: a second call, or a
// concurrent one, returns the same invoice, and only finishes its
// collection if an earlier call failed before reaching the provider.
// Usage recorded while Close runs belongs to the next period. It returns
// ENOTFOUND for an unknown organisation; a failure to reach the provider
// is an error, with the invoice written and left to a later Close.
func (s *Service) Close(ctx context.Context, orgID string, period time.Time) (store.Invoice, error) {
	inv, _, err := s.close(ctx, orgID, period, false)
	return inv, err
}

// CloseUsed is Close for the scheduled close, which lists every
// organisation whose usage a close of period may cut (store.DueUsageIn):
// one with nothing in Usage This Period, listed because usage written in
// the period's last minutes may have landed after the close before, gets
// no $0 invoice: closed reports whether the period was closed.
func (s *Service) CloseUsed(ctx context.Context, orgID string, period time.Time) (inv store.Invoice, closed bool, err error) {
	return s.close(ctx, orgID, period, true)
}

func (s *Service) close(ctx context.Context, orgID string, period time.Time, skipUnused bool) (store.Invoice, bool, error) {
	period = billing.PeriodStart(period)
	inv, err := s.store.InvoiceOfPeriod(ctx, orgID, period)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		inv, err = s.cut(ctx, orgID, period, skipUnused)
	}
	if errors.Is(err, errUnused) {
		return store.Invoice{}, false, nil
	}
	if err != nil {
		return store.Invoice{}, false, fmt.Errorf("close %s %s: %w", orgID, period.Format("2006-01"), err)
	}
	inv, err = s.collect(ctx, inv)
	return inv, err == nil, err
}

// errUnused is cut's answer, when asked to skip it, for an organisation
// with nothing in Usage This Period.
var errUnused = errors.New("nothing to invoice")

// cut writes the invoice of period, computing it again whenever the
// account changed between the read and the write; with skipUnused, not
// for an account with no Usage This Period (errUnused).
func (s *Service) cut(ctx context.Context, orgID string, period time.Time, skipUnused bool) (store.Invoice, error) {
	parties, err := s.Parties(ctx, orgID)
	if err != nil {
		return store.Invoice{}, err
	}
	for attempt := 0; ; attempt++ {
		now := s.now().UTC()
		acct, err := s.store.ReadClosing(ctx, orgID, now)
		if err != nil {
			return store.Invoice{}, err
		}
		if skipUnused && acct.UsagePeriod == 0 {
			return store.Invoice{}, errUnused
		}
		f := Compute(acct.UsagePeriod, acct.Ledger)
		inv := store.Invoice{
			OrgID: orgID, Period: period, Created: now,
			Usage: f.Invoiced, Applied: f.Applied, Due: f.Due, Carried: f.Carried,
			BillTo: parties.BillTo, BillingEmail: parties.BillingEmail, Issued: parties, Status: store.InvoicePaid,
		}
		if f.Due > 0 {
			inv.Status, inv.DueDate = store.InvoiceOpen, now.AddDate(0, 0, DueDays)
			inv.PastDueAt = inv.DueDate.Add(s.grace)
		} else {
			inv.PaidAt = now
			if f.Invoiced > 0 {
				inv.PaidWith = PaidWithCredit
			}
		}
		written, created, err := s.store.CloseCycleOf(ctx, inv, acct)
		if billing.ErrorCode(err) == billing.ECONFLICT && attempt < maxCloseAttempts {
			continue
		}
		if err != nil {
			return store.Invoice{}, err
		}
		if created {
			s.log.Info("cycle closed", "org", orgID, "period", period.Format("2006-01"), "invoice", written.ID,
				"usage", written.Usage.String(), "applied", written.Applied.String(), "due", written.Due.String(), "carried", written.Carried.String())
		}
		return written, nil
	}
}

// PaidWithCredit is how an invoice settled by credit alone was paid.
const PaidWithCredit = "Credit balance"

// collect opens an unpaid invoice at the provider, charged to the default
// card when there is one, unless that was done before.
func (s *Service) collect(ctx context.Context, inv store.Invoice) (store.Invoice, error) {
	if !inv.Unpaid() || inv.ProviderID != "" {
		return inv, nil
	}
	card, err := s.defaultCard(ctx, inv.OrgID)
	if err != nil {
		return inv, fmt.Errorf("collect %s: %w", inv.ID, err)
	}
	r, err := s.open(ctx, inv, card.ID)
	if err != nil {
		return inv, fmt.Errorf("collect %s: %w", inv.ID, err)
	}
	inv, _, err = s.record(ctx, inv, r, payments.CardLabel(card))
	return inv, err
}

// open opens inv at the provider, charged to cardID when set.
func (s *Service) open(ctx context.Context, inv store.Invoice, cardID string) (Remote, error) {
	customer, err := s.payments.Customer(ctx, inv.OrgID)
	if err != nil {
		return Remote{}, err
	}
	return s.provider.OpenInvoice(ctx, OpenRequest{
		OrgID: inv.OrgID, CustomerID: customer, InvoiceID: inv.ID, Amount: inv.Due,
		Description: UsageLine(inv.Period), Period: inv.Period, PeriodEnd: PeriodEnd(inv.Period),
		CardID: cardID, DueDate: inv.DueDate,
	})
}

// defaultCard returns the organisation's default card; the zero Card when
// it has none.
func (s *Service) defaultCard(ctx context.Context, orgID string) (payments.Card, error) {
	cards, err := s.payments.Cards(ctx, orgID)
	if err != nil {
		return payments.Card{}, err
	}
	for _, c := range cards {
		if c.Default {
			return c, nil
		}
	}
	return payments.Card{}, nil
}

// record stores what the provider says of inv and returns the invoice as
// stored: paid with paidWith when the provider's invoice is paid. changed
// reports whether this call changed its status.
func (s *Service) record(ctx context.Context, inv store.Invoice, r Remote, paidWith string) (_ store.Invoice, changed bool, _ error) {
	ch := store.InvoiceChange{ProviderID: r.ID, Collection: r.Collection, HostedURL: r.HostedURL, PDFURL: r.PDFURL,
		PaymentID: r.PaymentID}
	if r.Message != "" {
		ch.LastError = &r.Message
	}
	switch r.Status {
	case RemotePaid:
		ch.Status, ch.PaidAt, ch.PaidWith = store.InvoicePaid, r.PaidAt, paidWith
		if ch.PaidAt.IsZero() {
			ch.PaidAt = s.now().UTC()
		}
		if ch.PaidWith == "" {
			ch.PaidWith = "Card"
		}
		empty := ""
		ch.LastError = &empty
	case RemoteVoid:
		ch.Status = store.InvoiceVoid
	case RemoteUncollectible:
		ch.Status = store.InvoiceUncollectible
	}
	changed, err := s.store.ChangeInvoice(ctx, inv.OrgID, inv.ID, ch)
	if err != nil {
		return inv, false, err
	}
	inv, err = s.store.Invoice(ctx, inv.OrgID, inv.ID)
	return inv, changed, err
}

// CloseAll closes the billing period starting at period for every
// organisation. One organisation's failure does not stop the others; the
// errors come back joined, and a later run finishes what failed.
func (s *Service) CloseAll(ctx context.Context, period time.Time) error {
	var errs []error
	err := s.store.EachOrg(ctx, func(o billing.Org) error {
		if _, err := s.Close(ctx, o.ID, period); err != nil {
			s.log.Error("cycle close failed", "org", o.ID, "period", billing.PeriodStart(period).Format("2006-01"), "error", err)
			errs = append(errs, err)
		}
		return ctx.Err()
	})
	return errors.Join(append(errs, err)...)
}

// ProviderUpdate applies the state of the provider's invoice (a Stripe
// invoice.* webhook) to the organisation's invoice invoiceID: paid, void
// or uncollectible, the hosted page and PDF, and why a charge failed. A
// final state is never left (a late or repeated event changes nothing).
// It returns ENOTFOUND when the organisation has no such invoice.
func (s *Service) ProviderUpdate(ctx context.Context, orgID, invoiceID string, r Remote) error {
	inv, err := s.store.Invoice(ctx, orgID, invoiceID)
	if err != nil {
		return err
	}
	if inv.ProviderID != "" && r.ID != "" && inv.ProviderID != r.ID {
		s.log.Warn("provider invoice differs from the one recorded", "org", orgID, "invoice", inv.ID,
			"recorded", inv.ProviderID, "reported", r.ID)
	}
	_, _, err = s.record(ctx, inv, r, "")
	return err
}

// UsageLine is the invoice line of a period's usage, e.g.
// "Usage, November 2026".
func UsageLine(period time.Time) string {
	return "Usage, " + billing.PeriodStart(period).Format("January 2006")
}

// PaymentRefunded records a refund of the payment of one of the
// organisation's invoices on that invoice, once per refundID: it shows on
// the invoice and in the order and invoice history. The prepaid balance
// is not touched. The invoice is the one paid by paymentID, or whose
// provider invoice is providerInvoiceID. It returns ENOTFOUND when the
// organisation has no such invoice.
func (s *Service) PaymentRefunded(ctx context.Context, orgID, paymentID, providerInvoiceID, refundID string, amount money.Money) error {
	invoices, err := s.store.Invoices(ctx, orgID)
	if err != nil {
		return err
	}
	for _, inv := range invoices {
		if (paymentID != "" && inv.PaymentID == paymentID) || (providerInvoiceID != "" && inv.ProviderID == providerInvoiceID) {
			added, err := s.store.AddInvoiceRefund(ctx, orgID, store.InvoiceRefund{InvoiceID: inv.ID, RefundID: refundID, PaymentID: paymentID,
				Amount: amount, Created: s.now()})
			if err != nil {
				return fmt.Errorf("refund of invoice %s: %w", inv.ID, err)
			}
			if added {
				s.log.Info("invoice payment refunded", "org", orgID, "invoice", inv.ID, "refund", refundID, "amount", amount.String())
			}
			return nil
		}
	}
	return billing.Errorf(billing.ENOTFOUND, "No invoice was paid by payment %s.", paymentID)
}

// InvoiceRefunded records a refund of the payment of the organisation's
// invoice invoiceID on it, once per refundID; the prepaid balance is not
// touched. It returns ENOTFOUND when the organisation has no such
// invoice.
func (s *Service) InvoiceRefunded(ctx context.Context, orgID, invoiceID, paymentID, refundID string, amount money.Money) error {
	if _, err := s.store.Invoice(ctx, orgID, invoiceID); err != nil {
		return err
	}
	added, err := s.store.AddInvoiceRefund(ctx, orgID, store.InvoiceRefund{InvoiceID: invoiceID, RefundID: refundID, PaymentID: paymentID,
		Amount: amount, Created: s.now()})
	if err != nil {
		return fmt.Errorf("refund of invoice %s: %w", invoiceID, err)
	}
	if added {
		s.log.Info("invoice payment refunded", "org", orgID, "invoice", invoiceID, "refund", refundID, "amount", amount.String())
	}
	return nil
}
