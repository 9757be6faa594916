// Package events holds sample events for invoking the deployed functions
// locally with SAM (sam local invoke -e infra/events/<file>.json): real
// API Gateway HTTP API (payload 2.0), EventBridge schedule and billing
// event JSON. A test checks each parses as the event its function takes.
//
// The times in the samples go stale (the usage API refuses usage older
// than 35 days): go generate ./infra/events sets them all to now.
package events
