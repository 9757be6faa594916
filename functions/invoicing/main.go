// Command invoicing is the invoicing function of the Billing section on AWS Lambda.
// Its schedule is listed in shared/jobs/jobs.go and template.yaml.
package main

import (
	"github.com/acme/billing/shared/function"
	"github.com/acme/billing/shared/queue/sqs"
)

func main() { function.ServeJob("invoicing", sqs.New) }
