// Package billing holds the billing domain: organisations, balance
// transactions, the account figures of the Billing Overview and the rules
// that derive them. It is pure Go with no AWS or Stripe imports, so the
// rules can be proved with table tests alone.
package billing
