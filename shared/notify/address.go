package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"code.dny.dev/ssrf"
	"github.com/acme/billing/shared/billing"
)

// Resolver looks up the addresses of a host name. *net.Resolver is one;
// tests inject their own answers.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// WebhookTimeout is how long one webhook delivery may take, from dialling
// to the end of the response headers.
const WebhookTimeout = 10 * time.Second

// maxURLLength bounds a webhook URL.
const maxURLLength = 2000

// fieldWebhookURL is the Spend Management form field of the webhook URL.
const fieldWebhookURL = "webhook_url"

var (
	loopbackV4 = netip.MustParsePrefix("127.0.0.0/8")
	loopbackV6 = netip.MustParsePrefix("::1/128")
)

// guardian returns the address policy of webhook connections: no
// loopback, private (RFC 1918), link-local (169.254.0.0/16, with the
// instance metadata service), CGNAT (100.64.0.0/10), unique-local
// (fc00::/7), unspecified, multicast or otherwise reserved address, on any
// port. Local mode also allows loopback, for receivers on the developer's
// machine.
func guardian(local bool) *ssrf.Guardian {
	opts := []ssrf.Option{ssrf.WithAnyPort()}
	if local {
		opts = append(opts, ssrf.WithAllowedV4Prefixes(loopbackV4), ssrf.WithAllowedV6Prefixes(loopbackV6))
	}
	return ssrf.New(opts...)
}

// NewHTTPClient returns the client webhooks are delivered with: every
// connection's address is checked when it is dialled (the ssrf Guardian
// as the dialer's Control hook, so a name that resolved to a public
// address when it was saved and to a private one now is refused),
// redirects are not followed, no proxy is used, and a request times out
// after WebhookTimeout. Local mode also allows loopback addresses. r
// resolves host names; nil means net.DefaultResolver.
func NewHTTPClient(local bool, r Resolver) *http.Client {
	if r == nil {
		r = net.DefaultResolver
	}
	d := &dialer{resolver: r, net: &net.Dialer{Timeout: 5 * time.Second, Control: guardian(local).Safe}}
	return &http.Client{
		Timeout: WebhookTimeout,
		Transport: &http.Transport{
			Proxy:                 nil, // a proxy would dial for us, past the guard
			DialContext:           d.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: WebhookTimeout,
			MaxIdleConns:          16,
			IdleConnTimeout:       30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dialer resolves a host with its resolver and dials each address in turn
// with a net.Dialer whose Control hook refuses forbidden addresses.
type dialer struct {
	resolver Resolver
	net      *net.Dialer
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	addrs, err := lookup(ctx, d.resolver, host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, a := range addrs {
		c, err := d.net.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// lookup returns the addresses of host: itself when it is an IP address,
// else what r answers. IPv4-mapped IPv6 addresses are unmapped.
func lookup(ctx context.Context, r Resolver, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, nil
}

// ValidateWebhookURL checks a webhook URL before it is saved, resolving
// its host with the system resolver (for at most 5 s). See
// CheckWebhookURL for the rules; errors are billing.FieldError on
// "webhook_url" with a message for the form. An empty URL is an error:
// callers treat "" as "remove the webhook" before validating.
func ValidateWebhookURL(raw string, local bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return CheckWebhookURL(ctx, net.DefaultResolver, raw, local)
}

// CheckWebhookURL is ValidateWebhookURL with resolver r: the URL must be
// https (plain http only to a loopback host, and only in local mode), with
// a host, an optional port from 1 to 65535, and no user name or password;
// and every address its host resolves to must be allowed (no loopback
// outside local mode, no private, link-local, CGNAT, unique-local or
// reserved address). Errors are billing.FieldError on "webhook_url".
func CheckWebhookURL(ctx context.Context, r Resolver, raw string, local bool) error {
	u, err := parseWebhookURL(raw, local)
	if err != nil {
		return err
	}
	host := u.Hostname()
	addrs, err := lookup(ctx, r, host)
	if err != nil {
		return billing.FieldError(fieldWebhookURL, "We could not find the host %s. Check the webhook URL.", host)
	}
	g := guardian(local)
	for _, a := range addrs {
		if g.SafeAddr(a) != nil {
			if a.String() == host {
				return billing.FieldError(fieldWebhookURL, "The webhook URL must not point to a private, loopback or reserved address (%s).", host)
			}
			return billing.FieldError(fieldWebhookURL, "The webhook URL must not point to a private, loopback or reserved address (%s resolves to %s).", host, a)
		}
		if u.Scheme == "http" && !isLoopback(a) {
			return billing.FieldError(fieldWebhookURL, "Plain http:// is allowed only for a loopback address; %s resolves to %s. Use https://.", host, a)
		}
	}
	return nil
}

// parseWebhookURL checks the form of a webhook URL, without resolving it:
// what every delivery checks again before sending (the dialer checks the
// addresses).
func parseWebhookURL(raw string, local bool) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, billing.FieldError(fieldWebhookURL, "Enter the webhook URL, starting with https://.")
	}
	if len(raw) > maxURLLength {
		return nil, billing.FieldError(fieldWebhookURL, "The webhook URL is too long: at most %d characters.", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return nil, billing.FieldError(fieldWebhookURL, "Enter a valid URL, like https://example.com/webhooks.")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !local {
			return nil, billing.FieldError(fieldWebhookURL, "The webhook URL must start with https://.")
		}
		if !loopbackName(u.Hostname()) {
			return nil, billing.FieldError(fieldWebhookURL, "Plain http:// is allowed only for a loopback address (127.0.0.1, [::1] or localhost) in local mode. Use https://.")
		}
	default:
		return nil, billing.FieldError(fieldWebhookURL, "The webhook URL must start with https://.")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.User != nil {
		return nil, billing.FieldError(fieldWebhookURL, "The webhook URL must not contain a user name or password.")
	}
	if u.Hostname() == "" {
		return nil, billing.FieldError(fieldWebhookURL, "The webhook URL needs a host, like https://example.com/webhooks.")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, billing.FieldError(fieldWebhookURL, "The port of the webhook URL must be a number from 1 to 65535.")
		}
	}
	return u, nil
}

// loopbackName reports whether host names the loopback interface: a
// loopback address or localhost.
func loopbackName(host string) bool {
	if a, err := netip.ParseAddr(host); err == nil {
		return isLoopback(a.Unmap())
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

func isLoopback(a netip.Addr) bool { return loopbackV4.Contains(a) || loopbackV6.Contains(a) }

// hostOf returns the host of a webhook URL for logs and messages, never
// its path or query (which may carry the customer's tokens).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Host
}

// describe turns a webhook delivery error into a message for the
// delivery record, safe to show the customer.
func describe(err error) string {
	var dnsErr *net.DNSError
	var status *statusError
	var field *billing.Error
	switch {
	case errors.As(err, &status):
		return status.Error()
	case errors.As(err, &field):
		return field.Message
	case errors.Is(err, errBadSecret):
		return "The signing secret is not valid; rotate it on the Spend Management page."
	case errors.Is(err, ssrf.ErrProhibitedIP), errors.Is(err, ssrf.ErrProhibitedNetwork), errors.Is(err, ssrf.ErrProhibitedPort):
		return "Refused: the webhook host resolves to a private, loopback or reserved address."
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("No answer within %d seconds.", int(WebhookTimeout/time.Second))
	case errors.As(err, &dnsErr):
		return "The webhook host name could not be resolved."
	default:
		return "Could not connect to the webhook URL."
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
