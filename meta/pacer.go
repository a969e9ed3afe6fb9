package meta

import (
	"context"
	"sync"
	"time"
)

// pacer spreads work (shard bytes for repair and rebalancing, shards for
// the inventory reconciliation and checks of gateway reports) to a rate,
// across goroutines.
type pacer struct {
	mu    sync.Mutex
	rate  float64
	start time.Time
	sum   float64
}

// newPacer paces to perSecond units of work; perSecond <= 0 is unlimited.
func newPacer(perSecond int64) *pacer {
	return &pacer{rate: float64(perSecond), start: time.Now()}
}

// wait blocks until n more units of work fit under the rate.
func (p *pacer) wait(ctx context.Context, n int64) error {
	if p.rate <= 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	if idle := time.Since(p.start) - time.Duration(p.sum/p.rate*float64(time.Second)); idle > time.Second {
		// Bank at most a second of idle time as a burst.
		p.start = time.Now()
		p.sum = 0
	}
	p.sum += float64(n)
	due := p.start.Add(time.Duration(p.sum / p.rate * float64(time.Second)))
	p.mu.Unlock()
	if d := time.Until(due); d > 0 && !sleepCtx(ctx, d) {
		return ctx.Err()
	}
	return nil
}
