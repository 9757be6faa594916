//go:build linux

package rie_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
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
// with the bootstrap from process start to the first answer to GET
// /billing's API Gateway v2 event, for the packaged overview function (its
// first answer reads the embedded DynamoDB, seeded with acme) and for a
// hello-world function built the same way (testdata/hello), then prints a
// table of both. Run it with `make bench`.
func BenchmarkColdStart(b *testing.B) {
	db := seededDB(b)
	event := overviewEvent(b, db)
	targets := []struct {
		name, pkg string
		env       map[string]string
	}{
		{"hello", "./infra/rie/testdata/hello", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "hello"}},
		{"overview", "./functions/overview", overviewEnv(db)},
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
				runs = append(runs, measure(b, bootstrap, tg.env, event))
			}
			results[tg.name] = runs
			b.ReportMetric(float64(median(runs, total).Microseconds())/1000, "ms-cold-p50")
			b.ReportMetric(float64(median(runs, functionOf).Microseconds())/1000, "ms-function-p50")
		})
	}
	fmt.Printf("\nCold start under aws-lambda-rie (%d runs each): process start to first answer\n", len(results["overview"]))
	fmt.Printf("(emulator: its start until it listens; function: runtime start, init and first invocation)\n")
	fmt.Printf("%-10s %10s %10s %10s %10s %14s %14s %10s\n", "function", "bootstrap", "cold p50", "min", "max", "emulator p50", "function p50", "warm p50")
	for _, tg := range targets {
		runs := results[tg.name]
		if len(runs) == 0 {
			continue
		}
		fmt.Printf("%-10s %8.1fMB %10s %10s %10s %14s %14s %10s\n", tg.name, float64(sizes[tg.name])/(1<<20),
			ms(median(runs, total)), ms(minOf(runs, total)), ms(maxOf(runs, total)),
			ms(median(runs, emulatorOf)), ms(median(runs, functionOf)), ms(median(runs, warm)))
	}
	if h, o := results["hello"], results["overview"]; len(h) > 0 && len(o) > 0 {
		fmt.Printf("overview's cold start is %s more than hello-world's (p50)\n\n", ms(median(o, total)-median(h, total)))
	}
}

// measure starts a fresh emulator with the bootstrap and times it to the
// first answer, then one warm invocation, then stops it (not timed).
func measure(b *testing.B, bootstrap string, env map[string]string, event []byte) coldStart {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := startEmulator(b, bootstrap, env)
	if _, err := e.Invoke(ctx, event); err != nil {
		b.Fatalf("%v\n%s", err, e.Logs())
	}
	answered := time.Now()
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
