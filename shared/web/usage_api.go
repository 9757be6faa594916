package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/gateway"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/usage"
)

// maxUsageBody caps a usage request: 100 events of at most ~1.5 KB each.
const maxUsageBody = 256 << 10

// usageRequest is the body of POST /v1/usage.
type usageRequest struct {
	Events []usageEventJSON `json:"events"`
}

type usageEventJSON struct {
	ID          string `json:"id"`
	OrgID       string `json:"org_id"`
	Amount      string `json:"amount"`
	Description string `json:"description"`
	Time        string `json:"time"`
}

// usageResponse is the answer of POST /v1/usage: one result per event, in
// order, and the counts.
type usageResponse struct {
	Results    []usage.Result `json:"results"`
	Accepted   int            `json:"accepted"`
	Duplicates int            `json:"duplicates"`
	Rejected   int            `json:"rejected"`
	Errors     int            `json:"errors,omitempty"`
}

// handleRecordUsage serves POST /v1/usage. It answers 200 with a result per
// event (accepted, duplicate or rejected with a reason), 400 for a body
// that is not a batch of 1–100 events, and 503 when some events could not
// be stored: the caller retries the whole request, and events already
// counted come back as duplicates.
func handleRecordUsage(svc *usage.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req usageRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxUsageBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeAPIError(w, http.StatusBadRequest, "invalid_request", decodeMessage(err))
			return
		}
		if n := len(req.Events); n == 0 || n > billing.MaxUsageEvents {
			writeAPIError(w, http.StatusBadRequest, "invalid_request", "events must hold 1 to 100 events")
			return
		}
		inputs := make([]usage.Input, len(req.Events))
		for i, e := range req.Events {
			inputs[i] = parseUsageEvent(e)
		}
		results, err := svc.Record(r.Context(), inputs)
		resp := usageResponse{Results: results}
		for _, res := range results {
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
// organisation may make another call, from one strongly consistent read.
func handleAllowance(svc *usage.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org := r.URL.Query().Get("org_id")
		if billing.ValidateOrgID(org) != nil {
			writeAPIError(w, http.StatusBadRequest, billing.RejectInvalidOrg, "org_id must be 1–63 lowercase letters, digits or hyphens")
			return
		}
		a, err := svc.Allowance(r.Context(), org)
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

// decodeMessage explains a body that is not valid usage JSON, without
// echoing internals.
func decodeMessage(err error) string {
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return "body is larger than 256 KB"
	case errors.As(err, &syntaxErr):
		return "body is not valid JSON"
	case errors.As(err, &typeErr):
		return "field " + typeErr.Field + " has the wrong type (amounts are strings, e.g. \"0.0025\")"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "body must be {\"events\":[…]}"
}
