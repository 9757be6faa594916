package config

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// AWS is the AWS SDK configuration of the clients of AWS mode, from the
// variables Lambda sets in every function: the region (AWS_REGION) and the
// execution role's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN), which stay the same for the execution environment's
// life; and the endpoint variables of sam local and the tests
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), and AWS_MAX_ATTEMPTS.
// That is what the SDK's default chain (aws-sdk-go-v2/config) finds in
// Lambda, read without linking that chain: its shared-file, SSO, STS,
// web-identity and instance-metadata providers and their clients would be
// initialised at every cold start of every function, for nothing.
func (c Config) AWS(context.Context) (aws.Config, error) {
	return awsFromEnv(os.LookupEnv)
}

// awsFromEnv is AWS with the variables of lookup.
func awsFromEnv(lookup func(string) (string, bool)) (aws.Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	cfg := aws.Config{Region: get("AWS_REGION"), ConfigSources: []any{endpointVars{lookup}}}
	if cfg.Region == "" {
		cfg.Region = get("AWS_DEFAULT_REGION")
	}
	// Like the SDK's, a missing region or credentials fail the calls that
	// need them, not the function's start.
	if id, secret := get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, get("AWS_SESSION_TOKEN")))
	} else {
		cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the execution role)")
		})
	}
	if v := get("AWS_ENDPOINT_URL"); v != "" {
		cfg.BaseEndpoint = aws.String(v)
	}
	if v := get("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return aws.Config{}, errors.New("AWS configuration: AWS_MAX_ATTEMPTS must be a positive whole number")
		}
		cfg.RetryMaxAttempts = n
	}
	return cfg, nil
}

// endpointVars gives each service client its endpoint variable,
// AWS_ENDPOINT_URL_<its SDK id in upper case, spaces as underscores>
// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SECRETS_MANAGER), as the
// SDK's own configuration does: the clients ask aws.Config.ConfigSources.
type endpointVars struct {
	lookup func(string) (string, bool)
}

// GetServiceBaseEndpoint is the endpoint variable of the service sdkID.
func (e endpointVars) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v, _ := e.lookup("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}
