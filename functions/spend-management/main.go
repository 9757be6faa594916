// Command spend-management is the spend-management function of the Billing section on AWS Lambda.
// Its routes are listed in shared/web/routes.go and template.yaml.
package main

import "github.com/acme/billing/shared/function"

func main() { function.Serve("spend-management") }
