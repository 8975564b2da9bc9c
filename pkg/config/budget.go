package config

import (
	"flag"
	"fmt"
	"strconv"
)

// budgetFlags registers the storage budget flags and their RETICLE_* variables.
func budgetFlags(fs *flag.FlagSet, c *Config, getenv func(string) string) error {
	for _, f := range []struct {
		name, env, usage string
		v                *int
	}{
		{"inbound-budget-mb", "RETICLE_INBOUND_BUDGET_MB", "total MB inbound messages may take in the store; 0: 1024 or a tenth of the data dir's free space at start, whichever is smaller", &c.InboundBudgetMB},
		{"peer-budget-mb-hour", "RETICLE_PEER_BUDGET_MB_HOUR", "MB one non-contact peer may have stored per hour; 0: no limit", &c.PeerBudgetMBHour},
		{"peer-budget-mb-day", "RETICLE_PEER_BUDGET_MB_DAY", "MB one non-contact peer may have stored per 24 hours; 0: no limit", &c.PeerBudgetMBDay},
		{"min-free-mb", "RETICLE_MIN_FREE_MB", "free MB the data dir's disk keeps: below it inbound messages and sends are refused; 0: off", &c.MinFreeMB},
	} {
		def := *f.v
		if s := getenv(f.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("%w: %s=%q is not a whole number", ErrInvalid, f.env, s)
			}
			def = n
		}
		fs.IntVar(f.v, f.name, def, f.usage+" ("+f.env+")")
	}
	return nil
}

// validateBudget checks the storage budget flags.
func (c Config) validateBudget() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"--inbound-budget-mb", c.InboundBudgetMB}, {"--peer-budget-mb-hour", c.PeerBudgetMBHour},
		{"--peer-budget-mb-day", c.PeerBudgetMBDay}, {"--min-free-mb", c.MinFreeMB},
	} {
		if f.v < 0 || f.v > 1<<24 {
			return fmt.Errorf("%w: %s %d must be between 0 and 16777216", ErrInvalid, f.name, f.v)
		}
	}
	return nil
}
