package nomadnet

import (
	"context"
	"sync"
	"time"
)

// every runs f each period on a goroutine counted in wg until ctx ends or the returned cancel is
// called (the client's idle-link janitor, the server's refresh and the directory's save share it).
func every(ctx context.Context, wg *sync.WaitGroup, period time.Duration, f func()) context.CancelFunc {
	ctx, cancel := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f()
			}
		}
	}()
	return cancel
}
