// Command daily-reset is the daily-reset function of the Billing section on AWS Lambda.
// Its routes or schedule are listed in shared/web/routes.go or
// shared/jobs/jobs.go, and in template.yaml.
package main

import (
	"github.com/acme/billing/shared/function"
	"github.com/acme/billing/shared/queue/sqs"
)

func main() { function.ServeJob("daily-reset", sqs.New) }
