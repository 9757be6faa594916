// Command hello is the smallest Lambda function answering an API Gateway
// v2 event, built like the Billing functions: the baseline of the
// cold-start benchmark in infra/rie. It lives in testdata so that
// `go build ./...` skips it; the benchmark builds it by path.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "hello"}, nil
	})
}
