// Command payment-methods is the payment-methods function of the Billing section on AWS Lambda.
// Its routes are listed in shared/web/routes.go and template.yaml; it builds
// and links only what they use (shared/endpoint).
package main

import "github.com/acme/billing/shared/endpoint"

func main() { endpoint.Serve(endpoint.PaymentMethods()) }
