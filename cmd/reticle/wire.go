package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// stopBudget is how long a full stop may take, all components together.
const stopBudget = 10 * time.Second

// component is one piece of the running appliance with its lifecycle.
type component struct {
	name  string
	start func(ctx context.Context) error // may be nil for components started by construction
	stop  func() error
}

// lifecycle starts components in order, rolls back a partial start, and stops them in reverse.
type lifecycle struct {
	log     *slog.Logger
	comps   []component
	started int
}

func (l *lifecycle) add(c component) { l.comps = append(l.comps, c) }

// start starts every component in order. If one fails, the ones already started are stopped in reverse
// and the error names the failing component.
func (l *lifecycle) start(ctx context.Context) error {
	for i, c := range l.comps {
		if c.start != nil {
			if err := c.start(ctx); err != nil {
				l.started = i
				_ = l.stop()
				return fmt.Errorf("start %s: %w", c.name, err)
			}
		}
		l.started = i + 1
		l.log.Debug("started", "component", c.name)
	}
	return nil
}

// stop stops the started components in reverse order within stopBudget. A component that overruns the
// budget is reported and left behind, so the process can still exit.
func (l *lifecycle) stop() error {
	deadline := time.Now().Add(stopBudget)
	var errs []error
	for i := l.started - 1; i >= 0; i-- {
		c := l.comps[i]
		if c.stop == nil {
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			errs = append(errs, fmt.Errorf("stop %s: no time left", c.name))
			continue
		}
		done := make(chan error, 1)
		go func() { done <- c.stop() }()
		select {
		case err := <-done:
			if err != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", c.name, err))
			}
		case <-time.After(left):
			errs = append(errs, fmt.Errorf("stop %s: timed out", c.name))
		}
		l.log.Debug("stopped", "component", c.name)
	}
	l.started = 0
	return errors.Join(errs...)
}
