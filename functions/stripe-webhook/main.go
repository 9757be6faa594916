// Command stripe-webhook receives Stripe's webhooks (POST /webhooks/stripe)
// on AWS Lambda. Its route is listed in shared/web/routes.go and
// template.yaml.
package main

import "github.com/acme/billing/shared/function"

func main() { function.Serve("stripe-webhook") }
