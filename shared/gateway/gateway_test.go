package gateway_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/billing/shared/gateway"
)

// event reads testdata/name, an API Gateway payload 2.0 event as AWS sends it.
func event(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("unmarshal %s: %v", name, err)
	}
	return e
}

// invoke runs h through the adapter for e, as the Lambda runtime would.
func invoke(t *testing.T, h http.Handler, e events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := gateway.Handler(h)(t.Context(), e)
	if err != nil {
		t.Fatalf("Handler returned error: %v", err)
	}
	return resp
}

func TestHandler(t *testing.T) {
	t.Run("request cookies reach the handler and two Set-Cookie headers become two response cookies", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			session, err := r.Cookie("session")
			if err != nil {
				t.Errorf("r.Cookie(session): %v", err)
				return
			}
			theme, err := r.Cookie("theme")
			if err != nil {
				t.Errorf("r.Cookie(theme): %v", err)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "session", Value: session.Value, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
			http.SetCookie(w, &http.Cookie{Name: "theme", Value: theme.Value, Path: "/", MaxAge: 3600})
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, session.Value+" "+theme.Value)
		})

		resp := invoke(t, h, event(t, "get-cookies.json"))

		if resp.StatusCode != http.StatusOK || resp.Body != "s3ss10n-t0k3n dark" {
			t.Errorf("got %d %q, want 200 %q", resp.StatusCode, resp.Body, "s3ss10n-t0k3n dark")
		}
		want := []string{
			"session=s3ss10n-t0k3n; Path=/; HttpOnly; Secure; SameSite=Lax",
			"theme=dark; Path=/; Max-Age=3600",
		}
		if !slices.Equal(resp.Cookies, want) {
			t.Errorf("Cookies = %q, want %q", resp.Cookies, want)
		}
		if v, ok := resp.Headers["Set-Cookie"]; ok {
			t.Errorf("Headers carry Set-Cookie %q; cookies belong in Cookies only", v)
		}
	})

	t.Run("a status is 200 whenever the handler does not write one", func(t *testing.T) {
		tests := []struct {
			name     string
			handler  http.HandlerFunc
			wantBody string
		}{
			{
				name: "a handler that writes a body without WriteHeader",
				handler: func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/plain; charset=utf-8")
					io.WriteString(w, "ok")
				},
				wantBody: "ok",
			},
			{
				name:     "a handler that writes nothing",
				handler:  func(w http.ResponseWriter, r *http.Request) {},
				wantBody: "",
			},
			{
				name: "a handler that only sets headers",
				handler: func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "no-store")
				},
				wantBody: "",
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := invoke(t, tt.handler, event(t, "get-cookies.json"))
				if resp.StatusCode != http.StatusOK {
					t.Errorf("StatusCode = %d, want 200", resp.StatusCode)
				}
				if resp.Body != tt.wantBody || resp.IsBase64Encoded {
					t.Errorf("Body = %q (base64 %v), want %q", resp.Body, resp.IsBase64Encoded, tt.wantBody)
				}
			})
		}
	})

	t.Run("HEAD gives the handler's status and headers but no body", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodHead {
				t.Errorf("Method = %q, want HEAD", r.Method)
			}
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("ETag", `"v1"`)
			io.WriteString(w, "<!DOCTYPE html><html><body>Billing</body></html>")
		})

		resp := invoke(t, h, event(t, "head-billing.json"))

		if resp.StatusCode != http.StatusOK {
			t.Errorf("StatusCode = %d, want 200", resp.StatusCode)
		}
		if resp.Body != "" || resp.IsBase64Encoded {
			t.Errorf("Body = %q (base64 %v), want empty", resp.Body, resp.IsBase64Encoded)
		}
		want := map[string]string{
			"Cache-Control": "no-store",
			"Etag":          `"v1"`,
			"Content-Type":  "text/html; charset=utf-8", // sniffed, as a GET would get
		}
		for name, v := range want {
			if got := resp.Headers[name]; got != v {
				t.Errorf("Headers[%s] = %q, want %q", name, got, v)
			}
		}
	})

	t.Run("a named stage is stripped before routing and the $default stage is not", func(t *testing.T) {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /billing", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "overview "+r.URL.Path+" "+r.URL.Query().Get("tab"))
		})
		tests := []struct {
			name     string
			event    string
			wantBody string
		}{
			{"an event on stage prod for /prod/billing reaches GET /billing", "get-stage-prod.json", "overview /billing usage"},
			{"an event on stage $default for /billing reaches GET /billing", "get-cookies.json", "overview /billing "},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := invoke(t, mux, event(t, tt.event))
				if resp.StatusCode != http.StatusOK || resp.Body != tt.wantBody {
					t.Errorf("got %d %q, want 200 %q", resp.StatusCode, resp.Body, tt.wantBody)
				}
			})
		}
	})

	t.Run("bodies are strings for text types and base64 for everything else", func(t *testing.T) {
		pdf := []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
		png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
		latin1 := []byte("Z\xfcrich")
		tests := []struct {
			name        string
			contentType string // "" leaves Content-Type unset, so it is sniffed
			body        []byte
			wantType    string
			wantBase64  bool
		}{
			{"a PDF comes back base64", "application/pdf", pdf, "application/pdf", true},
			{"a PNG comes back base64", "image/png", png, "image/png", true},
			{"octet-stream comes back base64", "application/octet-stream", []byte("plain bytes"), "application/octet-stream", true},
			{"HTML comes back as a string", "text/html; charset=utf-8", []byte("<p>Zürich</p>"), "text/html; charset=utf-8", false},
			{"CSV comes back as a string", "text/csv", []byte("date,amount\n2026-03-01,12.50\n"), "text/csv", false},
			{"JSON comes back as a string", "application/json", []byte(`{"allowed":true,"available":"12.500000"}`), "application/json", false},
			{"XML comes back as a string", "application/xml", []byte("<a/>"), "application/xml", false},
			{"JavaScript comes back as a string", "application/javascript", []byte("let a = 1;"), "application/javascript", false},
			{"SVG comes back as a string", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), "image/svg+xml", false},
			{"a form body comes back as a string", "application/x-www-form-urlencoded", []byte("a=1&b=2"), "application/x-www-form-urlencoded", false},
			{"any type with a charset comes back as a string", "application/problem+json; charset=utf-8", []byte(`{"title":"x"}`), "application/problem+json; charset=utf-8", false},
			{"text that is not UTF-8 comes back base64, since JSON cannot carry it", "text/plain; charset=iso-8859-1", latin1, "text/plain; charset=iso-8859-1", true},
			{"an unlabelled HTML body is sniffed as HTML and comes back as a string", "", []byte("<!DOCTYPE html><title>Invoices</title>"), "text/html; charset=utf-8", false},
			{"an unlabelled PDF body is sniffed as PDF and comes back base64", "", pdf, "application/pdf", true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if tt.contentType != "" {
						w.Header().Set("Content-Type", tt.contentType)
					}
					w.Write(tt.body)
				})

				resp := invoke(t, h, event(t, "get-cookies.json"))

				if got := resp.Headers["Content-Type"]; got != tt.wantType {
					t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
				}
				if resp.IsBase64Encoded != tt.wantBase64 {
					t.Fatalf("IsBase64Encoded = %v, want %v", resp.IsBase64Encoded, tt.wantBase64)
				}
				got := []byte(resp.Body)
				if resp.IsBase64Encoded {
					var err error
					if got, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
						t.Fatalf("decode body: %v", err)
					}
				}
				if !bytes.Equal(got, tt.body) {
					t.Errorf("body = %q, want %q", got, tt.body)
				}
			})
		}
	})

	t.Run("a handler that sets Content-Type to nil suppresses sniffing, as under net/http", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			io.WriteString(w, "<html></html>")
		})
		resp := invoke(t, h, event(t, "get-cookies.json"))
		if v, ok := resp.Headers["Content-Type"]; ok {
			t.Errorf("Content-Type = %q, want none", v)
		}
	})

	t.Run("repeated response headers are joined with a comma into one value", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Vary", "Accept-Encoding")
			w.Header().Add("Vary", "Cookie")
			w.Header().Add("Cache-Control", "private")
			w.Header().Add("Cache-Control", "max-age=0")
		})
		resp := invoke(t, h, event(t, "get-cookies.json"))
		want := map[string]string{"Vary": "Accept-Encoding, Cookie", "Cache-Control": "private, max-age=0"}
		for name, v := range want {
			if got := resp.Headers[name]; got != v {
				t.Errorf("Headers[%s] = %q, want %q", name, got, v)
			}
		}
	})

	t.Run("headers changed after WriteHeader are not sent, as under net/http", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/billing")
			w.WriteHeader(http.StatusSeeOther)
			w.Header().Set("X-Late", "yes")
			w.WriteHeader(http.StatusInternalServerError)
		})
		resp := invoke(t, h, event(t, "get-cookies.json"))
		if resp.StatusCode != http.StatusSeeOther || resp.Headers["Location"] != "/billing" {
			t.Errorf("got %d Location %q, want 303 /billing", resp.StatusCode, resp.Headers["Location"])
		}
		if v, ok := resp.Headers["X-Late"]; ok {
			t.Errorf("X-Late = %q, want none", v)
		}
	})

	t.Run("a 304 response has no body and Write reports ErrBodyNotAllowed", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"b"`)
			w.WriteHeader(http.StatusNotModified)
			if _, err := io.WriteString(w, "ignored"); !errors.Is(err, http.ErrBodyNotAllowed) {
				t.Errorf("Write after 304: err = %v, want ErrBodyNotAllowed", err)
			}
		})
		resp := invoke(t, h, event(t, "get-header-commas.json"))
		if resp.StatusCode != http.StatusNotModified || resp.Body != "" {
			t.Errorf("got %d %q, want 304 with no body", resp.StatusCode, resp.Body)
		}
	})

	t.Run("a panic becomes 500 Internal error. and is logged without the request body", func(t *testing.T) {
		var logs bytes.Buffer
		old := slog.Default()
		slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
		t.Cleanup(func() { slog.SetDefault(old) })

		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			w.Header().Set("X-Partial", "yes")
			io.WriteString(w, "half a page")
			panic("store: nil organisation")
		})

		resp := invoke(t, h, event(t, "post-form-base64.json"))

		if resp.StatusCode != http.StatusInternalServerError || resp.Body != "Internal error." {
			t.Errorf("got %d %q, want 500 %q", resp.StatusCode, resp.Body, "Internal error.")
		}
		if v, ok := resp.Headers["X-Partial"]; ok {
			t.Errorf("X-Partial = %q; the panicking handler's headers must be dropped", v)
		}
		for _, want := range []string{"store: nil organisation", "HkZ5ZjvdIAMEbXg=", `"level":"ERROR"`} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs.String())
			}
		}
		for _, secret := range []string{"Bahnhofstrasse", "Acme"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("log contains request body text %q:\n%s", secret, logs.String())
			}
		}
	})

	t.Run("an event whose body is not valid base64 gets 400 and no error", func(t *testing.T) {
		e := event(t, "post-form-base64.json")
		e.Body = "not*base64!"
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Error("handler called for an invalid event")
		})
		resp := invoke(t, h, e)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("StatusCode = %d, want 400", resp.StatusCode)
		}
	})

	t.Run("the response marshals to the JSON API Gateway expects", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
			w.Header().Set("Content-Type", "application/pdf")
			w.Write([]byte("%PDF-1.7"))
		})
		b, err := json.Marshal(invoke(t, h, event(t, "get-cookies.json")))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got["statusCode"] != 200.0 || got["isBase64Encoded"] != true || got["body"] != "JVBERi0xLjc=" {
			t.Errorf("response JSON = %s", b)
		}
		if cookies, _ := got["cookies"].([]any); len(cookies) != 1 || cookies[0] != "a=1" {
			t.Errorf("cookies = %v, want [a=1]", got["cookies"])
		}
	})
}

func TestHandlerCrossOriginProtection(t *testing.T) {
	h := http.NewCrossOriginProtection().Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "credits added")
	}))
	tests := []struct {
		name       string
		event      string
		edit       func(e *events.APIGatewayV2HTTPRequest)
		wantStatus int
	}{
		{
			name:       "a same-origin POST is accepted",
			event:      "post-same-origin.json",
			wantStatus: http.StatusOK,
		},
		{
			name:       "a cross-site POST is rejected with 403",
			event:      "post-cross-site.json",
			wantStatus: http.StatusForbidden,
		},
		{
			name:  "a POST without Sec-Fetch-Site whose Origin matches the Host is accepted",
			event: "post-same-origin.json",
			edit: func(e *events.APIGatewayV2HTTPRequest) {
				delete(e.Headers, "sec-fetch-site")
			},
			wantStatus: http.StatusOK,
		},
		{
			name:  "a POST without Sec-Fetch-Site whose Origin differs from the Host is rejected with 403",
			event: "post-cross-site.json",
			edit: func(e *events.APIGatewayV2HTTPRequest) {
				delete(e.Headers, "sec-fetch-site")
			},
			wantStatus: http.StatusForbidden,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := event(t, tt.event)
			if tt.edit != nil {
				tt.edit(&e)
			}
			resp := invoke(t, h, e)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("StatusCode = %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, resp.Body)
			}
		})
	}
}
