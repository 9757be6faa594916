package gateway_test

import (
	"io"
	"net"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/billing/shared/gateway"
)

// request builds the *http.Request for e, failing the test on error.
func request(t *testing.T, e events.APIGatewayV2HTTPRequest) *http.Request {
	t.Helper()
	r, err := gateway.Request(t.Context(), e)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	return r
}

func TestRequest(t *testing.T) {
	t.Run("the request looks like one net/http's server would build", func(t *testing.T) {
		r := request(t, event(t, "get-cookies.json"))

		checks := []struct {
			what, got, want string
		}{
			{"Method", r.Method, "GET"},
			{"URL.Path", r.URL.Path, "/billing"},
			{"URL.Scheme", r.URL.Scheme, "https"},
			{"URL.Host", r.URL.Host, "billing.example.com"},
			{"Host", r.Host, "billing.example.com"},
			{"Host header (promoted to r.Host)", r.Header.Get("Host"), ""},
			{"RequestURI", r.RequestURI, "/billing"},
			{"RemoteAddr", r.RemoteAddr, "203.0.113.7:0"},
			{"Proto", r.Proto, "HTTP/1.1"},
			{"User-Agent", r.UserAgent(), "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36"},
			{"RequestID", gateway.RequestID(r.Context()), "HkZ3bgK9IAMEVdQ="},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
			}
		}
		if ip, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || ip != "203.0.113.7" {
			t.Errorf("SplitHostPort(RemoteAddr) = %q, %v; want 203.0.113.7", ip, err)
		}
		if r.TLS != nil {
			t.Error("TLS is set; it must stay nil")
		}
		if r.Body == nil || r.ContentLength != 0 {
			t.Errorf("Body = %v, ContentLength = %d; want a non-nil empty body", r.Body, r.ContentLength)
		}
	})

	t.Run("the event's cookies become one Cookie header readable with r.Cookie", func(t *testing.T) {
		r := request(t, event(t, "get-cookies.json"))

		if got := r.Header.Values("Cookie"); !slices.Equal(got, []string{"session=s3ss10n-t0k3n; theme=dark"}) {
			t.Errorf("Cookie header = %q", got)
		}
		for name, want := range map[string]string{"session": "s3ss10n-t0k3n", "theme": "dark"} {
			c, err := r.Cookie(name)
			if err != nil || c.Value != want {
				t.Errorf("r.Cookie(%q) = %v, %v; want %q", name, c, err, want)
			}
		}
	})

	t.Run("repeated query keys survive and the query string is kept verbatim", func(t *testing.T) {
		r := request(t, event(t, "get-repeated-query.json"))

		q := r.URL.Query()
		if !slices.Equal(q["a"], []string{"1", "2"}) {
			t.Errorf(`Query()["a"] = %q, want ["1" "2"]`, q["a"])
		}
		if got := q.Get("status"); got != "paid,open" {
			t.Errorf("status = %q, want %q", got, "paid,open")
		}
		if got := q.Get("q"); got != "acme inc" {
			t.Errorf("q = %q, want %q", got, "acme inc")
		}
		if want := "a=1&a=2&status=paid%2Copen&q=acme%20inc"; r.URL.RawQuery != want {
			t.Errorf("RawQuery = %q, want %q", r.URL.RawQuery, want)
		}
		if want := "/billing/invoices?a=1&a=2&status=paid%2Copen&q=acme%20inc"; r.RequestURI != want {
			t.Errorf("RequestURI = %q, want %q", r.RequestURI, want)
		}
	})

	t.Run("a base64 form body is decoded and parsed by ParseForm", func(t *testing.T) {
		r := request(t, event(t, "post-form-base64.json"))

		if r.ContentLength != 95 || r.Header.Get("Content-Length") != "95" {
			t.Errorf("ContentLength = %d, header %q; want 95", r.ContentLength, r.Header.Get("Content-Length"))
		}
		if err := r.ParseForm(); err != nil {
			t.Fatalf("ParseForm: %v", err)
		}
		want := map[string]string{
			"company_name": "Acme Inc.",
			"address1":     "Bahnhofstrasse 1",
			"city":         "Zürich",
			"country":      "CH",
			"po_number":    "PO-7,8",
		}
		for field, v := range want {
			if got := r.PostForm.Get(field); got != v {
				t.Errorf("PostForm[%s] = %q, want %q", field, got, v)
			}
		}
	})

	t.Run("a plain text body is passed through", func(t *testing.T) {
		e := event(t, "post-same-origin.json")
		e.Body, e.IsBase64Encoded = `{"events":[]}`, false
		r := request(t, e)
		b, err := io.ReadAll(r.Body)
		if err != nil || string(b) != `{"events":[]}` || r.ContentLength != int64(len(b)) {
			t.Errorf("body = %q (%v), ContentLength %d", b, err, r.ContentLength)
		}
	})

	t.Run("header values containing commas arrive as one intact value", func(t *testing.T) {
		r := request(t, event(t, "get-header-commas.json"))

		want := map[string]string{
			"Accept":            "text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8",
			"Accept-Encoding":   "gzip, deflate, br, zstd",
			"Accept-Language":   "de-CH,de;q=0.9,en;q=0.8",
			"If-None-Match":     `"a", "b"`,
			"If-Modified-Since": "Wed, 11 Mar 2026 07:28:00 GMT",
			"X-Forwarded-For":   "203.0.113.7, 10.0.0.1",
			"Cookie":            "session=s3ss10n-t0k3n",
		}
		for name, v := range want {
			if got := r.Header.Values(name); !slices.Equal(got, []string{v}) {
				t.Errorf("Header[%s] = %q, want exactly [%q]", name, got, v)
			}
		}
	})

	t.Run("the stage prefix is stripped only for a named stage", func(t *testing.T) {
		tests := []struct {
			name, stage, rawPath, wantPath, wantURI string
		}{
			{"a named stage is stripped from the path", "prod", "/prod/billing", "/billing", "/prod/billing?tab=usage"},
			{"the bare stage path becomes the root", "prod", "/prod", "/", "/prod?tab=usage"},
			{"a path that only starts with the stage's letters is untouched", "prod", "/production/billing", "/production/billing", "/production/billing?tab=usage"},
			{"a path outside the stage is untouched", "prod", "/billing", "/billing", "/billing?tab=usage"},
			{"the $default stage is untouched", "$default", "/prod/billing", "/prod/billing", "/prod/billing?tab=usage"},
			{"an empty stage is untouched", "", "/prod/billing", "/prod/billing", "/prod/billing?tab=usage"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := event(t, "get-stage-prod.json")
				e.RequestContext.Stage = tt.stage
				e.RawPath = tt.rawPath
				r := request(t, e)
				if r.URL.Path != tt.wantPath {
					t.Errorf("URL.Path = %q, want %q", r.URL.Path, tt.wantPath)
				}
				if r.RequestURI != tt.wantURI {
					t.Errorf("RequestURI = %q, want %q (what the client asked for)", r.RequestURI, tt.wantURI)
				}
			})
		}
	})

	t.Run("the path falls back to requestContext.http.path when rawPath is empty", func(t *testing.T) {
		e := event(t, "get-stage-prod.json")
		e.RawPath = ""
		if r := request(t, e); r.URL.Path != "/billing" {
			t.Errorf("URL.Path = %q, want /billing", r.URL.Path)
		}
	})

	t.Run("paths arrive decoded from HTTP APIs or encoded, and both are read", func(t *testing.T) {
		tests := []struct {
			name, rawPath, wantPath, wantEscaped string
		}{
			{"a decoded space and non-ASCII letter are escaped", "/static/café menu.pdf", "/static/café menu.pdf", "/static/caf%C3%A9%20menu.pdf"},
			{"an encoded path passes through unchanged", "/static/caf%C3%A9%20menu.pdf", "/static/café menu.pdf", "/static/caf%C3%A9%20menu.pdf"},
			{"an encoded slash stays distinct from a path separator", "/files/a%2Fb", "/files/a/b", "/files/a%2Fb"},
			{"a lone percent sign is kept literally", "/discount/100%", "/discount/100%", "/discount/100%25"},
			{"a decoded question mark does not start a query", "/notes/why?", "/notes/why?", "/notes/why%3F"},
			{"a double slash is a path, not a host", "//billing", "//billing", "//billing"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := event(t, "get-cookies.json")
				e.RawPath = tt.rawPath
				r := request(t, e)
				if r.URL.Path != tt.wantPath || r.URL.EscapedPath() != tt.wantEscaped {
					t.Errorf("URL.Path = %q, EscapedPath = %q; want %q, %q", r.URL.Path, r.URL.EscapedPath(), tt.wantPath, tt.wantEscaped)
				}
				if r.URL.Host != "billing.example.com" || r.URL.RawQuery != "" {
					t.Errorf("URL.Host = %q, RawQuery = %q", r.URL.Host, r.URL.RawQuery)
				}
			})
		}
	})

	t.Run("Host falls back to the domain name when the event has no host header", func(t *testing.T) {
		e := event(t, "get-stage-prod.json")
		delete(e.Headers, "host")
		if r := request(t, e); r.Host != "r4nd0m1d42.execute-api.eu-west-1.amazonaws.com" {
			t.Errorf("Host = %q", r.Host)
		}
	})

	t.Run("an invalid event is an error", func(t *testing.T) {
		tests := []struct {
			name string
			edit func(e *events.APIGatewayV2HTTPRequest)
		}{
			{"a body that is not valid base64", func(e *events.APIGatewayV2HTTPRequest) { e.Body = "not*base64!" }},
			{"a path that does not start with a slash", func(e *events.APIGatewayV2HTTPRequest) { e.RawPath = "billing" }},
			{"a method that is not a token", func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.HTTP.Method = "PO ST" }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := event(t, "post-form-base64.json")
				tt.edit(&e)
				if r, err := gateway.Request(t.Context(), e); err == nil {
					t.Errorf("Request = %v, nil; want an error", r.URL)
				}
			})
		}
	})

	t.Run("RequestID is empty for a context that did not come from an event", func(t *testing.T) {
		if got := gateway.RequestID(t.Context()); got != "" {
			t.Errorf("RequestID = %q, want empty", got)
		}
	})
}
