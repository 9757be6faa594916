package web

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/gateway"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/usage"
)

// The body limit of POST /v1/usage fits the largest valid batch however it
// is escaped. JSON may write any character as \uXXXX (6 bytes) and one
// outside the Basic Multilingual Plane as a surrogate pair (12 bytes), so a
// valid event takes at most: id and description, limited in characters, 12
// bytes a character; org_id (ASCII), amount and time 6 bytes a character;
// the five keys escaped; and room for punctuation and indentation. API
// Gateway's 10 MB payload limit (and Lambda's 6 MB invocation payload) are
// far above it.
const (
	maxEscapedRune = 12 // a character outside the BMP as \uD83D\uDE00
	maxEscapedByte = 6  // an ASCII character as \u0041
	// maxAmountChars and maxTimeChars are generous lengths of a valid
	// amount ("10000.000000" is 12) and RFC 3339 time (35 with nanoseconds
	// and an offset).
	maxAmountChars = 32
	maxTimeChars   = 40
	// usageKeysChars is len("id"+"org_id"+"amount"+"description"+"time").
	usageKeysChars = 29
	// usageEventSlack is quotes, colons, commas, braces and whitespace.
	usageEventSlack = 512

	maxUsageEventJSON = (billing.MaxUsageIDChars+billing.MaxUsageDescriptionChars)*maxEscapedRune +
		(billing.MaxUsageOrgIDChars+maxAmountChars+maxTimeChars+usageKeysChars)*maxEscapedByte + usageEventSlack

	// maxUsageBody is the most POST /v1/usage reads: 100 events of
	// maxUsageEventJSON and 1 KB for the envelope; 544,224 bytes (532 KB).
	maxUsageBody = billing.MaxUsageEvents*maxUsageEventJSON + 1024
)

// usageEventJSON is one event of POST /v1/usage, each field byte for byte
// as sent (JSON escapes resolved, nothing replaced).
type usageEventJSON struct {
	ID          string
	OrgID       string
	Amount      string
	Description string
	Time        string
}

// usageResponse is the answer of POST /v1/usage: one result per event, in
// order, the counts, and the allowance of each organisation of the batch
// after the recording (see usage.RecordWithAllowances).
type usageResponse struct {
	Results    []usage.Result             `json:"results"`
	Accepted   int                        `json:"accepted"`
	Duplicates int                        `json:"duplicates"`
	Rejected   int                        `json:"rejected"`
	Errors     int                        `json:"errors,omitempty"`
	Allowances map[string]usage.Allowance `json:"allowances"`
}

// handleRecordUsage serves POST /v1/usage. It answers 200 with a result per
// event (accepted, duplicate or rejected with a reason), 400 naming the
// problem for a body that is not exactly one batch of 1–100 events as
// decodeUsageBody reads it or is larger than maxUsageBody, and 503 when
// some events could not be stored: the caller retries the whole request,
// and events already counted come back as duplicates.
func handleRecordUsage(svc *usage.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUsageBody))
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			writeAPIError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("body is larger than %d KB, the most 100 events can take however they are escaped", (maxUsageBody+1023)/1024))
			return
		}
		if err != nil {
			writeAPIError(w, http.StatusBadRequest, "invalid_request", "body could not be read")
			return
		}
		events, err := decodeUsageBody(body)
		if err != nil {
			writeAPIError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
		if n := len(events); n == 0 || n > billing.MaxUsageEvents {
			writeAPIError(w, http.StatusBadRequest, "invalid_request", "events must hold 1 to 100 events")
			return
		}
		inputs := make([]usage.Input, len(events))
		for i, e := range events {
			inputs[i] = parseUsageEvent(e)
		}
		rec, err := svc.RecordWithAllowances(r.Context(), inputs)
		resp := usageResponse{Results: rec.Results, Allowances: rec.Allowances}
		for _, res := range rec.Results {
			switch res.Status {
			case usage.StatusAccepted:
				resp.Accepted++
			case usage.StatusDuplicate:
				resp.Duplicates++
			case usage.StatusRejected:
				resp.Rejected++
			default:
				resp.Errors++
			}
		}
		status := http.StatusOK
		if err != nil {
			logger(log, r.Context()).Error("record usage", "error", err)
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, status, resp)
	})
}

