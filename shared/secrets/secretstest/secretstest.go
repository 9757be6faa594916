// Package secretstest serves AWS Secrets Manager's GetSecretValue on a
// loopback httptest server, for tests that drive the real client
// (secrets.Client, signing with the aws-sdk-go-v2 signer). It is a stand-in: no Secrets Manager emulator runs on these
// machines (the embedded DynamoDB has no counterpart for secrets), so this
// answers the one call the code makes, in the service's JSON protocol
// (POST /, X-Amz-Target: secretsmanager.GetSecretValue,
// application/x-amz-json-1.1), and nothing else.
package secretstest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/acme/billing/shared/secrets"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Target is the X-Amz-Target of GetSecretValue.
const Target = "secretsmanager.GetSecretValue"

// Request is one request the server received.
type Request struct {
	Target      string
	ContentType string
	// SecretID is the SecretId of the request body.
	SecretID string
	// Signed reports an AWS Signature Version 4 Authorization header;
	// SecurityToken is the session token sent (X-Amz-Security-Token).
	Signed        bool
	SecurityToken string
}

// Server is a loopback Secrets Manager holding secrets by id (ARN).
type Server struct {
	URL string

	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	values   map[string]string
	versions map[string]int
	failing  bool
	requests []Request
}

// New starts a server, closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, values: map[string]string{}, versions: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Put stores value as the AWSCURRENT version of the secret id, as a
// rotation does.
func (s *Server) Put(id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[id] = value
	s.versions[id]++
}

// Fail makes every request fail with a 500 InternalServiceError (true) or
// be answered again (false).
func (s *Server) Fail(failing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = failing
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Config is the AWS configuration of a client of this server: static
// test credentials, one attempt per call (a failure is not retried, so a
// test sees it at once).
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:       s.srv.Client(),
		RetryMaxAttempts: 1,
	}
}

// Client returns the real client (secrets.Client) of Config.
func (s *Server) Client() *secrets.Client {
	c, err := secrets.NewClient(s.t.Context(), s.Config())
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var in struct {
		SecretID string `json:"SecretId"`
	}
	_ = json.Unmarshal(raw, &in)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Target: r.Header.Get("X-Amz-Target"), ContentType: r.Header.Get("Content-Type"),
		SecretID: in.SecretID, Signed: strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "),
		SecurityToken: r.Header.Get("X-Amz-Security-Token")})
	value, ok := s.values[in.SecretID]
	version := s.versions[in.SecretID]
	failing := s.failing
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch {
	case r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != Target:
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "")
	case failing:
		writeError(w, http.StatusInternalServerError, "InternalServiceError", "An error occurred on the server side.")
	case !ok:
		writeError(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN": in.SecretID, "Name": in.SecretID, "SecretString": value,
			"VersionId": "v" + strconv.Itoa(version), "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
		})
	}
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}
