// Package templatecheck holds the tests that hold template.yaml to the
// code: every function, route and table key in one exists in the other.
// SAM CLI does not run here, so these tests parse the template with
// goformation instead.
package templatecheck
