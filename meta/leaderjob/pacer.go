package leaderjob

import (
	"context"
	"sync"
	"time"
)

// Pacer spreads a job's work (shard bytes for repair and rebalancing,
// shards for checks) to a rate, across goroutines. It banks at most a
// second of idle time as a burst.
type Pacer struct {
	mu    sync.Mutex
	rate  float64
	start time.Time
	sum   float64
}

// NewPacer paces to perSecond units of work; perSecond <= 0 is unlimited.
func NewPacer(perSecond int64) *Pacer {
	return &Pacer{rate: float64(perSecond), start: time.Now()}
}

// Wait blocks until n more units of work fit under the rate, or ctx ends
// (then it returns ctx's error).
func (p *Pacer) Wait(ctx context.Context, n int64) error {
	if p.rate <= 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	if idle := time.Since(p.start) - time.Duration(p.sum/p.rate*float64(time.Second)); idle > time.Second {
		p.start = time.Now()
		p.sum = 0
	}
	p.sum += float64(n)
	due := p.start.Add(time.Duration(p.sum / p.rate * float64(time.Second)))
	p.mu.Unlock()
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Sleep waits d or until ctx ends, and reports whether it waited d.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
