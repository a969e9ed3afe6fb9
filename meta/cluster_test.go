package meta

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/metaclient"
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

// testNode is one in-process meta node on real TCP (Raft) and real gRPC.
type testNode struct {
	cfg    Config
	srv    *Server
	lis    net.Listener
	cancel context.CancelFunc
	served chan error
}

func (n *testNode) running() bool { return n.srv != nil }

// testCluster runs meta nodes on 127.0.0.1 with their state in t.TempDir().
type testCluster struct {
	t     *testing.T
	nodes []*testNode
}

// freeAddr reserves a loopback port for a Raft transport, which must be
// known before the peers are configured.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func newTestCluster(t *testing.T, size int, now func() time.Time) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	var peers []Peer
	for i := 0; i < size; i++ {
		peers = append(peers, Peer{ID: fmt.Sprintf("m%d", i), RaftAddr: freeAddr(t)})
	}
	for i := 0; i < size; i++ {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, &testNode{
			lis: lis,
			cfg: Config{
				ID:        peers[i].ID,
				RaftAddr:  peers[i].RaftAddr,
				GRPCAddr:  lis.Addr().String(),
				Dir:       t.TempDir(),
				Peers:     peers,
				Bootstrap: true,
				Logger:    fsmtest.Logger(),
				Now:       now,
			},
		})
	}
	t.Cleanup(func() {
		for i, n := range c.nodes {
			if n.running() {
				c.stop(i)
			}
		}
	})
	for i := range c.nodes {
		c.start(i)
	}
	return c
}

func (c *testCluster) start(i int) {
	c.t.Helper()
	n := c.nodes[i]
	if n.lis == nil {
		var err error
		for try := 0; ; try++ {
			n.lis, err = net.Listen("tcp", n.cfg.GRPCAddr)
			if err == nil {
				break
			}
			if try == 50 {
				c.t.Fatalf("relisten on %s: %v", n.cfg.GRPCAddr, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	n.cfg.AdminToken = testAdminToken
	srv, err := New(context.Background(), n.cfg)
	if err != nil {
		c.t.Fatalf("start %s: %v", n.cfg.ID, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.srv, n.cancel, n.served = srv, cancel, make(chan error, 1)
	lis := n.lis
	go func() { n.served <- srv.Serve(ctx, lis) }()
}

// stop closes node i the hard way (Close, not a graceful stop), keeping its
// directory for a restart.
func (c *testCluster) stop(i int) {
	c.t.Helper()
	n := c.nodes[i]
	if err := n.srv.Close(); err != nil {
		c.t.Errorf("close %s: %v", n.cfg.ID, err)
	}
	n.cancel()
	if err := <-n.served; err != nil {
		c.t.Errorf("serve %s: %v", n.cfg.ID, err)
	}
	n.srv, n.lis = nil, nil
}

// waitAll waits until every running node can serve.
func (c *testCluster) waitAll(ctx context.Context) {
	c.t.Helper()
	for _, n := range c.nodes {
		if n.running() {
			if err := n.srv.WaitLeader(ctx); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

// leader waits for a running node that leads and is ready, and returns its
// index.
func (c *testCluster) leader(ctx context.Context) int {
	c.t.Helper()
	for {
		for i, n := range c.nodes {
			if n.running() && n.srv.IsLeader() && n.srv.hasUsableLeader() {
				return i
			}
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("no ready leader: %v", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// client returns a failover client over the given nodes (all when none).
func (c *testCluster) client(idx ...int) *metaclient.Client {
	c.t.Helper()
	if len(idx) == 0 {
		for i := range c.nodes {
			idx = append(idx, i)
		}
	}
	var addrs []string
	for _, i := range idx {
		addrs = append(addrs, c.nodes[i].cfg.GRPCAddr)
	}
	cl, err := metaclient.New(addrs, metaclient.WithAdminToken(testAdminToken)...)
	if err != nil {
		c.t.Fatal(err)
	}
	if now := c.nodes[0].cfg.Now; now != nil {
		cl.SetClock(now) // request start times on the cluster's clock
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// waitConverged waits until every running node holds the same FSM state.
func (c *testCluster) waitConverged(ctx context.Context) []kv {
	c.t.Helper()
	for {
		var first []kv
		same := true
		for _, n := range c.nodes {
			if !n.running() {
				continue
			}
			d := dumpStore(c.t, n.srv.node.store)
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