// parseUsageEvent turns the JSON of one event into an input, rejecting an
// amount or time that does not parse.
func parseUsageEvent(e usageEventJSON) usage.Input {
	in := usage.Input{Event: billing.UsageEvent{ID: e.ID, OrgID: e.OrgID, Description: e.Description}}
	amount, err := money.Parse(e.Amount)
	if err != nil {
		in.Reject = &billing.Rejection{Reason: billing.RejectInvalidAmount, Message: "amount must be a decimal string of USD with at most 6 decimals, e.g. \"0.0025\": " + err.Error()}
		return in
	}
	in.Event.Amount = amount
	t, err := time.Parse(time.RFC3339Nano, e.Time)
	if err != nil {
		in.Reject = &billing.Rejection{Reason: billing.RejectInvalidTime, Message: "time must be RFC 3339, e.g. \"2026-11-27T10:00:00Z\""}
		return in
	}
	in.Event.Time = t
	return in
}

// handleAllowance serves GET /v1/allowance?org_id=…: whether the
// organisation may make another call, from one strongly consistent read;
// with consistency=eventual, from an eventually consistent one (half the
// read capacity; it may miss usage of about the last second).
func handleAllowance(svc *usage.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org := r.URL.Query().Get("org_id")
		if billing.ValidateOrgID(org) != nil {
			writeAPIError(w, http.StatusBadRequest, billing.RejectInvalidOrg, "org_id must be 1–63 lowercase letters, digits or hyphens")
			return
		}
		read := svc.Allowance
		switch r.URL.Query().Get("consistency") {
		case "", "strong":
		case "eventual":
			read = svc.AllowanceEventual
		default:
			writeAPIError(w, http.StatusBadRequest, "invalid_request", "consistency must be strong (the default) or eventual")
			return
		}
		a, err := read(r.Context(), org)
		switch billing.ErrorCode(err) {
		case "":
			writeJSON(w, http.StatusOK, a)
		case billing.ENOTFOUND:
			writeJSON(w, http.StatusNotFound, usage.Allowance{Reason: billing.RejectUnknownOrg})
		default:
			logger(log, r.Context()).Error("allowance", "org", org, "error", err)
			writeAPIError(w, http.StatusServiceUnavailable, "unavailable", "allowance unavailable; retry")
		}
	})
}

