package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/notify/ses"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/timetest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// flakyMailer fails its first sends, then hands emails to next.
type flakyMailer struct {
	mu    sync.Mutex
	fails int
	next  notify.Mailer
}

func (m *flakyMailer) Send(ctx context.Context, e notify.Email) error {
	m.mu.Lock()
	fail := m.fails > 0
	m.fails--
	m.mu.Unlock()
	if fail {
		return errors.New("connection reset")
	}
	return m.next.Send(ctx, e)
}

func TestOutbox(t *testing.T) {
	db := storetest.New(t)
	clk := timetest.NewClock(start)
	st := db.Store(clk.Now)
	outbox := notify.NewOutbox(st, clk.Now)
	for i, to := range []string{"a@acme.test", "b@acme.test", "c@globex.test"} {
		clk.Set(start.Add(time.Duration(i) * time.Minute))
		if err := outbox.Send(t.Context(), notify.Email{To: to, Subject: "Subject " + to, Text: "Line 1\nLine 2"}); err != nil {
			t.Fatalf("send: %v", err)
		}
	}

	t.Run("the outbox lists sent emails newest first", func(t *testing.T) {
		sent, err := outbox.List(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(sent) != 3 || sent[0].To != "c@globex.test" || sent[2].To != "a@acme.test" {
			t.Fatalf("sent %+v, want c, b, a", sent)
		}
		if sent[0].Subject != "Subject c@globex.test" || sent[0].Text != "Line 1\nLine 2" || !sent[0].Sent.Equal(start.Add(2*time.Minute)) {
			t.Errorf("newest %+v", sent[0])
		}
	})

	t.Run("the listing is capped", func(t *testing.T) {
		sent, err := outbox.List(t.Context(), 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(sent) != 2 || sent[0].To != "c@globex.test" {
			t.Errorf("sent %+v, want the newest two", sent)
		}
	})

	t.Run("another outbox on the same table sees the same emails", func(t *testing.T) {
		sent, err := notify.NewOutbox(db.Store(nil), nil).List(t.Context(), 10)
		if err != nil || len(sent) != 3 {
			t.Errorf("%d emails (%v), want 3", len(sent), err)
		}
	})
}

// sesRequest is what an httptest server speaking the SESv2 REST API
// (POST /v2/email/outbound-emails, JSON) received: the test checks the
// request the real SDK client sends, not a recording.
type sesRequest struct {
	method, path string
	body         map[string]any
}

func sesServer(t *testing.T, status int, answer string, header map[string]string) (*sesv2.Client, *[]sesRequest) {
	t.Helper()
	var (
		mu   sync.Mutex
		reqs []sesRequest
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		mu.Lock()
		reqs = append(reqs, sesRequest{method: r.Method, path: r.URL.Path, body: body})
		mu.Unlock()
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	client := sesv2.New(sesv2.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	return client, &reqs
}

func TestSES(t *testing.T) {
	t.Run("Send calls SendEmail with the sender, the recipient and a UTF-8 text message", func(t *testing.T) {
		client, reqs := sesServer(t, http.StatusOK, `{"MessageId":"0100018c-test"}`, nil)
		mailer := ses.New(client, "billing@product.example")
		err := mailer.Send(t.Context(), notify.Email{To: "billing@acme.test", Subject: "Your daily usage passed $15.00", Text: "Hello,\n\nUsed today: $15.42"})
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		if len(*reqs) != 1 {
			t.Fatalf("%d requests, want 1", len(*reqs))
		}
		r := (*reqs)[0]
		if r.method != http.MethodPost || r.path != "/v2/email/outbound-emails" {
			t.Errorf("%s %s, want POST /v2/email/outbound-emails", r.method, r.path)
		}
		want := map[string]any{
			"FromEmailAddress": "billing@product.example",
			"Destination":      map[string]any{"ToAddresses": []any{"billing@acme.test"}},
			"Content": map[string]any{"Simple": map[string]any{
				"Subject": map[string]any{"Charset": "UTF-8", "Data": "Your daily usage passed $15.00"},
				"Body":    map[string]any{"Text": map[string]any{"Charset": "UTF-8", "Data": "Hello,\n\nUsed today: $15.42"}},
			}},
		}
		if got, _ := json.Marshal(r.body); string(got) != mustJSON(t, want) {
			t.Errorf("request body\n%s\nwant\n%s", got, mustJSON(t, want))
		}
	})

	t.Run("an SES error is returned, and recorded by its code", func(t *testing.T) {
		client, _ := sesServer(t, http.StatusBadRequest, `{"message":"Email address is not verified."}`,
			map[string]string{"X-Amzn-Errortype": "MessageRejected"})
		e := newEnv(t)
		n := notify.New(e.store, ses.New(client, "billing@product.example"), nil, e.clock.Now, nil, true)
		if err := ses.New(client, "billing@product.example").Send(t.Context(), notify.Email{To: "x@acme.test", Subject: "s", Text: "t"}); err == nil {
			t.Fatal("no error")
		}
		if err := n.Handle(t.Context(), event(t, budgetReached("acme", start))); err != nil {
			t.Fatal(err)
		}
		d := e.delivery("acme", notify.ChannelEmail)
		if d.Status != notify.StatusPending || d.Error != "The email service did not accept the email (MessageRejected)." {
			t.Errorf("delivery %+v, want pending with the SES error code", d)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
