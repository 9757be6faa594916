// Command usage is the usage function of the Billing section on AWS Lambda.
// Its routes or schedule are listed in shared/web/routes.go or
// shared/jobs/jobs.go, and in template.yaml.
package main

import "github.com/acme/billing/shared/function"

func main() { function.Serve("usage") }