// requireService admits the product's own services: locally a bearer key,
// compared in constant time; in AWS a caller API Gateway authenticated with
// IAM. Anything else gets 401 and learns nothing.
func requireService(local bool, key string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(key))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := false
		if local {
			token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			got := sha256.Sum256([]byte(token))
			ok = found && key != "" && subtle.ConstantTimeCompare(got[:], want[:]) == 1
		} else {
			ok = gateway.IAMCaller(r.Context()) != ""
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="usage"`)
			writeAPIError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid credentials")
			return
		}
		next.ServeHTTP(w, r)
	})
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a write error means the caller went away
}

// usageFields are the keys of one event, as they must be written.
var usageFields = []string{"id", "org_id", "amount", "description", "time"}

// decodeUsageBody reads the body of POST /v1/usage strictly, so that every
// reader of the body sees the same events: one JSON object {"events":[…]}
// and nothing after it; keys exactly as documented (no other case, no
// unknown field, none twice at any level); field values strings (or null
// for absent). Strings are taken byte for byte: invalid UTF-8 is kept as
// sent and a lone surrogate escape (\ud800) as its WTF-8 bytes, so that
// validation rejects them instead of two ids collapsing into U+FFFD.
//
// encoding/json alone is case-insensitive, last-key-wins and rewrites
// invalid strings, and encoding/json/v2 (GOEXPERIMENT) or
// go-json-experiment/json, though strict about keys, still rejects or
// rewrites invalid UTF-8 for the whole body; a pass over encoding/json's
// tokens needs no new dependency and gives per-event invalid_id. The error
// returned is a message for the caller naming the problem.
func decodeUsageBody(body []byte) ([]usageEventJSON, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := expectDelim(dec, '{', "body must be {\"events\":[…]}"); err != nil {
		return nil, err
	}
	var events []usageEventJSON
	seen := map[string]bool{}
	for dec.More() {
		// "events" is the only key, so objectKey returning means it.
		if _, err := objectKey(dec, "", []string{"events"}, seen); err != nil {
			return nil, err
		}
		var err error
		if events, err = decodeEvents(dec); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}', "body must be {\"events\":[…]}"); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON body: send exactly one object {\"events\":[…]}")
	}
	return events, nil
}

// decodeEvents reads the array of events (null reads as none). It stops
// past MaxUsageEvents, which the caller refuses.
func decodeEvents(dec *json.Decoder) ([]usageEventJSON, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('[') {
		return nil, errors.New("events must be an array of events")
	}
	var events []usageEventJSON
	for dec.More() {
		if len(events) == billing.MaxUsageEvents {
			return nil, errors.New("events must hold 1 to 100 events")
		}
		e, err := decodeEvent(dec, fmt.Sprintf("events[%d]", len(events)))
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	if err := expectDelim(dec, ']', "events must be an array of events"); err != nil {
		return nil, err
	}
	return events, nil
}

// decodeEvent reads one event object; where names it in messages.
func decodeEvent(dec *json.Decoder, where string) (usageEventJSON, error) {
	var e usageEventJSON
	if err := expectDelim(dec, '{', where+" must be an object"); err != nil {
		return e, err
	}
	seen := map[string]bool{}
	for dec.More() {
		key, err := objectKey(dec, where+".", usageFields, seen)
		if err != nil {
			return e, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return e, syntaxError(err)
		}
		if string(raw) == "null" {
			continue
		}
		if raw[0] != '"' {
			hint := "it must be a string"
			if key == "amount" {
				hint = "amounts are strings, e.g. \"0.0025\""
			}
			return e, fmt.Errorf("field %s%s has the wrong type (%s)", where+".", key, hint)
		}
		v := unquoteExact(raw)
		switch key {
		case "id":
			e.ID = v
		case "org_id":
			e.OrgID = v
		case "amount":
			e.Amount = v
		case "description":
			e.Description = v
		case "time":
			e.Time = v
		}
	}
	return e, expectDelim(dec, '}', where+" must be an object")
}

// objectKey reads the next key of an object whose keys are known, and
// returns it, or an error naming a duplicate, a key in another case or an
// unknown key. prefix places the object in messages ("events[2].").
func objectKey(dec *json.Decoder, prefix string, known []string, seen map[string]bool) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", syntaxError(err)
	}
	key, _ := tok.(string) // inside an object the decoder yields only string keys
	if seen[key] {
		return "", fmt.Errorf("duplicate key %q in %s", key, objectName(prefix))
	}
	seen[key] = true
	for _, k := range known {
		switch {
		case key == k:
			return key, nil
		case strings.EqualFold(key, k):
			return "", fmt.Errorf("key %q in %s must be written %q (keys are case-sensitive)", key, objectName(prefix), k)
		}
	}
	return "", fmt.Errorf("unknown field %q in %s", key, objectName(prefix))
}

func objectName(prefix string) string {
	if prefix == "" {
		return "the body"
	}
	return strings.TrimSuffix(prefix, ".")
}

// expectDelim reads the next token and returns msg unless it is d.
func expectDelim(dec *json.Decoder, d json.Delim, msg string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	if tok != d {
		return errors.New(msg)
	}
	return nil
}

// syntaxError explains a body that is not JSON, without echoing internals.
func syntaxError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("body ends before its JSON does: body must be {\"events\":[…]}")
	}
	return errors.New("body is not valid JSON")
}

// unquoteExact returns the string a JSON string literal (already checked by
// the decoder) stands for, byte for byte: escapes are resolved, a surrogate
// pair becomes its character, and what is not valid UTF-8 is kept: raw
// invalid bytes as sent, a lone surrogate escape as its 3-byte (WTF-8)
// encoding. utf8.ValidString is false for both.
func unquoteExact(raw []byte) string {
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s)
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch e := s[i+1]; e {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) && r < 0xDC00 && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if r2 := hex4(s[i+2 : i+6]); 0xDC00 <= r2 && r2 < 0xE000 {
					out = utf8.AppendRune(out, utf16.DecodeRune(r, r2))
					i += 6
					continue
				}
			}
			if utf16.IsSurrogate(r) {
				// WTF-8: the 3-byte pattern utf8.AppendRune refuses.
				out = append(out, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
				continue
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, e)
		}
		i += 2
	}
	return string(out)
}

// hex4 decodes the four hex digits of a \u escape.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
