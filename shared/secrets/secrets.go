// Package secrets reads secrets from AWS Secrets Manager at run time, never
// from a Lambda's environment: each secret is read once at cold start and
// re-read when its cached value is older than a short period, so a rotated
// secret takes effect within minutes without a deploy.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Getter is the one Secrets Manager call a Secret makes, GetSecretValue,
// for a secret's string value; *Client is one.
type Getter interface {
	GetSecretString(ctx context.Context, id string) (string, error)
}

// Defaults of Options.
const (
	// DefaultMaxAge is how long a value is served before it is read again.
	DefaultMaxAge = 5 * time.Minute
	// DefaultRetryAfter is how long a failed refresh waits before the next
	// try, serving the last good value meanwhile.
	DefaultRetryAfter = 30 * time.Second
	// DefaultTimeout bounds one GetSecretValue call.
	DefaultTimeout = 3 * time.Second
)

// Options tune a Secret; the zero value takes the defaults.
type Options struct {
	MaxAge     time.Duration
	RetryAfter time.Duration
	Timeout    time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log receives refresh failures; never a secret's value.
	Log *slog.Logger
}

// Secret is one secret's parsed value, cached. It is safe for concurrent
// use.
type Secret[T any] struct {
	client Getter
	id     string
	parse  func(string) (T, error)
	opts   Options

	mu      sync.Mutex
	value   T
	next    time.Time // when to read again
	fetched time.Time // when value was read
}

// Load reads the secret id (its ARN or name, stage AWSCURRENT) and parses
// its string value with parse. It fails, naming the secret but never its
// value, when the secret cannot be read or parsed: a function must not start
// without its secrets.
func Load[T any](ctx context.Context, client Getter, id string, parse func(string) (T, error), opts Options) (*Secret[T], error) {
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Secret[T]{client: client, id: id, parse: parse, opts: opts}
	v, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	now := opts.Now()
	s.value, s.fetched, s.next = v, now, now.Add(opts.MaxAge)
	return s, nil
}

// Get returns the current value. When the cached one is older than MaxAge
// it reads the secret again first; if that fails it keeps serving the last
// good value, logs the failure, and tries again after RetryAfter.
func (s *Secret[T]) Get() T {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	if now.Before(s.next) {
		return s.value
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	v, err := s.read(ctx)
	if err != nil {
		s.next = now.Add(s.opts.RetryAfter)
		s.opts.Log.Error("secret refresh failed; serving the last good value", "secret", s.id,
			"age", now.Sub(s.fetched).Round(time.Second).String(), "error", err)
		return s.value
	}
	s.value, s.fetched, s.next = v, now, now.Add(s.opts.MaxAge)
	return s.value
}

// read fetches and parses the secret. Its errors name the secret, never
// its value (a parse error must not quote it either).
func (s *Secret[T]) read(ctx context.Context) (T, error) {
	var zero T
	str, err := s.client.GetSecretString(ctx, s.id)
	if errors.Is(err, errNoString) {
		return zero, fmt.Errorf("secret %s has no string value", s.id)
	}
	if err != nil {
		return zero, fmt.Errorf("read secret %s: %w", s.id, err)
	}
	v, err := s.parse(str)
	if err != nil {
		return zero, fmt.Errorf("secret %s: %w", s.id, err)
	}
	return v, nil
}
