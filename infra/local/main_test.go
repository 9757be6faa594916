package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/logtest"
	"github.com/truora/minidyn/server"
)

var urlPattern = regexp.MustCompile(`running at (http://[0-9.:]+)/billing`)

// start runs the local server with env and returns its base URL and a
// function that stops it and returns run's error and output.
func start(t *testing.T, env map[string]string) (string, func() (error, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &logtest.Buffer{}
	done := make(chan error, 1)
	env["ADDR"] = "127.0.0.1:0"
	go func() { done <- run(ctx, func(k string) string { return env[k] }, out, io.Discard) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := urlPattern.FindStringSubmatch(out.String()); m != nil {
			stop := func() (error, string) {
				cancel()
				select {
				case err := <-done:
					return err, out.String()
				case <-time.After(10 * time.Second):
					t.Fatal("run did not stop within 10 s of cancellation")
					return nil, ""
				}
			}
			return m[1], stop
		}
		select {
		case err := <-done:
			t.Fatalf("run ended before serving: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed within 30 s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func signIn(t *testing.T, base string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/dev/login?org=acme&email=you@acme.test&role=admin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/billing" {
		t.Fatalf("sign-in landed on %s with %d", resp.Request.URL, resp.StatusCode)
	}
	if !strings.Contains(string(body), "Acme Inc.") || !strings.Contains(string(body), "Total Credits") {
		t.Fatalf("the Overview is not filled:\n%s", body)
	}
	return c
}

// Parts of the pages the demo test reads.
var (
	tbody       = regexp.MustCompile(`(?s)<tbody>(.*?)</tbody>`)
	tableRow    = regexp.MustCompile(`(?s)<tr[ >].*?</tr>`)
	statusCell  = regexp.MustCompile(`(?s)<td data-label="Status">(.*?)</td>`)
	dueDateCell = regexp.MustCompile(`<td data-label="Due Date"><time datetime="([^"]+)"`)
	forecast    = regexp.MustCompile(`(?s)id="forecast">(.*?)</p>`)
	tag         = regexp.MustCompile(`<[^>]*>`)
)

// get reads a page that must answer 200.
func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s answered %d", url, resp.StatusCode)
	}
	return string(body)
}

// tableRowsHTML returns the body rows of the first table after the first
// occurrence of marker in page.
func tableRowsHTML(t *testing.T, page, marker string) []string {
	t.Helper()
	_, after, ok := strings.Cut(page, marker)
	m := tbody.FindStringSubmatch(after)
	if !ok || m == nil {
		t.Fatalf("no table after %s", marker)
	}
	return tableRow.FindAllString(m[1], -1)
}

// tableRows is tableRowsHTML's rows as text.
func tableRows(t *testing.T, page, marker string) []string {
	t.Helper()
	rows := tableRowsHTML(t, page, marker)
	for i, r := range rows {
		rows[i] = text(r)
	}
	return rows
}

// text is HTML as its text, spaces collapsed.
func text(h string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tag.ReplaceAllString(h, " "))), " ")
}

