package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

// rawEvent is one event of a hand-written body: id is put between the
// quotes as is, so it may hold escapes and invalid bytes.
func rawEvent(id, amount string) string {
	return `{"id":"` + id + `","org_id":"acme","amount":"` + amount + `","description":"API call","time":"` + lateInMonth.Format(time.RFC3339) + `"}`
}

// outcomes returns "id status reason" of each result of a usage answer.
func outcomes(t *testing.T, res response) []string {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", res.status, res.body)
	}
	var out []string
	for _, r := range decodeJSON[usageAnswer](t, res).Results {
		out = append(out, strings.TrimSpace(r.ID+" "+r.Status+" "+r.Reason))
	}
	return out
}

func TestUsageAPIExactIDs(t *testing.T) {
	base := newUsageAPI(t, lateInMonth, usageAPIOptions{})
	lone := strings.Repeat("\uFFFD", 3)
	tests := []struct {
		name   string
		events []string
		want   []string
		usage  string
	}{
		{"ids that differ only in invalid UTF-8 bytes are both rejected with invalid_id, never one billed and one a duplicate",
			[]string{rawEvent("x-\xff", "5"), rawEvent("x-\xfe", "5"), rawEvent("x-ok", "1")},
			[]string{"x-\uFFFD rejected invalid_id", "x-\uFFFD rejected invalid_id", "x-ok accepted"}, "1"},
		{"lone surrogate escapes are rejected with invalid_id",
			[]string{rawEvent(`\ud800`, "5"), rawEvent(`s-\udbff`, "5"), rawEvent(`s-\udc00x`, "5"), rawEvent(`s-\ud800\u0041`, "5"), rawEvent(`s-\ude00\ud83d`, "5")},
			// The answer shows each byte of a lone surrogate's WTF-8 as U+FFFD.
			[]string{lone + " rejected invalid_id", "s-" + lone + " rejected invalid_id", "s-" + lone + "x rejected invalid_id", "s-" + lone + "A rejected invalid_id", "s-" + lone + lone + " rejected invalid_id"}, "0"},
		{"a surrogate pair escape is the character it stands for: the same id as its UTF-8",
			[]string{rawEvent(`p-\ud83d\ude00`, "2"), rawEvent("p-😀", "2")},
			[]string{"p-😀 accepted", "p-😀 duplicate"}, "2"},
		{"an escaped id is the same id as its plain form",
			[]string{rawEvent(`\u0065vt-1`, "3"), rawEvent("evt-1", "3"), rawEvent(`evt\u002d1`, "3")},
			[]string{"evt-1 accepted", "evt-1 duplicate", "evt-1 duplicate"}, "3"},
		{"ids are not normalised: é composed and decomposed are two events",
			[]string{rawEvent("n-\u00e9", "1"), rawEvent("n-e\u0301", "1")},
			[]string{"n-\u00e9 accepted", "n-e\u0301 accepted"}, "2"},
		{"ids keep their case and spaces",
			[]string{rawEvent("c-A", "1"), rawEvent("c-a", "1"), rawEvent("c-a ", "1")},
			[]string{"c-A accepted", "c-a accepted", "c-a  accepted"}, "3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
			got := outcomes(t, api.post(`{"events":[`+strings.Join(tc.events, ",")+`]}`))
			if !slices.Equal(got, tc.want) {
				t.Errorf("results %q, want %q", got, tc.want)
			}
			if p := api.usagePeriod("acme"); p != money.MustParse(tc.usage) {
				t.Errorf("Usage This Period %v, want %s", p, tc.usage)
			}
		})
	}

	t.Run("a description with invalid UTF-8 is rejected with invalid_description", func(t *testing.T) {
		api := base.as(t)
		body := `{"events":[{"id":"d-1","org_id":"acme","amount":"1","description":"call ` + "\xc3" + `","time":"` + lateInMonth.Format(time.RFC3339) + `"}]}`
		if got := outcomes(t, api.post(body)); !slices.Equal(got, []string{"d-1 rejected invalid_description"}) {
			t.Errorf("results %q, want invalid_description", got)
		}
	})

	t.Run("null stands for an absent field", func(t *testing.T) {
		api := base.as(t)
		body := `{"events":[{"id":"n-1","org_id":"acme","amount":"1","description":null,"time":"` + lateInMonth.Format(time.RFC3339) + `"},{"id":null,"org_id":"acme","amount":"1","time":"` + lateInMonth.Format(time.RFC3339) + `"}]}`
		if got := outcomes(t, api.post(body)); !slices.Equal(got, []string{"n-1 accepted", "rejected invalid_id"}) {
			t.Errorf("results %q, want the first accepted, the second without an id rejected", got)
		}
	})
}

