// Package function runs one Billing function on AWS Lambda: it reads the
// configuration, builds the dependencies, and serves the function's routes
// behind the API Gateway HTTP API adapter. Each functions/<name>/main.go
// is one call to Serve.
package function

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/acme/billing/shared/config"
	"github.com/acme/billing/shared/gateway"
	"github.com/acme/billing/shared/web"
	"github.com/aws/aws-lambda-go/lambda"
)

// Serve runs the function named name until Lambda stops it. A bad
// configuration is logged and exits with status 1, so the failure shows in
// the function's logs instead of as a broken page.
func Serve(name string) {
	h, err := Handler(context.Background(), name, os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "function %s: %v\n", name, err)
		os.Exit(1)
	}
	lambda.Start(gateway.Handler(h))
}

// Handler returns the http.Handler of the function named name, configured
// from getenv in AWS mode. It fails for a function with no routes.
func Handler(ctx context.Context, name string, getenv func(string) string) (http.Handler, error) {
	cfg, err := config.Load(getenv, false)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger(os.Stdout).With("function", name)
	deps, err := cfg.Deps(ctx, log, nil)
	if err != nil {
		return nil, err
	}
	var routes []web.Route
	for _, rt := range web.Routes(deps) {
		if rt.Function == name {
			routes = append(routes, rt)
		}
	}
	if len(routes) == 0 {
		return nil, fmt.Errorf("no routes for function %q", name)
	}
	return web.Handler(deps, routes), nil
}
