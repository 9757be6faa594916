package notify_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"code.dny.dev/ssrf"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/notify"
)

// dns is the injected resolver of the address tests: public names, names
// of private addresses, and a name that changes its answer (rebinding).
var dns = resolver{
	"hooks.example.com":     {"93.184.215.14"},
	"hooks6.example.com":    {"2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
	"intranet.example.com":  {"10.1.2.3"},
	"metadata.example.com":  {"169.254.169.254"},
	"cgnat.example.com":     {"100.64.0.1"},
	"ula.example.com":       {"fd12:3456:789a::1"},
	"mixed.example.com":     {"93.184.215.14", "192.168.1.10"},
	"loopback.example.com":  {"127.0.0.1"},
	"mapped.example.com":    {"::ffff:10.0.0.1"},
	"localhost":             {"127.0.0.1", "::1"},
	"rebinding.example.com": {"93.184.215.14"}, // at save time; see TestDialRefusal
}

func TestCheckWebhookURL(t *testing.T) {
	for _, tc := range []struct {
		name    string
		url     string
		local   bool
		wantErr string // a part of the message; "" for none
	}{
		{"an https URL of a public name is allowed", "https://hooks.example.com/billing", false, ""},
		{"an https URL with a port and a query is allowed", "https://hooks.example.com:8443/billing?source=acme", false, ""},
		{"a public IPv6 host is allowed", "https://hooks6.example.com/", false, ""},
		{"a public IP address is allowed", "https://8.8.8.8/hook", false, ""},
		{"plain http to a loopback port is allowed in local mode", "http://127.0.0.1:9999/hook", true, ""},
		{"plain http to [::1] is allowed in local mode", "http://[::1]:9999/hook", true, ""},
		{"plain http to localhost is allowed in local mode", "http://localhost:9999/hook", true, ""},
		{"https to a public name is allowed in local mode", "https://hooks.example.com/", true, ""},

		{"127.0.0.1 is refused", "https://127.0.0.1/hook", false, "private, loopback or reserved address (127.0.0.1)"},
		{"::1 is refused", "https://[::1]/hook", false, "private, loopback or reserved"},
		{"10.x is refused", "https://10.0.0.7/hook", false, "private, loopback or reserved"},
		{"172.16.x is refused", "https://172.16.5.4/hook", false, "private, loopback or reserved"},
		{"192.168.x is refused", "https://192.168.0.1/hook", false, "private, loopback or reserved"},
		{"the instance metadata address 169.254.169.254 is refused", "https://169.254.169.254/latest/meta-data/", false, "private, loopback or reserved"},
		{"CGNAT 100.64.x is refused", "https://100.64.12.1/hook", false, "private, loopback or reserved"},
		{"unique-local fc00::1 is refused", "https://[fc00::1]/hook", false, "private, loopback or reserved"},
		{"link-local fe80::1 is refused", "https://[fe80::1]/hook", false, "private, loopback or reserved"},
		{"0.0.0.0 is refused", "https://0.0.0.0/hook", false, "private, loopback or reserved"},
		{"an IPv4-mapped private address is refused", "https://[::ffff:192.168.0.1]/hook", false, "private, loopback or reserved"},
		{"a name resolving to 10.x is refused", "https://intranet.example.com/hook", false, "intranet.example.com resolves to 10.1.2.3"},
		{"a name resolving to the metadata address is refused", "https://metadata.example.com/", false, "resolves to 169.254.169.254"},
		{"a name resolving to CGNAT is refused", "https://cgnat.example.com/", false, "resolves to 100.64.0.1"},
		{"a name resolving to a unique-local address is refused", "https://ula.example.com/", false, "resolves to fd12:3456:789a::1"},
		{"a name resolving to a public and a private address is refused", "https://mixed.example.com/", false, "resolves to 192.168.1.10"},
		{"a name resolving to loopback is refused", "https://loopback.example.com/", false, "resolves to 127.0.0.1"},
		{"a name resolving to an IPv4-mapped private address is refused", "https://mapped.example.com/", false, "resolves to 10.0.0.1"},
		{"localhost is refused outside local mode", "https://localhost/", false, "resolves to 127.0.0.1"},
		{"a name that does not resolve is refused", "https://nowhere.example.com/", false, "could not find the host nowhere.example.com"},
		{"private addresses stay refused in local mode", "https://10.0.0.7/hook", true, "private, loopback or reserved"},
		{"a name resolving to a private address stays refused in local mode", "https://intranet.example.com/", true, "resolves to 10.1.2.3"},

		{"plain http is refused outside local mode", "http://hooks.example.com/hook", false, "must start with https://"},
		{"plain http to loopback is refused outside local mode", "http://127.0.0.1:9999/hook", false, "must start with https://"},
		{"plain http to a public name is refused in local mode", "http://hooks.example.com/hook", true, "only for a loopback address"},
		{"a user name and password are refused", "https://user:pass@hooks.example.com/hook", false, "user name or password"},
		{"a user name alone is refused", "https://token@hooks.example.com/hook", false, "user name or password"},
		{"other schemes are refused", "ftp://hooks.example.com/", false, "must start with https://"},
		{"a URL without a host is refused", "https:///hook", false, "needs a host"},
		{"a relative URL is refused", "/hook", false, "must start with https://"},
		{"port 0 is refused", "https://hooks.example.com:0/", false, "from 1 to 65535"},
		{"a port above 65535 is refused", "https://hooks.example.com:70000/", false, "from 1 to 65535"},
		{"an empty URL is refused", "  ", false, "Enter the webhook URL"},
		{"a URL too long is refused", "https://hooks.example.com/" + strings.Repeat("a", 2000), false, "too long"},
		{"text that is not a URL is refused", "https://exa mple.com/%zz", false, "valid URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := notify.CheckWebhookURL(t.Context(), dns, tc.url, tc.local)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("CheckWebhookURL(%q, local=%v): %v", tc.url, tc.local, err)
				}
				return
			}
			var be *billing.Error
			if !errors.As(err, &be) || be.Code != billing.EINVALID || be.Field != "webhook_url" {
				t.Fatalf("CheckWebhookURL(%q, local=%v) = %v, want a field error on webhook_url", tc.url, tc.local, err)
			}
			if !strings.Contains(be.Message, tc.wantErr) {
				t.Errorf("message %q does not contain %q", be.Message, tc.wantErr)
			}
		})
	}

	t.Run("ValidateWebhookURL refuses loopback with the system resolver", func(t *testing.T) {
		if err := notify.ValidateWebhookURL("https://127.0.0.1:8443/hook", false); err == nil {
			t.Error("no error")
		}
		if err := notify.ValidateWebhookURL("http://127.0.0.1:8443/hook", true); err != nil {
			t.Errorf("local mode: %v", err)
		}
	})
}

