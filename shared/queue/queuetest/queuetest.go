// Package queuetest is a loopback stand-in for Amazon SQS, for tests:
// there is no SQS emulator to run here, so it answers the real
// aws-sdk-go-v2 SQS client over HTTP in SQS's JSON protocol (AWS JSON 1.0,
// X-Amz-Target AmazonSQS.SendMessageBatch) and keeps what was sent, which
// a test then delivers to the worker as the event source mapping would.
package queuetest

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/acme/billing/shared/queue"
	"github.com/acme/billing/shared/queue/sqs"
	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// QueueURL is the URL of the one queue the stand-in holds.
const QueueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/billing-jobs"

// Server is the stand-in.
type Server struct {
	URL string
	mu  sync.Mutex
	// bodies are the messages sent, in order.
	bodies []string
	// requests counts the SendMessageBatch requests.
	requests int
	// failOnce makes the next entry sent fail once with a server fault.
	failOnce bool
	seq      int
}

// New starts the stand-in for the test.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Config is the AWS SDK configuration of a client that talks to the
// stand-in.
func (s *Server) Config() aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}

// Sender is the real SQS sender (queue/sqs), with the real SDK client, to
// the stand-in's queue.
func (s *Server) Sender() queue.Sender { return sqs.New(s.Config(), QueueURL) }

// FailNextEntryOnce makes SQS refuse the next entry sent, once, for a
// reason on its side (SenderFault false), as SQS may under load.
func (s *Server) FailNextEntryOnce() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failOnce = true
}

// Requests is how many SendMessageBatch requests arrived.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Take returns the messages sent since the last Take as the SQS event
// the event source mapping would deliver, and forgets them.
func (s *Server) Take() awsevents.SQSEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var e awsevents.SQSEvent
	for _, b := range s.bodies {
		s.seq++
		e.Records = append(e.Records, awsevents.SQSMessage{
			MessageId: fmt.Sprintf("m-%d", s.seq), Body: b, EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:billing-jobs",
			AWSRegion: "us-east-1", Attributes: map[string]string{"ApproximateReceiveCount": "1"}, Md5OfBody: md5hex(b),
		})
	}
	s.bodies = nil
	return e
}

// Messages decodes the messages sent since the last Take, leaving them.
func (s *Server) Messages(t testing.TB) []queue.Message {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]queue.Message, len(s.bodies))
	for i, b := range s.bodies {
		if err := json.Unmarshal([]byte(b), &out[i]); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	return out
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

type entry struct {
	Id          string
	MessageBody string
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if target := r.Header.Get("X-Amz-Target"); target != "AmazonSQS.SendMessageBatch" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"com.amazonaws.sqs#InvalidAction","message":"not served: %s"}`, target)
		return
	}
	var in struct {
		QueueUrl string
		Entries  []entry
	}
	if err := json.Unmarshal(body, &in); err != nil || in.QueueUrl != QueueURL || len(in.Entries) == 0 || len(in.Entries) > 10 {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazonaws.sqs#InvalidParameterValue","message":"bad request"}`)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	type ok struct{ Id, MessageId, MD5OfMessageBody string }
	type failed struct {
		Id, Code, Message string
		SenderFault       bool
	}
	out := struct {
		Successful []ok
		Failed     []failed
	}{Successful: []ok{}, Failed: []failed{}}
	for _, e := range in.Entries {
		if s.failOnce {
			s.failOnce = false
			out.Failed = append(out.Failed, failed{Id: e.Id, Code: "InternalError", Message: "try again"})
			continue
		}
		s.bodies = append(s.bodies, e.MessageBody)
		out.Successful = append(out.Successful, ok{Id: e.Id, MessageId: "sent-" + strconv.Itoa(len(s.bodies)), MD5OfMessageBody: md5hex(e.MessageBody)})
	}
	_ = json.NewEncoder(w).Encode(out)
}
