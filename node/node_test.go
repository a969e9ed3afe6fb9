package node

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// fakeMeta records registrations and heartbeats. forget makes the next
// heartbeat answer "node not found".
type fakeMeta struct {
	cairnpb.UnimplementedMetaServer

	mu         sync.Mutex
	registered []*cairnpb.DataNode
	beats      []*cairnpb.HeartbeatRequest
	forget     bool
	refuse     bool // heartbeats fail as if meta were unreachable
}

func (m *fakeMeta) RegisterNode(_ context.Context, req *cairnpb.RegisterNodeRequest) (*cairnpb.RegisterNodeResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registered = append(m.registered, req.GetNode())
	return &cairnpb.RegisterNodeResponse{}, nil
}

func (m *fakeMeta) Heartbeat(_ context.Context, req *cairnpb.HeartbeatRequest) (*cairnpb.HeartbeatResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.forget {
		m.forget = false
		return nil, rpcerr.ErrNodeNotFound
	}
	if m.refuse {
		return nil, status.Error(codes.Unavailable, "fake meta: refusing heartbeats")
	}
	m.beats = append(m.beats, req)
	return &cairnpb.HeartbeatResponse{}, nil
}

func (m *fakeMeta) counts() (int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.registered), len(m.beats)
}

func serveMeta(t *testing.T, lis net.Listener) *fakeMeta {
	t.Helper()
	m := &fakeMeta{}
	gs := grpc.NewServer(rpcerr.ServerOptions()...)
	cairnpb.RegisterMetaServer(gs, m)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return m
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func nodeConfig(t *testing.T, meta string) Config {
	return Config{
		ID:                "dn-1",
		Dir:               "/data",
		MetaAddrs:         []string{meta},
		Zone:              "z1",
		Rack:              "r2",
		Host:              "h3",
		Weight:            2,
		HeartbeatInterval: 20 * time.Millisecond,
		Logger:            testLogger(t),
		Now:               fixedClock(),
		Store:             StoreOptions{FS: vfs.NewMem(), MemTableSize: 4 << 20},
	}
}

// startNode runs n.Serve on a loopback listener and returns a stop
// function that waits for Serve to return and closes the node.
func startNode(t *testing.T, n *Node) (stop func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, lis) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := n.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
}

func TestNodeRegistersAndHeartbeats(t *testing.T) {
	mlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	meta := serveMeta(t, mlis)
	n, err := New(nodeConfig(t, mlis.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	stop := startNode(t, n)
	waitFor(t, "registration and heartbeats", func() bool { r, b := meta.counts(); return r >= 1 && b >= 3 })

	meta.mu.Lock()
	reg := meta.registered[0]
	beat := meta.beats[0]
	meta.mu.Unlock()
	if reg.GetId() != "dn-1" || reg.GetZone() != "z1" || reg.GetRack() != "r2" || reg.GetHost() != "h3" ||
		reg.GetWeight() != 2 || reg.GetAddr() != n.Addr() || reg.GetRegisteredUnixNano() != fixedClock()().UnixNano() {
		t.Fatalf("registration %v (addr %s)", reg, n.Addr())
	}
	if beat.GetNodeId() != "dn-1" {
		t.Fatalf("heartbeat %v", beat)
	}

	// The Data service answers on the advertised address.
	cc, err := grpc.NewClient(n.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	h, err := cairnpb.NewDataClient(cc).Health(context.Background(), &cairnpb.HealthRequest{})
	if err != nil || h.GetNodeId() != "dn-1" {
		t.Fatalf("health %v %v", h, err)
	}

	// Meta forgetting the node makes it register again.
	meta.mu.Lock()
	meta.forget = true
	meta.mu.Unlock()
	waitFor(t, "re-registration", func() bool { r, _ := meta.counts(); return r >= 2 })
	stop()
}

func TestNodeWaitsForMeta(t *testing.T) {
	addr := freedAddr(t) // nothing answers until serveMeta below

	n, err := New(nodeConfig(t, addr))
	if err != nil {
		t.Fatal(err)
	}
	stop := startNode(t, n)
	time.Sleep(300 * time.Millisecond)

	meta := serveMeta(t, relisten(t, addr))
	waitFor(t, "late registration", func() bool { r, b := meta.counts(); return r >= 1 && b >= 1 })
	stop()
}

// TestNodeReadyFollowsMeta: a data node is ready for its readiness probe
// only once meta accepted its registration, and stops being ready when
// meta has accepted no heartbeat for three intervals.
func TestNodeReadyFollowsMeta(t *testing.T) {
	addr := freedAddr(t) // nothing answers until serveMeta below

	var clock atomic.Int64
	clock.Store(time.Unix(1_700_000_000, 0).UnixNano())
	cfg := nodeConfig(t, addr)
	cfg.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(context.Background()); !errors.Is(err, ErrNotReady) {
		t.Fatalf("before Serve: Ready = %v, want ErrNotReady", err)
	}
	stop := startNode(t, n)
	defer stop()
	time.Sleep(100 * time.Millisecond)
	if err := n.Ready(context.Background()); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "not yet registered") {
		t.Fatalf("meta unreachable: Ready = %v, want not yet registered", err)
	}

	meta := serveMeta(t, relisten(t, addr))
	waitFor(t, "ready after registration", func() bool { return n.Ready(context.Background()) == nil })

	// Meta stops accepting heartbeats and time passes beyond three
	// intervals: not ready, saying why.
	meta.mu.Lock()
	meta.refuse = true
	meta.mu.Unlock()
	_, beats := meta.counts()
	time.Sleep(5 * cfg.HeartbeatInterval) // let a heartbeat in flight land first
	clock.Add(int64(time.Second))
	if err := n.Ready(context.Background()); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "has not accepted a heartbeat") {
		t.Fatalf("heartbeats refused: Ready = %v (beats before %d)", err, beats)
	}

	meta.mu.Lock()
	meta.refuse = false
	meta.mu.Unlock()
	waitFor(t, "ready again once heartbeats are accepted", func() bool { return n.Ready(context.Background()) == nil })
}

// freedAddr reserves a loopback address for meta and frees it, so that
// nothing answers there until the test listens on it again (relisten).
func freedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// relisten listens again on addr, freed earlier by the test. The freed
// port is normally free still; it gives the kernel a moment if not, and
// fails rather than pass without checking anything.
func relisten(t *testing.T, addr string) net.Listener {
	t.Helper()
	for try := 0; ; try++ {
		lis, err := net.Listen("tcp", addr)
		if err == nil {
			return lis
		}
		if try == 50 {
			t.Fatalf("could not re-listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	cfg := nodeConfig(t, "")
	cfg.MetaAddrs = nil
	cfg.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	if _, err := New(Config{Dir: "/x"}); err == nil {
		t.Fatal("no ID accepted")
	}
	if _, err := New(Config{ID: "x"}); err == nil {
		t.Fatal("no Dir accepted")
	}
}
