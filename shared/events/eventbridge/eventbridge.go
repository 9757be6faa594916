// Package eventbridge publishes billing events to an Amazon EventBridge
// bus. It is its own package so that only the functions that publish link
// the EventBridge client (and pay for its package initialisation).
package eventbridge

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/acme/billing/shared/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// Publisher publishes billing events to an EventBridge bus.
type Publisher struct {
	client *eventbridge.Client
	bus    string
}

// New returns a publisher to the bus named bus with the client of cfg.
func New(cfg aws.Config, bus string) *Publisher {
	return &Publisher{client: eventbridge.NewFromConfig(cfg), bus: bus}
}

// Publish sends the details with PutEvents, ten per call (its limit). It
// returns an error when any entry was not accepted; entries already
// accepted stay published, which consumers tolerate (see events.Detail.ID).
func (b *Publisher) Publish(ctx context.Context, details ...events.Detail) error {
	for start := 0; start < len(details); start += 10 {
		batch := details[start:min(start+10, len(details))]
		entries := make([]types.PutEventsRequestEntry, len(batch))
		for i, d := range batch {
			body, err := json.Marshal(d)
			if err != nil {
				return fmt.Errorf("publish %s: %w", d.ID, err)
			}
			entries[i] = types.PutEventsRequestEntry{
				EventBusName: aws.String(b.bus),
				Source:       aws.String(events.Source),
				DetailType:   aws.String(d.Type),
				Detail:       aws.String(string(body)),
				Time:         aws.Time(d.OccurredAt),
				Resources:    []string{},
			}
		}
		out, err := b.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("publish events: %w", err)
		}
		if out.FailedEntryCount > 0 {
			for i, e := range out.Entries {
				if e.ErrorCode != nil {
					return fmt.Errorf("publish %s: %s", batch[i].ID, aws.ToString(e.ErrorCode))
				}
			}
			return fmt.Errorf("publish events: %d entries failed", out.FailedEntryCount)
		}
	}
	return nil
}
