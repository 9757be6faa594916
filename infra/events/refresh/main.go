// Command refresh sets every time in the sample events of the current
// directory to now: go generate ./infra/events, before sam local invoke.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/acme/billing/infra/events"
)

func main() {
	if err := events.RefreshDir(".", ".", time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "refresh sample events:", err)
		os.Exit(1)
	}
	fmt.Println("sample events refreshed to", time.Now().UTC().Format(time.RFC3339))
}
