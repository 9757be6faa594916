// Package gateway adapts API Gateway HTTP API (payload format 2.0) Lambda
// events to ordinary net/http handlers, so one http.Handler serves both the
// local server and Lambda.
//
// Unlike github.com/awslabs/aws-lambda-go-api-proxy it never splits header
// values on commas (API Gateway has already joined repeated request headers,
// and values such as Accept or If-None-Match legitimately contain commas), and
// a handler that writes no status gets 200, as under net/http.
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/aws/aws-lambda-go/events"
)

// Handler adapts h to a Lambda handler for API Gateway HTTP API (v2) events.
//
// The returned function never returns an error: an event that cannot be turned
// into a request (invalid base64 body or URL) gets 400 "Bad request.", and a
// panic in h is recovered, logged with slog (the panic value and stack, never
// the request body) and answered with 500 "Internal error.".
//
// h's output is buffered and returned as one response. No WriteHeader means
// 200; Set-Cookie values become the response's Cookies; other repeated
// headers are joined with ", " (RFC 9110 section 5.3); a missing Content-Type
// is sniffed as net/http does; text bodies are returned as strings and all
// others base64-encoded; a HEAD request gets the headers and status but no
// body. Streaming is not supported: nothing reaches the client before h
// returns.
func Handler(h http.Handler) func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := Request(ctx, e)
		if err != nil {
			slog.WarnContext(ctx, "gateway: bad request event",
				"request_id", e.RequestContext.RequestID, "error", err)
			return plain(http.StatusBadRequest, "Bad request."), nil
		}
		return serve(h, r), nil
	}
}

// serve runs h on r and encodes what it wrote, turning a panic into a 500.
func serve(h http.Handler, r *http.Request) (resp events.APIGatewayV2HTTPResponse) {
	defer func() {
		if v := recover(); v != nil {
			slog.ErrorContext(r.Context(), "gateway: handler panic",
				"request_id", RequestID(r.Context()),
				"method", r.Method,
				"path", r.URL.Path,
				"panic", v,
				"stack", string(debug.Stack()))
			resp = plain(http.StatusInternalServerError, "Internal error.")
		}
	}()
	w := newResponseWriter()
	h.ServeHTTP(w, r)
	return w.response(r.Method == http.MethodHead)
}

// plain is a text/plain response written by the adapter itself.
func plain(status int, body string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           "text/plain; charset=utf-8",
			"X-Content-Type-Options": "nosniff",
		},
		Body: body,
	}
}