func TestRun(t *testing.T) {
	t.Run("it serves the seeded demo, the static site, and stops cleanly", func(t *testing.T) {
		base, stop := start(t, map[string]string{"USAGE_API_KEY": "test-key-123"})
		c := signIn(t, base)

		resp, err := c.Get(base + "/static/app.css")
		if err != nil {
			t.Fatal(err)
		}
		css, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/css") || len(css) < 1000 {
			t.Errorf("stylesheet: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(css))
		}

		resp, err = c.Get(base + "/billing/balance-history")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"Free Trial Credits", "via Add Credits", "Applied credit balance to invoice"} {
			if !strings.Contains(string(page), want) {
				t.Errorf("balance history lacks %q", want)
			}
		}

		err, out := stop()
		if err != nil {
			t.Errorf("run returned %v", err)
		}
		for _, want := range []string{"/dev/login?org=acme&email=you@acme.test&role=admin", "Usage API key (Authorization: Bearer …): test-key-123", "Stopped."} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if _, err := http.Get(base + "/billing"); err == nil {
			t.Error("the server still answers after stopping")
		}
	})

	t.Run("the demo fills every table on first run: two cards, a tax registration of each status, an open invoice due later, and a forecast", func(t *testing.T) {
		base, stop := start(t, map[string]string{})
		defer stop()
		c := signIn(t, base)

		cards := tableRows(t, get(t, c, base+"/billing/payment-methods"), `<main`)
		if len(cards) != 2 || !strings.Contains(cards[0], "Visa •••• 4242") || !strings.Contains(cards[0], "Default Card") ||
			!strings.Contains(cards[1], "Mastercard •••• 4444") || strings.Contains(cards[1], "Default Card") {
			t.Errorf("payment methods: want the default Visa •••• 4242 and a Mastercard •••• 4444, got %q", cards)
		}

		var statuses []string
		for _, row := range tableRowsHTML(t, get(t, c, base+"/billing/tax"), `id="tax-ids"`) {
			if m := statusCell.FindStringSubmatch(row); m != nil {
				statuses = append(statuses, text(m[1]))
			}
		}
		slices.Sort(statuses)
		if want := []string{"pending", "unavailable", "unverified", "verified"}; !slices.Equal(statuses, want) {
			t.Errorf("tax registrations have the statuses %q, want one of each of %q", statuses, want)
		}

		invoices := get(t, c, base+"/billing/invoices")
		due := tableRowsHTML(t, invoices, `id="payments-due-table"`)
		if len(due) != 1 {
			t.Fatalf("Payments Due lists %d invoices, want the demo's open one", len(due))
		}
		m := dueDateCell.FindStringSubmatch(due[0])
		if m == nil {
			t.Fatalf("the open invoice has no due date: %s", text(due[0]))
		}
		if at, err := time.Parse(time.RFC3339, m[1]); err != nil || !at.After(time.Now()) {
			t.Errorf("the open invoice is due %s (%v), not later than now", m[1], err)
		}
		if !strings.Contains(due[0], "Pay now") {
			t.Errorf("the open invoice has no Pay now: %s", text(due[0]))
		}
		if history := tableRows(t, invoices, `id="history-table"`); len(history) < 2 {
			t.Errorf("the order and invoice history has %d rows, want the demo's top-ups: %q", len(history), history)
		}

		overview := get(t, c, base+"/billing")
		if m := forecast.FindStringSubmatch(overview); m == nil || !strings.Contains(text(m[1]), "your credits last about") {
			t.Errorf("the Overview shows no forecast of how long the credits last")
		}
		if !strings.Contains(text(overview), "is due on") {
			t.Errorf("the Overview does not say an invoice is due")
		}
	})

	t.Run("with AWS_ENDPOINT_URL_DYNAMODB it uses that endpoint and creates the missing table", func(t *testing.T) {
		ddb := httptest.NewServer(server.NewServer())
		defer ddb.Close()
		base, stop := start(t, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": ddb.URL, "TABLE_NAME": "billing-dev"})
		signIn(t, base)
		err, out := stop()
		if err != nil {
			t.Errorf("run returned %v", err)
		}
		if !strings.Contains(out, "DynamoDB endpoint: "+ddb.URL+", table billing-dev") {
			t.Errorf("output does not name the endpoint:\n%s", out)
		}

		// A second start finds the table and the demo already there.
		base, stop = start(t, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": ddb.URL, "TABLE_NAME": "billing-dev"})
		signIn(t, base)
		if err, _ := stop(); err != nil {
			t.Errorf("second run returned %v", err)
		}
	})

	t.Run("a random usage API key is printed when none is set", func(t *testing.T) {
		_, stop := start(t, map[string]string{})
		_, out := stop()
		if !regexp.MustCompile(`Bearer …\): local_[0-9a-f]{48}\n`).MatchString(out) {
			t.Errorf("no random key in:\n%s", out)
		}
	})
}
