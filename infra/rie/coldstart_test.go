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

// BenchmarkColdStart measures the cold start of the packaged overview
// (GET /billing), usage (GET /v1/allowance) and stripe-webhook (a signed
// event) functions, each answering from the embedded DynamoDB seeded with
// acme, and of a hello-world function built the same way
// (testdata/hello): a new aws-lambda-rie process with the bootstrap, from
// process start to the first answer. Each iteration is one round that
// starts every function once, in an order that rotates from round to
// round, so that the machine's load (other processes on a shared machine)
// falls on every function alike rather than on whichever ran during a
// busy second. It then prints a table with each function's median, and
// its cold start as a multiple of hello-world's twice: the ratio of the
// medians, and the median of the rounds' own ratios (each start over the
// hello-world start of its round). The emulator runs the host's
// architecture, so these are host builds with make build's flags; make
// bench prints the sizes of the deployed arm64 zips before it. It prints
// figures only: nothing here fails on a time.
func BenchmarkColdStart(b *testing.B) {
	coldStartReport = "" // a run that fails prints no figures
	db := seededDB(b)
	targets := []coldTarget{
		{name: "hello", pkg: "./infra/rie/testdata/hello", env: map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "hello"}, event: overviewEvent(b, db)},
		{name: "overview", pkg: "./functions/overview", env: functionEnv(db, "overview"), event: overviewEvent(b, db)},
		{name: "usage", pkg: "./functions/usage", env: functionEnv(db, "usage"), event: allowanceEvent(b)},
		{name: "stripe-webhook", pkg: "./functions/stripe-webhook", env: functionEnv(db, "stripe-webhook"), event: stripeEvent(b)},
	}
	for i := range targets {
		targets[i].bootstrap, targets[i].size = coldBootstrap(b, targets[i].name, targets[i].pkg)
	}
	// One start of each, not counted: the first start of a binary pays
	// for reading it from disk into the page cache.
	for _, tg := range targets {
		measure(b, tg.bootstrap, tg.env, tg.event)
	}
	results := map[string][]coldStart{}
	b.ResetTimer()
	for round := range b.N {
		for i := range targets {
			tg := targets[(round+i)%len(targets)]
			results[tg.name] = append(results[tg.name], measure(b, tg.bootstrap, tg.env, tg.event))
		}
	}
	b.StopTimer()
	for _, tg := range targets {
		b.ReportMetric(float64(median(results[tg.name], total).Microseconds())/1000, "ms-cold-p50-"+tg.name)
	}
	coldStartReport = coldStartTable(targets, results)
}

// coldStartReport is the table of BenchmarkColdStart's last run, which
// TestMain prints once at the end: the testing package runs a benchmark
// first with b.N = 1, then with -benchtime's b.N, and only the last run
// is the figure.
var coldStartReport string

// coldBuilds are the bootstraps BenchmarkColdStart built, by name, kept
// for its next run in coldBuildDir (removed by TestMain).
var (
	coldBuilds   = map[string]string{}
	coldBuildDir string
)

// coldBootstrap builds the package pkg as the bootstrap of the target
// name, once per test binary, and returns its path and size.
func coldBootstrap(b *testing.B, name, pkg string) (string, int64) {
	b.Helper()
	path, ok := coldBuilds[name]
	if !ok {
		if coldBuildDir == "" {
			dir, err := os.MkdirTemp("", "rie-coldstart-")
			if err != nil {
				b.Fatal(err)
			}
			coldBuildDir = dir
		}
		dir := filepath.Join(coldBuildDir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		path = buildBootstrap(b, pkg, dir)
		coldBuilds[name] = path
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, fi.Size()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if coldBuildDir != "" {
		_ = os.RemoveAll(coldBuildDir)
	}
	fmt.Print(coldStartReport)
	os.Exit(code)
}

// coldStartTable is BenchmarkColdStart's table of results: one line per
// target, each run of results[target] being that target's start in the
// round of the same index.
func coldStartTable(targets []coldTarget, results map[string][]coldStart) string {
	var out strings.Builder
	hello := results[targets[0].name]
	fmt.Fprintf(&out, "\nCold start under aws-lambda-rie (%d rounds, each starting every function once, interleaved): process start to first answer\n", len(hello))
	fmt.Fprintf(&out, "(host-architecture builds with make build's flags, as the emulator runs the host's; emulator: its start until it listens;\n")
	fmt.Fprintf(&out, "function: runtime start, init and first invocation; x hello: cold p50 over hello-world's cold p50, the target is at most 1.5;\n")
	fmt.Fprintf(&out, "paired: the median over the rounds of each start over the hello-world start of its round)\n")
	fmt.Fprintf(&out, "%-15s %10s %10s %10s %10s %14s %14s %10s %8s %8s\n", "function", "bootstrap", "cold p50", "min", "max", "emulator p50", "function p50", "warm p50", "x hello", "paired")
	for _, tg := range targets {
		runs := results[tg.name]
		if len(runs) == 0 {
			continue
		}
		fmt.Fprintf(&out, "%-15s %8.1fMB %10s %10s %10s %14s %14s %10s %8s %8s\n", tg.name, float64(tg.size)/1e6,
			ms(median(runs, total)), ms(minOf(runs, total)), ms(maxOf(runs, total)),
			ms(median(runs, emulatorOf)), ms(median(runs, functionOf)), ms(median(runs, warm)),
			ratio(median(runs, total), median(hello, total)), pairedRatio(runs, hello))
	}
	out.WriteString("\n")
	return out.String()
}

// ratio is a over b with two decimals, or "-" when b is zero.
func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

// pairedRatio is the median over the rounds of runs[i] over hello[i].
func pairedRatio(runs, hello []coldStart) string {
	var r []float64
	for i := range min(len(runs), len(hello)) {
		if hello[i].Total > 0 {
			r = append(r, float64(runs[i].Total)/float64(hello[i].Total))
		}
	}
	if len(r) == 0 {
		return "-"
	}
	slices.Sort(r)
	return fmt.Sprintf("%.2f", r[len(r)/2])
}

// coldTarget is one function of BenchmarkColdStart: its package, its
// environment and the event of its first invocation, which must answer
// 200.
type coldTarget struct {
	name, pkg string
	env       map[string]string
	event     []byte
	// bootstrap is the built binary, size its size in bytes.
	bootstrap string
	size      int64
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
