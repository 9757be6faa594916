//go:build linux

package rie_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// coldStart is one measured start of a function under the emulator.
type coldStart struct {
	// Total is emulator process start to the first answer: emulator start,
	// runtime start and init, the first invocation.
	Total time.Duration
	// Emulator is emulator process start to its invoke port accepting
	// connections; Function the rest: the runtime's process start and init
	// (the emulator starts it on the first invocation) and the first
	// invocation.
	Emulator, Function time.Duration
	// Warm is a second invocation of the same process.
	Warm time.Duration
}

// BenchmarkColdStart measures, per iteration, a new aws-lambda-rie process
// with the bootstrap from process start to the first answer, for the
// packaged overview (GET /billing), usage (GET /v1/allowance) and
// stripe-webhook (a signed event) functions, each answering from the
// embedded DynamoDB seeded with acme, and for a hello-world function built
// the same way (testdata/hello), then prints a table with each function's
// cold start as a multiple of hello-world's. The emulator runs the host's
// architecture, so these are host builds with make build's flags; make
// bench prints the sizes of the deployed arm64 zips before it.
func BenchmarkColdStart(b *testing.B) {
	db := seededDB(b)
	targets := []coldTarget{
		{name: "hello", pkg: "./infra/rie/testdata/hello", env: map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "hello"}, event: overviewEvent(b, db)},
		{name: "overview", pkg: "./functions/overview", env: functionEnv(db, "overview"), event: overviewEvent(b, db)},
		{name: "usage", pkg: "./functions/usage", env: functionEnv(db, "usage"), event: allowanceEvent(b)},
		{name: "stripe-webhook", pkg: "./functions/stripe-webhook", env: functionEnv(db, "stripe-webhook"), event: stripeEvent(b)},
	}
	results := map[string][]coldStart{}
	sizes := map[string]int64{}
	for _, tg := range targets {
		dir := filepath.Join(b.TempDir(), tg.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		bootstrap := buildBootstrap(b, tg.pkg, dir)
		if fi, err := os.Stat(bootstrap); err == nil {
			sizes[tg.name] = fi.Size()
		}
		b.Run(tg.name, func(b *testing.B) {
			var runs []coldStart
			for range b.N {
				runs = append(runs, measure(b, bootstrap, tg.env, tg.event))
			}
			results[tg.name] = runs
			b.ReportMetric(float64(median(runs, total).Microseconds())/1000, "ms-cold-p50")
			b.ReportMetric(float64(median(runs, functionOf).Microseconds())/1000, "ms-function-p50")
		})
	}
	fmt.Printf("\nCold start under aws-lambda-rie (%d runs each): process start to first answer\n", len(results["overview"]))
	fmt.Printf("(host-architecture builds with make build's flags, as the emulator runs the host's; emulator: its start until it listens;\n")
	fmt.Printf("function: runtime start, init and first invocation; x hello: cold p50 over hello-world's, the target is at most 1.5)\n")
	fmt.Printf("%-15s %10s %10s %10s %10s %14s %14s %10s %8s\n", "function", "bootstrap", "cold p50", "min", "max", "emulator p50", "function p50", "warm p50", "x hello")
	hello := median(results["hello"], total)
	for _, tg := range targets {
		runs := results[tg.name]
		if len(runs) == 0 {
			continue
		}
		ratio := "-"
		if hello > 0 {
			ratio = fmt.Sprintf("%.2f", float64(median(runs, total))/float64(hello))
		}
		fmt.Printf("%-15s %8.1fMB %10s %10s %10s %14s %14s %10s %8s\n", tg.name, float64(sizes[tg.name])/(1<<20),
			ms(median(runs, total)), ms(minOf(runs, total)), ms(maxOf(runs, total)),
			ms(median(runs, emulatorOf)), ms(median(runs, functionOf)), ms(median(runs, warm)), ratio)
	}
	fmt.Println()
}

// coldTarget is one function of BenchmarkColdStart: its package, its
// environment and the event of its first invocation, which must answer
// 200.
type coldTarget struct {
	name, pkg string
	env       map[string]string
	event     []byte
}

// measure starts a fresh emulator with the bootstrap and times it to the
// first answer, then one warm invocation, then stops it (not timed).
func measure(b *testing.B, bootstrap string, env map[string]string, event []byte) coldStart {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := startEmulator(b, bootstrap, env)
	out, err := e.Invoke(ctx, event)
	for retry := 0; err != nil && strings.Contains(e.Logs(), "connection refused") && retry < 2; retry++ {
		// Under load the emulator may start the runtime before its
		// Runtime API listens, and answers 502: that start measures
		// nothing, so it is made again.
		b.Logf("the emulator's runtime could not reach its Runtime API; starting again: %v", err)
		e.Stop()
		e = startEmulator(b, bootstrap, env)
		out, err = e.Invoke(ctx, event)
	}
	if err != nil {
		b.Fatalf("%v\n%s", err, e.Logs())
	}
	answered := time.Now()
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("the first invocation answered %d (%v), want 200:\n%.500s\n%s", resp.StatusCode, err, out, e.Logs())
	}
	cs := coldStart{Total: answered.Sub(e.Started), Emulator: e.Listening.Sub(e.Started), Function: answered.Sub(e.Listening)}
	start := time.Now()
	if _, err := e.Invoke(ctx, event); err != nil {
		b.Fatalf("%v\n%s", err, e.Logs())
	}
	cs.Warm = time.Since(start)
	b.StopTimer()
	e.Stop()
	b.StartTimer()
	return cs
}

func total(c coldStart) time.Duration      { return c.Total }
func emulatorOf(c coldStart) time.Duration { return c.Emulator }
func functionOf(c coldStart) time.Duration { return c.Function }
func warm(c coldStart) time.Duration       { return c.Warm }

func sorted(runs []coldStart, f func(coldStart) time.Duration) []time.Duration {
	var d []time.Duration
	for _, r := range runs {
		d = append(d, f(r))
	}
	slices.Sort(d)
	return d
}

func median(runs []coldStart, f func(coldStart) time.Duration) time.Duration {
	d := sorted(runs, f)
	if len(d) == 0 {
		return 0
	}
	return d[len(d)/2]
}

func minOf(runs []coldStart, f func(coldStart) time.Duration) time.Duration {
	return sorted(runs, f)[0]
}

func maxOf(runs []coldStart, f func(coldStart) time.Duration) time.Duration {
	d := sorted(runs, f)
	return d[len(d)-1]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
