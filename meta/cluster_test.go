package meta

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cairn-store/cairn/meta/fsm/fsmfixture"
)

// fakeClock is an adjustable clock for Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// waitConverged waits until every running node holds the same FSM state.
func (c *TestCluster) waitConverged(ctx context.Context) []fsmfixture.KV {
	c.t.Helper()
	for {
		var first []fsmfixture.KV
		same := true
		for _, n := range c.nodes {
			if !n.running() {
				continue
			}
			d := fsmfixture.Dump(c.t, n.srv.node.store)
			if first == nil {
				first = d
			} else if fmt.Sprint(d) != fmt.Sprint(first) {
				same = false
			}
		}
		if same {
			return first
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("nodes did not converge: %v", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
