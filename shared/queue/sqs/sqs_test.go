package sqs_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/acme/billing/shared/queue"
	"github.com/acme/billing/shared/queue/queuetest"
	"github.com/acme/billing/shared/queue/sqs"
)

func messages(n int, at time.Time) []queue.Message {
	out := make([]queue.Message, n)
	for i := range out {
		out[i] = queue.Message{Job: "daily-reset", At: at, Orgs: []string{fmt.Sprintf("org-%02d-a", i), fmt.Sprintf("org-%02d-b", i)}}
	}
	return out
}

// sender is the sender under test, to the stand-in's queue.
func sender(srv *queuetest.Server) queue.Sender { return sqs.New(srv.Config(), queuetest.QueueURL) }

// The SQS tests run the real SDK client against queuetest, a loopback
// endpoint speaking SQS's JSON protocol: there is no SQS emulator here.
func TestSQS(t *testing.T) {
	at := time.Now().UTC().Truncate(time.Second)

	t.Run("23 messages go out in 3 SendMessageBatch requests and arrive whole, in order", func(t *testing.T) {
		srv := queuetest.New(t)
		want := messages(23, at)
		if err := sender(srv).Send(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		if n := srv.Requests(); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
		got := srv.Messages(t)
		if len(got) != len(want) {
			t.Fatalf("%d messages arrived, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].Job != want[i].Job || !got[i].At.Equal(want[i].At) || !slices.Equal(got[i].Orgs, want[i].Orgs) {
				t.Errorf("message %d is %+v, want %+v", i, got[i], want[i])
			}
		}
	})

	t.Run("an entry SQS refuses for a reason on its side is sent again", func(t *testing.T) {
		srv := queuetest.New(t)
		srv.FailNextEntryOnce()
		if err := sender(srv).Send(t.Context(), messages(4, at)); err != nil {
			t.Fatal(err)
		}
		if got := srv.Messages(t); len(got) != 4 {
			t.Errorf("%d messages arrived, want all 4", len(got))
		}
		if n := srv.Requests(); n != 2 {
			t.Errorf("%d requests, want 2 (the batch, then the refused entry)", n)
		}
	})

	t.Run("a queue that does not answer is an error, not a silent loss", func(t *testing.T) {
		srv := queuetest.New(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := sender(srv).Send(ctx, messages(1, at)); err == nil {
			t.Error("sent with a cancelled context")
		}
	})
}
