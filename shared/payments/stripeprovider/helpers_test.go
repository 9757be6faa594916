package stripeprovider_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/payments/stripetest"
)

// secretKey is the test secret key; no error text may contain it.
const secretKey = stripetest.SecretKey

// newProvider returns a provider whose stripe-go client talks to baseURL
// through hc, with retries off (so a 500 is answered once) and a silent
// logger.
func newProvider(t *testing.T, baseURL string, hc *http.Client) *stripeprovider.Provider {
	t.Helper()
	return stripeprovider.New(stripetest.Client(baseURL, hc))
}

// request is one request as it left stripe-go.
type request struct {
	Method string
	Path   string
	Header http.Header
	Form   url.Values // the form body of a POST, the query of a GET
	Status int        // the status the server answered
}

// recorder is an http.RoundTripper that records every request before
// passing it on. rewrite, if set, may change a request's form before it is
// sent on (the recorded form stays as stripe-go sent it); patch, if set,
// may change a response body.
type recorder struct {
	next    http.RoundTripper
	rewrite func(method, path string, form url.Values)
	patch   func(method, path string, body []byte) []byte

	mu   sync.Mutex
	reqs []request
}

// RoundTrip implements http.RoundTripper.
func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		_ = r.Body.Close() // an in-memory body
		body = b
	}
	raw := r.URL.RawQuery
	if r.Method == http.MethodPost {
		raw = string(body)
	}
	form, err := url.ParseQuery(raw)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	if rec.rewrite != nil {
		sent, err := url.ParseQuery(raw) // a copy to change
		if err != nil {
			return nil, err
		}
		rec.rewrite(r.Method, r.URL.Path, sent)
		if r.Method == http.MethodPost {
			body = []byte(sent.Encode())
		} else {
			r.URL.RawQuery = sent.Encode()
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))

	resp, err := rec.next.RoundTrip(r)
	rq := request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form}
	if resp != nil {
		rq.Status = resp.StatusCode
	}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, rq)
	rec.mu.Unlock()
	if err != nil || rec.patch == nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b = rec.patch(r.Method, r.URL.Path, b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// requests returns the recorded requests and forgets them.
func (rec *recorder) requests() []request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	reqs := rec.reqs
	rec.reqs = nil
	return reqs
}

// last returns the last recorded request and forgets all of them.
func (rec *recorder) last(t *testing.T) request {
	t.Helper()
	reqs := rec.requests()
	if len(reqs) == 0 {
		t.Fatal("no request was sent")
	}
	return reqs[len(reqs)-1]
}

// wantForm checks form fields of a request.
func wantForm(t *testing.T, r request, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := r.Form.Get(k); got != v {
			t.Errorf("%s %s: %s = %q, want %q", r.Method, r.Path, k, got, v)
		}
	}
}

// noSecret fails if err's text contains the secret key.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), secretKey) {
		t.Errorf("error text contains the secret key: %v", err)
	}
}
