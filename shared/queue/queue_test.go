package queue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/billing/shared/queue"
	"github.com/acme/billing/shared/queue/queuetest"
)

func messages(n int, at time.Time) []queue.Message {
	out := make([]queue.Message, n)
	for i := range out {
		out[i] = queue.Message{Job: "daily-reset", At: at, Orgs: []string{fmt.Sprintf("org-%02d-a", i), fmt.Sprintf("org-%02d-b", i)}}
	}
	return out
}

func TestReceive(t *testing.T) {
	at := time.Now().UTC()
	srv := queuetest.New(t)
	if err := srv.Sender().Send(t.Context(), messages(3, at)); err != nil {
		t.Fatal(err)
	}
	event := srv.Take()
	event.Records = append(event.Records, event.Records[0])
	event.Records[3].MessageId, event.Records[3].Body = "garbled", "{not json"

	var mu sync.Mutex
	var worked []string
	resp := queue.Receive(t.Context(), event, slog.New(slog.DiscardHandler), func(_ context.Context, m queue.Message) error {
		mu.Lock()
		defer mu.Unlock()
		worked = append(worked, m.Orgs...)
		if m.Orgs[0] == "org-01-a" {
			return errors.New("store unavailable")
		}
		return nil
	})

	t.Run("each message's organisations are worked, with the message's time", func(t *testing.T) {
		if want := []string{"org-00-a", "org-00-b", "org-01-a", "org-01-b", "org-02-a", "org-02-b"}; !slices.Equal(worked, want) {
			t.Errorf("worked %v, want %v", worked, want)
		}
	})

	t.Run("the failed and the unreadable messages, and only they, are reported for redelivery", func(t *testing.T) {
		var ids []string
		for _, f := range resp.BatchItemFailures {
			ids = append(ids, f.ItemIdentifier)
		}
		if want := []string{event.Records[1].MessageId, "garbled"}; !slices.Equal(ids, want) {
			t.Errorf("batch item failures %v, want %v", ids, want)
		}
	})
}

func TestLocal(t *testing.T) {
	t.Run("every message is worked, at most the worker count at a time, and failures come back", func(t *testing.T) {
		var running, peak, done atomic.Int32
		q := queue.NewLocal(3, func(_ context.Context, m queue.Message) error {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			done.Add(1)
			if m.Orgs[0] == "org-04-a" {
				return errors.New("org-04-a failed")
			}
			return nil
		})
		err := q.Send(t.Context(), messages(12, time.Now()))
		if done.Load() != 12 {
			t.Errorf("%d messages worked, want 12", done.Load())
		}
		if p := peak.Load(); p > 3 || p < 2 {
			t.Errorf("%d ran at once, want up to 3 (and more than one)", p)
		}
		if err == nil || err.Error() != "org-04-a failed" {
			t.Errorf("err = %v, want the one failure", err)
		}
	})
}
