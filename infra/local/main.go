// Command local runs the whole Billing section on one machine with nothing
// but Go: every function's routes on one mux (the same route list the
// Lambda functions use), the static site under /static/, and an embedded
// DynamoDB-compatible server on loopback, seeded with the demo
// organisation "acme", with the EventBridge schedules and rules run
// in-process. `make run` runs it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/config"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/web"
	"github.com/acme/billing/site"
	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/truora/minidyn/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

// Local server settings beyond the shared configuration.
const (
	envAddr     = "ADDR"
	defaultAddr = "127.0.0.1:8080"
	// envDynamoAddr is where the embedded DynamoDB listens (random port
	// when unset), e.g. to point infra/ops at it.
	envDynamoAddr = "LOCAL_DYNAMODB_ADDR"
)

// run serves until ctx ends, then shuts down gracefully. It prints the URL,
// the sign-in link and the usage API key to stdout; logs go to stderr.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv, true)
	if err != nil {
		return err
	}
	log := cfg.Logger(stderr)

	if cfg.DynamoEndpoint == "" {
		endpoint, stopDB, err := startEmbeddedDynamoDB(getenv(envDynamoAddr))
		if err != nil {
			return err
		}
		defer stopDB()
		cfg.DynamoEndpoint = endpoint
	}
	addr := getenv(envAddr)
	if addr == "" {
		addr = defaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	defer ln.Close()
	url := "http://" + ln.Addr().String()
	if cfg.PublicURL == "" {
		cfg.PublicURL = url // every absolute URL starts with it, as PUBLIC_URL does in AWS
	}

	bus := events.NewBus(log)
	bus.Subscribe("log", events.Types, func(_ context.Context, e awsevents.EventBridgeEvent) error {
		log.Info("billing event", "detail_type", e.DetailType, "detail", string(e.Detail))
		return nil
	})
	deps, err := cfg.Deps(ctx, log, time.Now, bus)
	if err != nil {
		return err
	}
	if err := deps.Store.CreateTable(ctx); err != nil {
		return err
	}
	if _, err := demo.SeedLocal(ctx, deps.Store, deps.Payments, deps.Invoicing, deps.Now()); err != nil {
		return err
	}
	for _, j := range jobs.List(deps) {
		if len(j.DetailTypes) > 0 {
			bus.Subscribe(j.Function, j.DetailTypes, j.Run)
		}
	}
	jobs.Scheduler(ctx, jobs.List(deps), deps.Now, log)

	srv := &http.Server{Handler: handler(deps), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "Billing is running at %s/billing\n", url)
	fmt.Fprintf(stdout, "Sign in as the demo admin: %s/dev/login?org=acme&email=you@acme.test&role=admin\n", url)
	fmt.Fprintf(stdout, "Usage API key (Authorization: Bearer …): %s\n", cfg.UsageAPIKey)
	fmt.Fprintf(stdout, "DynamoDB endpoint: %s, table %s\n", cfg.DynamoEndpoint, cfg.TableName)
	fmt.Fprintf(stdout, "Operator tool: AWS_ENDPOINT_URL_DYNAMODB=%s TABLE_NAME=%s go run ./infra/ops show acme\n", cfg.DynamoEndpoint, cfg.TableName)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(stdout, "Stopped.")
	return nil
}

// handler mounts every route of every function, the local-only routes,
// and the static site.
func handler(deps web.Deps) http.Handler {
	mux := http.NewServeMux()
	static, err := fs.Sub(site.FS, "static")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.Handle("GET /{$}", http.RedirectHandler("/billing", http.StatusSeeOther))
	mux.Handle("/", web.Handler(deps, append(web.Routes(deps), web.LocalRoutes(deps)...)))
	return mux
}

// startEmbeddedDynamoDB serves minidyn on addr (a random loopback port
// when empty) and returns its
// endpoint and a stop function.
func startEmbeddedDynamoDB(addr string) (string, func(), error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("embedded DynamoDB: %w", err)
	}
	srv := &http.Server{Handler: server.NewServer(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // Serve returns only when stopped
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}
