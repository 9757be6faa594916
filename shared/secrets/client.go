package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client makes the one Secrets Manager call the functions make,
// GetSecretValue, in the service's JSON protocol (POST /,
// X-Amz-Target secretsmanager.GetSecretValue, application/x-amz-json-1.1),
// signed with Signature Version 4 by the SDK's signer. It stands in for
// the SDK's secretsmanager client, which every function would otherwise
// link and initialise at each cold start (its endpoint rules and
// serialisation schemas: about 1 MB and 1,500 allocations) for this one
// call.
type Client struct {
	cfg      aws.Config
	endpoint string
	signer   *v4.Signer
	attempts int
}

var _ Getter = (*Client)(nil)

// sdkID is Secrets Manager's SDK id, which names its endpoint variable
// (AWS_ENDPOINT_URL_SECRETS_MANAGER).
const sdkID = "Secrets Manager"

// NewClient returns the client of cfg: its region, credentials and HTTP
// client (http.DefaultClient when nil), and its endpoint for Secrets
// Manager as the SDK would resolve it (AWS_ENDPOINT_URL_SECRETS_MANAGER,
// then AWS_ENDPOINT_URL, then the region's). A call is tried
// cfg.RetryMaxAttempts times (3 when zero) when the service or the
// network fails, as the SDK's standard retryer does.
func NewClient(ctx context.Context, cfg aws.Config) (*Client, error) {
	c := &Client{cfg: cfg, signer: v4.NewSigner(), attempts: cfg.RetryMaxAttempts}
	if c.attempts <= 0 {
		c.attempts = 3
	}
	if c.cfg.HTTPClient == nil {
		c.cfg.HTTPClient = http.DefaultClient
	}
	type serviceEndpoint interface {
		GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
	}
	for _, src := range cfg.ConfigSources {
		if s, ok := src.(serviceEndpoint); ok && c.endpoint == "" {
			url, found, err := s.GetServiceBaseEndpoint(ctx, sdkID)
			if err != nil {
				return nil, fmt.Errorf("secrets manager endpoint: %w", err)
			}
			if found {
				c.endpoint = url
			}
		}
	}
	switch {
	case c.endpoint != "":
	case cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "":
		c.endpoint = *cfg.BaseEndpoint
	case cfg.Region == "":
		return nil, errors.New("secrets manager: no region (AWS_REGION)")
	case strings.HasPrefix(cfg.Region, "cn-"):
		c.endpoint = "https://secretsmanager." + cfg.Region + ".amazonaws.com.cn"
	default:
		c.endpoint = "https://secretsmanager." + cfg.Region + ".amazonaws.com"
	}
	return c, nil
}

// GetSecretString reads the string value of the secret id (its ARN or
// name, stage AWSCURRENT). Its errors name the service's error type and
// message, never a value.
func (c *Client) GetSecretString(ctx context.Context, id string) (string, error) {
	body, err := json.Marshal(struct {
		SecretID string `json:"SecretId"`
	}{id})
	if err != nil {
		return "", err
	}
	var last error
	for attempt := range c.attempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", errors.Join(last, ctx.Err())
			case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
			}
		}
		value, retry, err := c.get(ctx, body)
		if err == nil || !retry {
			return value, err
		}
		last = err
	}
	return "", last
}

// get makes one GetSecretValue request; retry says whether a failure may
// pass on a new attempt (a network error, throttling, a server fault).
func (c *Client) get(ctx context.Context, body []byte) (value string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	if c.cfg.Credentials == nil {
		return "", false, errors.New("no AWS credentials")
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", false, fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "secretsmanager", c.cfg.Region, time.Now().UTC()); err != nil {
		return "", false, fmt.Errorf("sign: %w", err)
	}
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", ctx.Err() == nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", true, err
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		if e.Type == "" {
			e.Type = res.Header.Get("X-Amzn-Errortype")
		}
		e.Type = e.Type[strings.LastIndex(e.Type, "#")+1:]
		e.Type, _, _ = strings.Cut(e.Type, ":")
		retry := res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests || strings.Contains(e.Type, "Throttling")
		return "", retry, fmt.Errorf("GetSecretValue: %s (HTTP %d): %s", e.Type, res.StatusCode, e.Message)
	}
	var out struct {
		SecretString *string
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", false, fmt.Errorf("GetSecretValue: the answer is not JSON")
	}
	if out.SecretString == nil {
		return "", false, errNoString
	}
	return *out.SecretString, false, nil
}

// errNoString is a secret without a string value (a binary secret).
var errNoString = errors.New("no string value")
