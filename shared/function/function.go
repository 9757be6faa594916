// Package function runs one Billing function on AWS Lambda: it reads the
// configuration, builds the dependencies, and serves the function's HTTP
// routes behind the API Gateway adapter, or its scheduled job. Each job
// function's functions/<name>/main.go is one call to Serve, or to ServeJob
// for a job that fans out through its SQS queue.
package function

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/acme/billing/shared/config"
	"github.com/acme/billing/shared/gateway"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/web"
	"github.com/aws/aws-lambda-go/lambda"
)

// Serve runs the function named name until Lambda stops it. A bad
// configuration is reported on stderr with exit status 1, so the failure
// shows in the function's logs instead of as a broken page.
func Serve(name string) { serve(name, nil) }

// ServeJob is Serve for a job that fans out: its dispatcher sends its
// batches to the SQS queue JOB_QUEUE_URL names, with the sender newQueue
// makes (queue/sqs.New). Only these functions' mains import queue/sqs, so
// only they link the SQS client.
func ServeJob(name string, newQueue config.NewQueue) { serve(name, newQueue) }

func serve(name string, newQueue config.NewQueue) {
	ctx := context.Background()
	deps, err := Deps(ctx, name, os.Getenv)
	var opts []jobs.Option
	if err == nil {
		opts, err = JobOptions(ctx, name, os.Getenv, newQueue)
	}
	if err == nil {
		for _, j := range jobs.List(deps, opts...) {
			if j.Function == name {
				lambda.Start(j.Lambda())
				return
			}
		}
		var h http.Handler
		if h, err = Handler(deps, name); err == nil {
			lambda.Start(gateway.Handler(h))
			return
		}
	}
	fmt.Fprintf(os.Stderr, "function %s: %v\n", name, err)
	os.Exit(1)
}

// Deps builds every dependency of the function named name in AWS mode,
// configured from getenv, for its scheduled job, and for tests (the
// deployed HTTP functions build only their own: shared/endpoint).
func Deps(ctx context.Context, name string, getenv func(string) string) (web.Deps, error) {
	cfg, err := config.Load(getenv, false)
	if err != nil {
		return web.Deps{}, err
	}
	return jobDeps(ctx, cfg, name)
}

// JobOptions are the jobs.List options of the function named name,
// configured from getenv: its job's SQS queue (config.EnvJobQueueURL),
// when set, with the sender newQueue makes (see config.JobQueue).
func JobOptions(ctx context.Context, name string, getenv func(string) string, newQueue config.NewQueue) ([]jobs.Option, error) {
	q, err := config.JobQueue(ctx, getenv, newQueue)
	if err != nil || q == nil {
		return nil, err
	}
	return []jobs.Option{jobs.WithQueue(name, q)}, nil
}

// Handler returns the http.Handler of the function named name: its routes
// behind the shared middleware. It fails for a function with no routes.
func Handler(deps web.Deps, name string) (http.Handler, error) {
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
