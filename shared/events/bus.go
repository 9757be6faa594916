package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	awsevents "github.com/aws/aws-lambda-go/events"
)

// Target consumes delivered events, as a Lambda function behind an
// EventBridge rule does.
type Target func(ctx context.Context, e awsevents.EventBridgeEvent) error

// Bus is the in-process stand-in for EventBridge, for the local server and
// tests: Publish turns each detail into the event JSON EventBridge would
// deliver and hands it to every rule matching its detail type, in order.
// A failing target is logged and does not fail the publisher, as with
// EventBridge.
type Bus struct {
	log *slog.Logger

	mu        sync.Mutex
	rules     []rule
	published []awsevents.EventBridgeEvent
}

type rule struct {
	name   string
	types  []string
	target Target
}

// NewBus returns an empty bus that logs to log.
func NewBus(log *slog.Logger) *Bus { return &Bus{log: log} }

// Subscribe adds a rule: events of the detail types go to target.
func (b *Bus) Subscribe(name string, detailTypes []string, target Target) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rules = append(b.rules, rule{name: name, types: detailTypes, target: target})
}

// Publish delivers the details to the matching rules.
func (b *Bus) Publish(ctx context.Context, details ...Detail) error {
	for _, d := range details {
		e, err := envelope(d)
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.published = append(b.published, e)
		rules := slices.Clone(b.rules)
		b.mu.Unlock()
		for _, r := range rules {
			if !slices.Contains(r.types, e.DetailType) {
				continue
			}
			if err := r.target(ctx, e); err != nil {
				b.log.Error("event target failed", "rule", r.name, "event", d.ID, "error", err)
			}
		}
	}
	return nil
}

// Published returns every event published so far, oldest first.
func (b *Bus) Published() []awsevents.EventBridgeEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.published)
}

// envelope wraps a detail in EventBridge's event JSON, round-tripped
// through encoding/json so targets see exactly what they would in AWS.
func envelope(d Detail) (awsevents.EventBridgeEvent, error) {
	detail, err := json.Marshal(d)
	if err != nil {
		return awsevents.EventBridgeEvent{}, fmt.Errorf("event %s: %w", d.ID, err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id) // crypto/rand.Read never fails
	raw, err := json.Marshal(map[string]any{
		"version":     "0",
		"id":          hex.EncodeToString(id),
		"detail-type": d.Type,
		"source":      Source,
		"account":     "000000000000",
		"time":        d.OccurredAt.UTC(),
		"region":      "local",
		"resources":   []string{},
		"detail":      json.RawMessage(detail),
	})
	if err != nil {
		return awsevents.EventBridgeEvent{}, fmt.Errorf("event %s: %w", d.ID, err)
	}
	var e awsevents.EventBridgeEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return awsevents.EventBridgeEvent{}, fmt.Errorf("event %s: %w", d.ID, err)
	}
	return e, nil
}
