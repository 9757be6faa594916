package secrets_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/logtest"
	"github.com/acme/billing/shared/secrets"
	"github.com/acme/billing/shared/secrets/secretstest"
	"github.com/acme/billing/shared/timetest"
)

const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing/test-AbCdEf"

// word parses a secret that must be one lower-case word, like the JSON
// parsers of shared/config refuse a malformed rotation.
func word(s string) (string, error) {
	if s == "" || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz") != "" {
		return "", errors.New("not one lower-case word")
	}
	return s, nil
}

// These tests drive the real client (secrets.Client) against
// secretstest, a loopback stand-in answering GetSecretValue in the
// service's JSON protocol: no Secrets Manager emulator runs here. Time
// comes from a test clock, never from sleeping.
func TestSecret(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	setup := func(t *testing.T) (*secretstest.Server, *timetest.Clock, *logtest.Buffer, *secrets.Secret[string]) {
		t.Helper()
		sm := secretstest.New(t)
		sm.Put(arn, "first")
		clk := timetest.NewClock(start)
		logs := &logtest.Buffer{}
		s, err := secrets.Load(t.Context(), sm.Client(), arn, word, secrets.Options{Now: clk.Now, Log: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return sm, clk, logs, s
	}

	t.Run("the secret is read at cold start with GetSecretValue in Secrets Manager's JSON protocol", func(t *testing.T) {
		sm, _, _, s := setup(t)
		if got := s.Get(); got != "first" {
			t.Errorf("Get = %q, want first", got)
		}
		reqs := sm.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want 1 (one read at cold start, then the cache)", len(reqs))
		}
		r := reqs[0]
		if r.Target != "secretsmanager.GetSecretValue" || r.ContentType != "application/x-amz-json-1.1" || r.SecretID != arn || !r.Signed {
			t.Errorf("request %+v", r)
		}
	})

	t.Run("a rotated secret is served once the cached value is 5 minutes old, not before", func(t *testing.T) {
		sm, clk, _, s := setup(t)
		sm.Put(arn, "second")
		clk.Advance(secrets.DefaultMaxAge - time.Second)
		if got := s.Get(); got != "first" {
			t.Errorf("within the cache period Get = %q, want the cached first", got)
		}
		if n := len(sm.Requests()); n != 1 {
			t.Errorf("%d requests within the cache period, want 1", n)
		}
		clk.Advance(time.Second)
		if got := s.Get(); got != "second" {
			t.Errorf("after the cache period Get = %q, want the rotated second", got)
		}
		if got := s.Get(); got != "second" || len(sm.Requests()) != 2 {
			t.Errorf("Get = %q after %d requests, want second from the cache", got, len(sm.Requests()))
		}
	})

	t.Run("a failing endpoint keeps the last good value, logs without it, and is tried again later", func(t *testing.T) {
		sm, clk, logs, s := setup(t)
		sm.Fail(true)
		clk.Advance(secrets.DefaultMaxAge)
		if got := s.Get(); got != "first" {
			t.Errorf("Get = %q, want the last good value", got)
		}
		log := logs.String()
		if !strings.Contains(log, "secret refresh failed") || !strings.Contains(log, arn) || !strings.Contains(log, "InternalServiceError") {
			t.Errorf("log does not say which secret failed and why:\n%s", log)
		}
		if strings.Contains(log, "first") {
			t.Errorf("log holds the secret's value:\n%s", log)
		}
		n := len(sm.Requests())
		clk.Advance(secrets.DefaultRetryAfter - time.Second)
		if s.Get(); len(sm.Requests()) != n {
			t.Error("a failed refresh is retried on every call, not after RetryAfter")
		}
		sm.Fail(false)
		sm.Put(arn, "second")
		clk.Advance(time.Second)
		if got := s.Get(); got != "second" {
			t.Errorf("after the endpoint recovered Get = %q, want second", got)
		}
	})

	t.Run("a rotated value that does not parse keeps the last good one", func(t *testing.T) {
		sm, clk, logs, s := setup(t)
		sm.Put(arn, "Not A Word")
		clk.Advance(secrets.DefaultMaxAge)
		if got := s.Get(); got != "first" {
			t.Errorf("Get = %q, want the last good value", got)
		}
		if log := logs.String(); !strings.Contains(log, "not one lower-case word") || strings.Contains(log, "Not A Word") {
			t.Errorf("log should say why and never quote the value:\n%s", log)
		}
	})

	t.Run("at cold start a failing endpoint or a missing secret is a clear error, without the value", func(t *testing.T) {
		sm := secretstest.New(t)
		sm.Put(arn, "first")
		sm.Fail(true)
		_, err := secrets.Load(t.Context(), sm.Client(), arn, word, secrets.Options{})
		if err == nil || !strings.Contains(err.Error(), "read secret "+arn) || !strings.Contains(err.Error(), "InternalServiceError") {
			t.Errorf("err = %v, want one naming the secret and the failure", err)
		}
		sm.Fail(false)
		_, err = secrets.Load(t.Context(), sm.Client(), arn+"-other", word, secrets.Options{})
		if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			t.Errorf("err = %v, want ResourceNotFoundException", err)
		}
		sm.Put(arn, "Bad Value")
		_, err = secrets.Load(t.Context(), sm.Client(), arn, word, secrets.Options{})
		if err == nil || !strings.Contains(err.Error(), "not one lower-case word") || strings.Contains(err.Error(), "Bad Value") {
			t.Errorf("err = %v, want a parse error without the value", err)
		}
	})
}