func TestUsageAPIStrictBody(t *testing.T) {
	base := newUsageAPI(t, lateInMonth, usageAPIOptions{})
	at := lateInMonth.Format(time.RFC3339)
	one := `{"events":[` + rawEvent("evt-1", "1") + `]}`
	ev := func(fields string) string { return `{"events":[{` + fields + `}]}` }
	bad := []struct{ name, body, message string }{
		{"trailing text after the JSON", one + "x", "trailing data after the JSON body"},
		{"a second JSON object after the first", one + one, "trailing data after the JSON body"},
		{"a stray bracket after the JSON", one + "]", "trailing data after the JSON body"},
		{"a null after the JSON", one + " null", "trailing data after the JSON body"},
		{"the key events twice, the second with another amount", `{"events":[` + rawEvent("evt-1", "1") + `],"events":[` + rawEvent("evt-1", "1000") + `]}`, `duplicate key "events" in the body`},
		{"an amount twice in an event", ev(`"id":"evt-1","org_id":"acme","amount":"1","amount":"1000","time":"` + at + `"`), `duplicate key "amount" in events[0]`},
		{"an amount twice, once escaped", ev(`"id":"evt-1","org_id":"acme","amount":"1","\u0061mount":"1000","time":"` + at + `"`), `duplicate key "amount" in events[0]`},
		{"an id twice in the second event", `{"events":[` + rawEvent("evt-1", "1") + `,{"id":"a","id":"b"}]}`, `duplicate key "id" in events[1]`},
		{"the key EVENTS", strings.Replace(one, `"events"`, `"EVENTS"`, 1), `key "EVENTS" in the body must be written "events"`},
		{"the key Events", strings.Replace(one, `"events"`, `"Events"`, 1), `key "Events" in the body must be written "events"`},
		{"the key Org_Id", strings.Replace(one, `"org_id"`, `"Org_Id"`, 1), `key "Org_Id" in events[0] must be written "org_id"`},
		{"the key ID", strings.Replace(one, `"id"`, `"ID"`, 1), `key "ID" in events[0] must be written "id"`},
		{"the key AMOUNT", strings.Replace(one, `"amount"`, `"AMOUNT"`, 1), `key "AMOUNT" in events[0] must be written "amount"`},
		{"an unknown field in an event", strings.Replace(one, `"amount"`, `"amout"`, 1), `unknown field "amout" in events[0]`},
		{"an unknown field in the body", `{"events":[` + rawEvent("evt-1", "1") + `],"org_id":"acme"}`, `unknown field "org_id" in the body`},
		{"an id as a number", ev(`"id":7,"org_id":"acme","amount":"1","time":"` + at + `"`), "field events[0].id has the wrong type (it must be a string)"},
		{"an amount as a number", strings.Replace(one, `"1"`, `1`, 1), "field events[0].amount has the wrong type (amounts are strings"},
		{"events as an object", `{"events":{}}`, "events must be an array of events"},
		{"an event as a string", `{"events":["evt-1"]}`, "events[0] must be an object"},
		{"a body that is an array", `[` + rawEvent("evt-1", "1") + `]`, `body must be {"events":[…]}`},
		{"an empty body", ``, "body ends before its JSON does"},
	}
	for _, tc := range bad {
		t.Run(tc.name+" gets 400 naming the problem, and records nothing", func(t *testing.T) {
			api := base.as(t)
			before := api.usagePeriod("acme")
			res := api.callDirect(http.MethodPost, "/v1/usage", "Bearer "+usageKey, tc.body)
			wantRefused(t, api, res, tc.message, before)
		})
	}

	t.Run("white space around and inside the JSON is fine", func(t *testing.T) {
		api := base.as(t)
		body := " \r\n\t{ \"events\" :\n [ " + rawEvent("ws-1", "1") + " ] }\n\n "
		if got := outcomes(t, api.post(body)); !slices.Equal(got, []string{"ws-1 accepted"}) {
			t.Errorf("results %q, want accepted", got)
		}
	})
}