// TestDialRefusal proves the check at dial time: whatever was validated
// when the URL was saved, the client refuses to connect to a forbidden
// address.
func TestDialRefusal(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(plain.Close)
	port := mustURL(t, tlsSrv.URL).Port()

	// At dial time the rebinding name answers with the loopback address
	// of the test server.
	rebound := resolver{"rebinding.example.com": {"127.0.0.1"}, "localhost": {"127.0.0.1"}}

	for _, tc := range []struct {
		name  string
		local bool
		url   string
	}{
		{"a loopback test server is refused outside local mode", false, tlsSrv.URL},
		{"a name that resolved public when saved and resolves to loopback now is refused", false, "https://rebinding.example.com:" + port + "/hook"},
		{"localhost is refused outside local mode", false, "https://localhost:" + port + "/"},
		{"a plain http loopback server is refused outside local mode", false, plain.URL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := notify.NewHTTPClient(tc.local, rebound).Post(tc.url, "application/json", strings.NewReader("{}"))
			if err == nil {
				res.Body.Close()
				t.Fatalf("POST %s: status %d, want a refused connection", tc.url, res.StatusCode)
			}
			if !errors.Is(err, ssrf.ErrProhibitedIP) {
				t.Errorf("POST %s: %v, want ssrf.ErrProhibitedIP", tc.url, err)
			}
		})
	}

	t.Run("the same loopback server is reached in local mode", func(t *testing.T) {
		res, err := notify.NewHTTPClient(true, rebound).Post(plain.URL, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("POST %s: %v", plain.URL, err)
		}
		res.Body.Close()
	})

	t.Run("redirects are not followed", func(t *testing.T) {
		redirect := httptest.NewServer(http.RedirectHandler("http://169.254.169.254/latest/meta-data/", http.StatusFound))
		t.Cleanup(redirect.Close)
		res, err := notify.NewHTTPClient(true, nil).Post(redirect.URL, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound {
			t.Errorf("status %d, want the 302 itself", res.StatusCode)
		}
	})

	t.Run("a delivery to a rebound name is recorded as refused, and retried", func(t *testing.T) {
		if err := notify.CheckWebhookURL(t.Context(), dns, "https://rebinding.example.com:"+port+"/hook", false); err != nil {
			t.Fatalf("at save time the URL is valid: %v", err)
		}
		e := newEnvWith(t, notify.NewHTTPClient(false, rebound), false)
		e.setWebhook("acme", "https://rebinding.example.com:"+port+"/hook")
		if err := e.notifier.Handle(t.Context(), event(t, budgetReached("acme", start))); err != nil {
			t.Fatal(err)
		}
		d := e.delivery("acme", notify.ChannelWebhook)
		if d.Status != notify.StatusPending || d.StatusCode != 0 || !strings.Contains(d.Error, "Refused") {
			t.Fatalf("delivery %+v, want pending, refused", d)
		}
		e.clock.Set(d.NextAttempt)
		e.retry()
		if d := e.delivery("acme", notify.ChannelWebhook); d.Status != notify.StatusPending || d.Attempts != 2 || !strings.Contains(d.Error, "Refused") {
			t.Errorf("after the retry %+v, want pending, refused twice", d)
		}
	})

	t.Run("a delivery in AWS mode to a plain http URL saved earlier is refused before dialling", func(t *testing.T) {
		e := newEnvWith(t, nil, false)
		e.setWebhook("acme", plain.URL)
		if _, err := e.notifier.SendTest(t.Context(), "acme"); err != nil {
			t.Fatal(err)
		}
		d := e.delivery("acme", notify.ChannelWebhook)
		if d.Status != notify.StatusFailed || !strings.Contains(d.Error, "https://") {
			t.Errorf("delivery %+v, want failed: https required", d)
		}
	})
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
