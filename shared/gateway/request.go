package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// requestIDKey is the context key under which Request stores the API Gateway
// request id.
type requestIDKey struct{}

// RequestID returns the API Gateway request id carried by the request context,
// or "" when ctx did not come from Request (for example in the local server).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// iamCallerKey is the context key of the IAM caller's ARN.
type iamCallerKey struct{}

// IAMCaller returns the ARN of the IAM principal that API Gateway
// authenticated for this request (routes with IAM authorization), or ""
// when there is none, including everywhere outside Lambda.
func IAMCaller(ctx context.Context) string {
	arn, _ := ctx.Value(iamCallerKey{}).(string)
	return arn
}

// Request builds the *http.Request for an event, as net/http's server would
// have built it for the same HTTP request. The request's context is ctx
// carrying the event's request id (see RequestID).
//
//   - Method, path and query come from the event; the query string is kept
//     verbatim, so repeated keys survive. A named stage ("prod", not
//     "$default") is stripped from the front of the path, so the handler sees
//     /billing for /prod/billing. RequestURI stays what the client asked for
//     (including the stage), as with http.StripPrefix.
//   - Each event header becomes exactly one header value; it is never split on
//     commas. The event's cookies become one Cookie header joined with "; ".
//   - Host comes from the host header, else the API's domain name, and is
//     removed from Header, as net/http does. URL.Scheme and URL.Host are set
//     (scheme from X-Forwarded-Proto, else https); TLS stays nil.
//   - RemoteAddr is the source IP as "ip:0" (the port is unknown), so
//     net.SplitHostPort works on it.
//   - The body is base64-decoded when the event says so; ContentLength and the
//     Content-Length header match the decoded body.
//
// HTTP APIs deliver rawPath percent-decoded ("/files/a b.pdf"), other sources
// encoded; Request accepts both, escaping only what cannot appear literally in
// an encoded path (see escapePath).
//
// Request returns an error when the body is not valid base64, the path does
// not start with "/", or the method is not a valid token.
func Request(ctx context.Context, e events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(e.Body)
	if e.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(e.Body)
		if err != nil {
			return nil, fmt.Errorf("decode base64 body: %w", err)
		}
		body = b
	}

	rawPath := e.RawPath
	if rawPath == "" {
		rawPath = e.RequestContext.HTTP.Path
	}
	if rawPath == "" {
		rawPath = "/"
	}
	if !strings.HasPrefix(rawPath, "/") {
		return nil, fmt.Errorf("parse path %q: does not start with /", rawPath)
	}
	requestURI := escapePath(rawPath)
	if e.RawQueryString != "" {
		requestURI += "?" + e.RawQueryString
	}
	u, err := url.ParseRequestURI(escapePath(stripStage(rawPath, e.RequestContext.Stage)))
	if err != nil {
		return nil, fmt.Errorf("parse path %q: %w", rawPath, err)
	}
	u.RawQuery = e.RawQueryString

	method := e.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	ctx = context.WithValue(ctx, requestIDKey{}, e.RequestContext.RequestID)
	if a := e.RequestContext.Authorizer; a != nil && a.IAM != nil && a.IAM.UserARN != "" {
		ctx = context.WithValue(ctx, iamCallerKey{}, a.IAM.UserARN)
	}
	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	if len(body) == 0 {
		// A server request's body is never nil.
		r.Body, r.GetBody = http.NoBody, nil
	}
	r.URL = u
	r.RequestURI = requestURI
	if major, minor, ok := http.ParseHTTPVersion(e.RequestContext.HTTP.Protocol); ok {
		r.Proto, r.ProtoMajor, r.ProtoMinor = e.RequestContext.HTTP.Protocol, major, minor
	}

	for name, value := range e.Headers {
		r.Header.Set(name, value)
	}
	if len(e.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	// The body is complete, whatever framing the client used.
	r.Header.Del("Transfer-Encoding")
	r.ContentLength = int64(len(body))
	if len(body) > 0 || r.Header.Get("Content-Length") != "" {
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}

	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = e.RequestContext.DomainName
	}
	r.Header.Del("Host")
	r.URL.Host = r.Host
	r.URL.Scheme = "https"
	if proto := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); proto == "http" || proto == "https" {
		r.URL.Scheme = proto
	}

	if ip := e.RequestContext.HTTP.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	return r, nil
}

// stripStage removes a named stage from the front of path: API Gateway puts
// it there ("/prod/billing") unless the stage is "$default" or the API is
// reached through a custom domain mapping.
func stripStage(path, stage string) string {
	if stage == "" || stage == "$default" {
		return path
	}
	prefix := "/" + stage
	switch {
	case path == prefix:
		return "/"
	case strings.HasPrefix(path, prefix+"/"):
		return path[len(prefix):]
	}
	return path
}

// escapePath makes p a valid escaped URL path whether it arrives decoded (as
// from an HTTP API) or encoded: it percent-encodes bytes that can never appear
// literally in an encoded path (controls, space, non-ASCII, '?', '#') and any
// '%' not starting an escape, and leaves everything else, so an encoded path
// passes through unchanged.
//
// A decoded path that happens to contain "%XX" (the client sent "%25XX") is
// read as an escape; that ambiguity is API Gateway's and cannot be undone here.
func escapePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			b.WriteByte(c)
		case c <= ' ' || c >= 0x7f || c == '?' || c == '#' || c == '%':
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