// escapeAll writes every character of s as a JSON \u escape: a surrogate
// pair for characters outside the Basic Multilingual Plane.
func escapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 0xFFFF {
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// escapedBatch is 100 valid events of acme with the longest id and
// description, every character (keys too) escaped, pretty-printed.
func escapedBatch(at time.Time, nonBMP bool) (string, money.Money) {
	char := "x"
	if nonBMP {
		char = "😀"
	}
	var evs []string
	var total money.Money
	for i := range billing.MaxUsageEvents {
		id := fmt.Sprintf("%03d", i) + strings.Repeat(char, billing.MaxUsageIDChars-3)
		amount := fmt.Sprintf("0.%06d", i+1)
		total += money.MustParse(amount)
		field := func(k, v string) string { return "\n      \"" + escapeAll(k) + "\": \"" + escapeAll(v) + "\"" }
		evs = append(evs, "\n    {"+strings.Join([]string{
			field("id", id), field("org_id", "acme"), field("amount", amount),
			field("description", strings.Repeat(char, billing.MaxUsageDescriptionChars)),
			field("time", at.Format(time.RFC3339Nano)),
		}, ",")+"\n    }")
	}
	return "{\n  \"" + escapeAll("events") + "\": [" + strings.Join(evs, ",") + "\n  ]\n}\n", total
}

func TestUsageAPIBodyLimit(t *testing.T) {
	for _, nonBMP := range []bool{false, true} {
		t.Run(fmt.Sprintf("100 valid events of the longest sizes with every character escaped (outside the BMP: %v) are accepted", nonBMP), func(t *testing.T) {
			api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
			body, total := escapedBatch(lateInMonth, nonBMP)
			t.Logf("body of %d bytes (%d KB)", len(body), len(body)/1024)
			if nonBMP && len(body) <= 256<<10 {
				t.Fatalf("the body is %d bytes, not past the old 256 KB limit", len(body))
			}
			res := api.post(body)
			if a := decodeJSON[usageAnswer](t, res); res.status != http.StatusOK || a.Accepted != 100 {
				t.Fatalf("status %d, %d accepted; want 200 with 100 accepted: %.300s", res.status, a.Accepted, res.body)
			}
			if got := api.usagePeriod("acme"); got != total {
				t.Errorf("Usage This Period %v, want %v", got, total)
			}
		})
	}

	t.Run("a body past the limit gets 400 saying how large a body may be", func(t *testing.T) {
		api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
		body, _ := escapedBatch(lateInMonth, true)
		body = strings.Replace(body, "{", "{"+strings.Repeat(" ", 128<<10), 1)
		res := api.post(body)
		e := decodeJSON[apiErrorAnswer](t, res)
		if res.status != http.StatusBadRequest || e.Error.Code != "invalid_request" || !strings.Contains(e.Error.Message, "body is larger than 532 KB") {
			t.Errorf("status %d, error %+v; want 400 naming the limit", res.status, e.Error)
		}
	})
}

// FuzzUsageAPIBody posts fuzzed bodies to POST /v1/usage and checks that
// the strict reading never errs to one side: every answer is 200 or a 400
// naming the problem with nothing recorded, and what it accepts
// encoding/json reads as the same events (it is a stricter reading of the
// same grammar), with Usage This Period the sum of the accepted amounts.
// go test runs the seeds; fuzz with
// go test -run '^$' -fuzz FuzzUsageAPIBody ./shared/web/.
func FuzzUsageAPIBody(f *testing.F) {
	at := lateInMonth.Format(time.RFC3339)
	one := `{"events":[` + rawEvent("evt-1", "1") + `]}`
	for _, seed := range []string{
		one,
		`{"events":[` + rawEvent("x-\xff", "5") + `,` + rawEvent("x-\xfe", "5") + `,` + rawEvent(`\ud800`, "1") + `]}`,
		`{"events":[` + rawEvent(`p-\ud83d\ude00`, "2") + `,` + rawEvent("p-😀", "2") + `]}`,
		one + "x",
		`{"events":[],"events":[` + rawEvent("evt-1", "1") + `]}`,
		`{"EVENTS":[` + rawEvent("evt-1", "1") + `]}`,
		`{"events":[{"id":"a","org_id":"acme","amount":"1","amount":"2","time":"` + at + `"}]}`,
		`{"events":[{"id":"a","Org_Id":"acme","amount":"1","time":"` + at + `"}]}`,
		`{"events":[{"id":"a","org_id":"acme","amount":"1","time":"` + at + `","extra":1}]}`,
		`{"events":null}`, `null`, ``, `{"events":[1]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
		res := api.callDirect(http.MethodPost, "/v1/usage", "Bearer "+usageKey, body)
		switch res.status {
		case http.StatusBadRequest:
			if e := decodeJSON[apiErrorAnswer](t, res); e.Error.Code != "invalid_request" || e.Error.Message == "" {
				t.Errorf("400 with %+v, want invalid_request naming the problem", e.Error)
			}
			if p := api.usagePeriod("acme"); p != 0 {
				t.Errorf("a refused body recorded %v", p)
			}
			return
		case http.StatusOK:
		default:
			t.Fatalf("status %d, want 200 or 400: %s", res.status, res.body)
		}
		var std struct {
			Events []struct {
				ID     string `json:"id"`
				OrgID  string `json:"org_id"`
				Amount string `json:"amount"`
			} `json:"events"`
		}
		dec := json.NewDecoder(strings.NewReader(body))
		if err := dec.Decode(&std); err != nil {
			t.Fatalf("accepted a body encoding/json refuses (%v): %q", err, body)
		}
		ans := decodeJSON[usageAnswer](t, res)
		if len(ans.Results) != len(std.Events) {
			t.Fatalf("%d results, encoding/json reads %d events: %q", len(ans.Results), len(std.Events), body)
		}
		var accepted money.Money
		for i, r := range ans.Results {
			if r.Reason != billing.RejectInvalidID && r.ID != std.Events[i].ID {
				t.Errorf("event %d: id %q, encoding/json reads %q", i, r.ID, std.Events[i].ID)
			}
			if r.Status == "accepted" && std.Events[i].OrgID == "acme" {
				accepted += money.MustParse(std.Events[i].Amount)
			}
		}
		if p := api.usagePeriod("acme"); p != accepted {
			t.Errorf("Usage This Period %v, want the accepted %v", p, accepted)
		}
	})
}
