package chaos

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/cairn-store/cairn/test/harness"
)

// Nemesis applies one fault at a time to a cluster: kill -9 and restart,
// SIGSTOP and SIGCONT, and, when Net is set, cutting one process off from
// all others. After each fault it heals and waits for the cluster to be
// whole again before the next, so the cluster never loses more than one
// process at a time (within what 3 meta nodes and 4+2 coding tolerate).
type Nemesis struct {
	Cluster *harness.Cluster
	Net     *harness.Network // nil: no partitions
	Rand    *rand.Rand
	// Logf reports each fault.
	Logf func(format string, args ...any)
	// Now, when set, stamps each fault (History.Now: the history's clock).
	Now func() int64

	mu     sync.Mutex
	faults []string
}

// Faults returns the faults applied so far, in order.
func (n *Nemesis) Faults() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.faults...)
}

func (n *Nemesis) record(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if n.Now != nil {
		s = fmt.Sprintf("[%d] %s", n.Now(), s)
	}
	n.mu.Lock()
	n.faults = append(n.faults, s)
	n.mu.Unlock()
	n.Logf("nemesis: %s", s)
}

func (n *Nemesis) sleep(ctx context.Context, lo, hi time.Duration) {
	d := lo + time.Duration(n.Rand.Int63n(int64(hi-lo)+1))
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Run applies faults until ctx ends, and returns with every fault healed
// and the cluster ready, or an error if it did not become ready.
func (n *Nemesis) Run(ctx context.Context) error {
	c := n.Cluster
	for ctx.Err() == nil {
		n.sleep(ctx, 2*time.Second, 5*time.Second)
		if ctx.Err() != nil {
			break
		}
		all := c.All()
		p := n.target(ctx)
		kinds := 2
		if n.Net != nil {
			kinds = 3
		}
		switch n.Rand.Intn(kinds) {
		case 0:
			n.record("kill -9 %s", p.Name)
			if err := p.Kill(); err != nil {
				return err
			}
			n.sleep(ctx, 500*time.Millisecond, 4*time.Second)
			n.record("restart %s", p.Name)
			if err := p.Start(); err != nil {
				return err
			}
		case 1:
			n.record("SIGSTOP %s", p.Name)
			if err := p.Pause(); err != nil {
				return err
			}
			n.sleep(ctx, time.Second, 6*time.Second)
			n.record("SIGCONT %s", p.Name)
			if err := p.Resume(); err != nil {
				return err
			}
		case 2:
			var others []*harness.Proc
			for _, q := range all {
				if q != p {
					others = append(others, q)
				}
			}
			n.record("cut %s off from every other process", p.Name)
			if err := n.Net.Partition([]*harness.Proc{p}, others); err != nil {
				return err
			}
			n.sleep(ctx, 2*time.Second, 8*time.Second)
			n.record("heal the network")
			if err := n.Net.Heal(); err != nil {
				return err
			}
		}
		wctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		err := c.WaitReady(wctx, len(c.Datas))
		cancel()
		if err != nil {
			return fmt.Errorf("cluster not whole again after %s: %w", n.Faults()[len(n.Faults())-1], err)
		}
		// WaitReady needs a meta quorum, not every meta node: a process
		// that died (say, one that cannot restart) must not go unnoticed.
		for _, q := range all {
			if !q.Running() {
				return fmt.Errorf("%s is not running after %s; its log ends:\n%s", q.Name, n.Faults()[len(n.Faults())-1], q.LogTail(3000))
			}
		}
	}
	return nil
}

// target picks the process to hit: a meta node, a data node or the
// gateway with equal odds, and among meta nodes the leader half the time.
func (n *Nemesis) target(ctx context.Context) *harness.Proc {
	c := n.Cluster
	switch n.Rand.Intn(3) {
	case 0:
		if n.Rand.Intn(2) == 0 {
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if p, err := c.Leader(lctx); err == nil {
				return p
			}
		}
		return c.Metas[n.Rand.Intn(len(c.Metas))]
	case 1:
		return c.Datas[n.Rand.Intn(len(c.Datas))]
	default:
		return c.Gateway
	}
}
