package gateway

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// responseWriter buffers a handler's response the way net/http's server
// would send it: the first WriteHeader (or Write) fixes the status and a
// snapshot of the header map; later header changes and WriteHeader calls are
// ignored.
type responseWriter struct {
	header http.Header
	sent   http.Header // header snapshot taken at WriteHeader; nil before
	status int
	body   bytes.Buffer
}

var _ http.ResponseWriter = (*responseWriter)(nil)

// newResponseWriter returns an empty responseWriter.
func newResponseWriter() *responseWriter {
	return &responseWriter{header: make(http.Header)}
}

// Header returns the header map that WriteHeader will send.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader records the status code. Like net/http it panics on a code
// outside 100-999, ignores informational (1xx) codes other than 101 and
// ignores every call after the first.
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.sent != nil || code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		return
	}
	w.status = code
	w.sent = w.header.Clone()
	if w.sent == nil {
		w.sent = make(http.Header)
	}
}

// Write buffers p, calling WriteHeader(http.StatusOK) first if needed. It
// returns http.ErrBodyNotAllowed when the status forbids a body (1xx, 204,
// 304).
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.sent == nil {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	return w.body.Write(p)
}

// response encodes what the handler produced as an API Gateway v2 response.
// With head set (a HEAD request) the body is dropped, but the status and
// headers, including a sniffed Content-Type, are what a GET would get.
//
// Set-Cookie values go to Cookies, one per cookie, because a Set-Cookie value
// may itself contain a comma (Expires=Wed, 21 Oct ...) and so cannot be joined.
// Every other header with several values is joined with ", " into one value.
// RFC 9110 section 5.3 defines exactly this: repeated field lines of a
// list-based field are equivalent to one line with the values separated by
// commas, and Set-Cookie is the one field that is not list-based. Payload
// format 2.0 has no multi-value headers, so this is the only way to return
// them.
//
// A text body (see isText) is returned as a string; anything else is base64
// with IsBase64Encoded set.
func (w *responseWriter) response(head bool) events.APIGatewayV2HTTPResponse {
	if w.sent == nil {
		w.WriteHeader(http.StatusOK)
	}
	h := w.sent
	body := w.body.Bytes()
	if bodyAllowedForStatus(w.status) {
		// Sniff as net/http does: not when the handler set Content-Type (even
		// to nil, to suppress sniffing) or a Content-Encoding.
		if _, ok := h["Content-Type"]; !ok && h.Get("Content-Encoding") == "" && len(body) > 0 {
			h.Set("Content-Type", http.DetectContentType(body))
		}
	}

	resp := events.APIGatewayV2HTTPResponse{
		StatusCode: w.status,
		Headers:    make(map[string]string, len(h)),
	}
	for name, values := range h {
		if len(values) == 0 {
			continue
		}
		if name == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, values...)
			continue
		}
		resp.Headers[name] = strings.Join(values, ", ")
	}

	if head || len(body) == 0 {
		return resp
	}
	if isText(h.Get("Content-Type")) && utf8.Valid(body) {
		resp.Body = string(body)
		return resp
	}
	resp.Body = base64.StdEncoding.EncodeToString(body)
	resp.IsBase64Encoded = true
	return resp
}

// textTypes are the media types outside text/* whose bodies are text.
var textTypes = map[string]bool{
	"application/json":                  true,
	"application/xml":                   true,
	"application/javascript":            true,
	"application/x-www-form-urlencoded": true,
	"image/svg+xml":                     true,
}

// isText reports whether a body of the given Content-Type can go back to API
// Gateway as a plain string: text/*, the textTypes, and any type with a
// charset parameter. The caller must still check the body is valid UTF-8,
// because the Lambda response is JSON and JSON strings cannot carry other
// bytes.
func isText(contentType string) bool {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		// Be lenient with a malformed parameter list; the type still counts.
		mediaType, _, _ = strings.Cut(contentType, ";")
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
		params = nil
		if strings.Contains(strings.ToLower(contentType), "charset=") {
			return true
		}
	}
	return strings.HasPrefix(mediaType, "text/") || textTypes[mediaType] || params["charset"] != ""
}

// bodyAllowedForStatus reports whether a response with the given status may
// have a body (RFC 9110: not 1xx, 204 or 304).
func bodyAllowedForStatus(status int) bool {
	switch {
	case status >= 100 && status <= 199, status == http.StatusNoContent, status == http.StatusNotModified:
		return false
	}
	return true
}
