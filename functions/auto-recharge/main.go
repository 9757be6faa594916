// Command auto-recharge is the auto-recharge engine on AWS Lambda: it runs
// on the low-balance event and on a schedule. Its triggers are listed in
// shared/jobs/jobs.go and template.yaml.
package main

import "github.com/acme/billing/shared/function"

func main() { function.Serve("auto-recharge") }
