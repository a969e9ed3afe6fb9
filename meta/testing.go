package meta

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/metaclient"
)

// An in-process meta group for tests, in the spirit of hashicorp/raft's
// MakeCluster: real Raft over TCP, real gRPC, real Pebble, each node's
// state in the test's temporary directory, on 127.0.0.1. Tests of meta
// use it with the nodes' internals; tests of other packages (a gateway's
// s3api/cluster against a real meta group instead of a fake Index) use
// MakeTestCluster, Client, Leader, Stop and Start.

// testNode is one in-process meta node on real TCP (Raft) and real gRPC.
type testNode struct {
	cfg    Config
	srv    *Server
	lis    net.Listener
	cancel context.CancelFunc
	served chan error
}

func (n *testNode) running() bool { return n.srv != nil }

// TestCluster runs meta nodes on 127.0.0.1 with their state in t.TempDir().
type TestCluster struct {
	t     testing.TB
	nodes []*testNode
}

// freeAddr reserves a loopback port for a Raft transport, which must be
// known before the peers are configured.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// MakeTestCluster starts size bootstrapped meta nodes on the clock now
// (time.Now when nil) and stops them when t ends. Wait for a leader with
// WaitAll or Leader before calling them.
func MakeTestCluster(t testing.TB, size int, now func() time.Time) *TestCluster {
	t.Helper()
	c := &TestCluster{t: t}
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
				c.Stop(i)
			}
		}
	})
	for i := range c.nodes {
		c.Start(i)
	}
	return c
}

// Start starts node i again after Stop, on the same addresses and
// directory (MakeTestCluster starts every node once).
func (c *TestCluster) Start(i int) {
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
	n.cfg.AdminToken = TestAdminToken
	if n.cfg.StartQuiet == 0 {
		// In-process groups restart nodes often and test no read lease
		// across a restart: they start without the quiet period.
		n.cfg.StartQuiet = -1
	}
	srv, err := New(context.Background(), n.cfg)
	if err != nil {
		c.t.Fatalf("start %s: %v", n.cfg.ID, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.srv, n.cancel, n.served = srv, cancel, make(chan error, 1)
	lis := n.lis
	go func() { n.served <- srv.Serve(ctx, lis) }()
}

// Stop closes node i the hard way (Close, not a graceful stop), keeping its
// directory for a restart.
func (c *TestCluster) Stop(i int) {
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

// WaitAll waits until every running node can serve.
func (c *TestCluster) WaitAll(ctx context.Context) {
	c.t.Helper()
	for _, n := range c.nodes {
		if n.running() {
			if err := n.srv.WaitLeader(ctx); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

// Leader waits for a running node that leads and is ready, and returns its
// index.
func (c *TestCluster) Leader(ctx context.Context) int {
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

// Client returns a failover client over the given nodes (all when none).
func (c *TestCluster) Client(idx ...int) *metaclient.Client {
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
	cl, err := metaclient.New(addrs, metaclient.WithAdminToken(TestAdminToken)...)
	if err != nil {
		c.t.Fatal(err)
	}
	if now := c.nodes[0].cfg.Now; now != nil {
		cl.SetClock(now) // request start times on the cluster's clock
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// TestAdminToken is the admin token of every test cluster; Client's
// clients carry it.
const TestAdminToken = "test-admin-token-0123456789abcdef"

// Size is the number of nodes, running or stopped.
func (c *TestCluster) Size() int { return len(c.nodes) }

// Server is node i's server, nil while it is stopped.
func (c *TestCluster) Server(i int) *Server { return c.nodes[i].srv }
