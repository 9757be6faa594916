package events

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

//go:generate go run ./refresh

// stamps are the ways the samples write a time, each with how to write now
// in its place. Full timestamps come before bare days, so that a day inside
// a timestamp is replaced with its timestamp.
var stamps = []struct {
	re     *regexp.Regexp
	format func(now time.Time) string
}{
	// RFC 3339 (event times, usage event times, occurred_at).
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`), func(now time.Time) string { return now.Format(time.RFC3339) }},
	// API Gateway's requestContext.time.
	{regexp.MustCompile(`\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000`), func(now time.Time) string { return now.Format("02/Jan/2006:15:04:05 -0700") }},
	// API Gateway's requestContext.timeEpoch, in milliseconds.
	{regexp.MustCompile(`"timeEpoch": \d+`), func(now time.Time) string { return `"timeEpoch": ` + strconv.FormatInt(now.UnixMilli(), 10) }},
	// SigV4's x-amz-date and the date in its credential scope.
	{regexp.MustCompile(`\d{8}T\d{6}Z`), func(now time.Time) string { return now.Format("20060102T150405Z") }},
	{regexp.MustCompile(`Credential=([A-Z0-9]+)/\d{8}/`), nil},
	// UTC days (billing event days and ids).
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}`), func(now time.Time) string { return now.Format(time.DateOnly) }},
}

// Refresh returns the sample event raw with every time and day in it set to
// now (UTC, whole seconds), its layout otherwise unchanged. The usage API
// refuses usage older than billing.UsageRetention, so a sample event is
// only good for a while after it is refreshed.
func Refresh(raw []byte, now time.Time) []byte {
	now = now.UTC().Truncate(time.Second)
	for _, s := range stamps {
		if s.format == nil { // the credential scope keeps its access key id
			raw = s.re.ReplaceAll(raw, []byte("Credential=${1}/"+now.Format("20060102")+"/"))
			continue
		}
		raw = s.re.ReplaceAllLiteral(raw, []byte(s.format(now)))
	}
	return raw
}

// RefreshDir writes every sample event (*.json) of dir into out, refreshed
// to now; out may be dir. go generate ./infra/events refreshes them in place.
func RefreshDir(dir, out string, now time.Time) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no sample events (*.json) in %s", dir)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, filepath.Base(f)), Refresh(raw, now), 0o644); err != nil {
			return err
		}
	}
	return nil
}
