package storetest

import (
	"bytes"
	"io"
	"net/http"
	"sync/atomic"
)

// LoseAnswers is a transport for the SDK client that forwards requests,
// but for the TransactWriteItems requests Lose picks (1-based), throws
// DynamoDB's answer away after the server applied the request and answers
// 500, as a timeout or a broken connection would: the SDK then retries a
// request that already happened.
type LoseAnswers struct {
	Base http.RoundTripper
	Lose func(n int32) bool
	seen atomic.Int32
	lost atomic.Int32
}

// Lost returns how many answers were thrown away.
func (l *LoseAnswers) Lost() int32 { return l.lost.Load() }

// RoundTrip implements http.RoundTripper.
func (l *LoseAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.Base.RoundTrip(r)
	if err != nil || r.Header.Get("X-Amz-Target") != "DynamoDB_20120810.TransactWriteItems" || !l.Lose(l.seen.Add(1)) {
		return resp, err
	}
	l.lost.Add(1)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return &http.Response{
		StatusCode: http.StatusInternalServerError,
		Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:       io.NopCloser(bytes.NewReader([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answer lost"}`))),
		Request:    r,
	}, nil
}
