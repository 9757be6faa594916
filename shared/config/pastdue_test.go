package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/config"
)

func TestPastDueGraceDays(t *testing.T) {
	load := func(v string) (config.Config, error) {
		return config.Load(func(k string) string {
			if k == config.EnvPastDueGraceDays {
				return v
			}
			return ""
		}, true)
	}
	for v, want := range map[string]time.Duration{"": billing.DefaultPastDueGrace, "0": 0, " 14 ": 14 * 24 * time.Hour, "90": billing.MaxPastDueGrace} {
		c, err := load(v)
		if err != nil || c.PastDueGrace != want {
			t.Errorf("%s=%q: grace %v (%v), want %v", config.EnvPastDueGraceDays, v, c.PastDueGrace, err, want)
		}
	}
	for _, v := range []string{"91", "-1", "7d", "1.5", "9999999999999"} {
		if _, err := load(v); err == nil || !strings.Contains(err.Error(), config.EnvPastDueGraceDays) {
			t.Errorf("%s=%q: error %v, want one naming the variable", config.EnvPastDueGraceDays, v, err)
		}
	}
}
