// Command auto-recharge-page is the Auto Recharge page of the Billing
// section on AWS Lambda. Its routes are listed in shared/web/routes.go and
// template.yaml.
package main

import "github.com/acme/billing/shared/function"

func main() { function.Serve("auto-recharge-page") }
