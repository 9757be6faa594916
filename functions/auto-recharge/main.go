// Command auto-recharge is the auto-recharge engine on AWS Lambda: it runs
// on the low-balance event and on a schedule. Its triggers are listed in
// shared/jobs/jobs.go and template.yaml.
package main

import (
	"github.com/acme/billing/shared/function"
	"github.com/acme/billing/shared/queue/sqs"
)

func main() { function.ServeJob("auto-recharge", sqs.New) }
