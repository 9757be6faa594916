package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers (https://www.standardwebhooks.com).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix starts every Standard Webhooks signing secret.
const secretPrefix = "whsec_"

// errBadSecret is a signing secret that is not "whsec_" and base64.
var errBadSecret = errors.New("the webhook signing secret is not valid")

// Sign returns the Standard Webhooks signature of a message: "v1," and the
// base64 of the HMAC-SHA256 of "<id>.<timestamp>.<body>", keyed with the
// base64-decoded part of secret after "whsec_". timestamp is in Unix
// seconds.
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(key) == 0 || !strings.HasPrefix(secret, secretPrefix) {
		return "", errBadSecret
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// post delivers a signed webhook: body to url with the id, the time of
// this attempt and its signature by each of secrets (Standard Webhooks
// lists several, space-separated: after a rotation the old secret signs
// too for a while). It returns the response's status code (0 when there
// was none) and, for anything but a 2xx answer, an error whose message is
// safe to record (see describe).
func post(ctx context.Context, client *http.Client, url string, secrets []string, id string, at time.Time, body []byte) (int, error) {
	sigs := make([]string, len(secrets))
	for i, secret := range secrets {
		var err error
		if sigs[i], err = Sign(secret, id, at.Unix(), body); err != nil {
			return 0, err
		}
	}
	sig := strings.Join(sigs, " ")
	ctx, cancel := context.WithTimeout(ctx, WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "billing-webhooks/1")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // lets the connection be reused; the answer does not matter
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, &statusError{code: res.StatusCode}
	}
	return res.StatusCode, nil
}

// statusError is a webhook answer other than 2xx.
type statusError struct{ code int }

func (e *statusError) Error() string {
	if e.code >= 300 && e.code < 400 {
		return fmt.Sprintf("The endpoint answered %d %s; redirects are not followed.", e.code, http.StatusText(e.code))
	}
	return fmt.Sprintf("The endpoint answered %d %s.", e.code, http.StatusText(e.code))
}
