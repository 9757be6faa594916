// Command notifier sends the Billing section's notifications (emails and
// signed customer webhooks) on AWS Lambda, and retries what is due. Its
// triggers are listed in shared/jobs/jobs.go and template.yaml.
package main

import "github.com/acme/billing/shared/function"

func main() { function.Serve("notifier") }
