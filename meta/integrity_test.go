package meta

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// shardNode is a data node that keeps shard IDs with their digests (no
// bytes), answers stats, and rebuilds by recording the request.
type shardNode struct {
	cairnpb.UnimplementedDataServer
	mu          sync.Mutex
	incarnation uint64
	shards      map[string]uint64
	rebuilds    []*cairnpb.RebuildShardRequest
	failRebuild bool
}

func (f *shardNode) StatShards(_ context.Context, req *cairnpb.StatShardsRequest) (*cairnpb.StatShardsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &cairnpb.StatShardsResponse{}
	for _, id := range req.GetShardIds() {
		if d, ok := f.shards[id]; ok {
			resp.Shards = append(resp.Shards, &cairnpb.ShardInfo{ShardId: id, Digest: d})
		}
	}
	return resp, nil
}

func (f *shardNode) StatShard(_ context.Context, req *cairnpb.StatShardRequest) (*cairnpb.StatShardResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.shards[req.GetShardId()]
	if !ok {
		return nil, fmt.Errorf("shard %s: %w", req.GetShardId(), rpcerr.ErrShardNotFound)
	}
	return &cairnpb.StatShardResponse{Info: &cairnpb.ShardInfo{ShardId: req.GetShardId(), Digest: d}}, nil
}

func (f *shardNode) RebuildShard(_ context.Context, req *cairnpb.RebuildShardRequest) (*cairnpb.RebuildShardResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rebuilds = append(f.rebuilds, proto.Clone(req).(*cairnpb.RebuildShardRequest))
	if f.failRebuild {
		return nil, errors.New("no sources today")
	}
	f.shards[req.GetShardId()] = req.GetExpectDigest()
	return &cairnpb.RebuildShardResponse{Bytes: 1024, Digest: req.GetExpectDigest(), Incarnation: f.incarnation}, nil
}

func (f *shardNode) set(id string, digest uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shards[id] = digest
}

// rebuilt returns the requests the node was sent, as "shard digest".
func (f *shardNode) rebuilt() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.rebuilds {
		out = append(out, fmt.Sprintf("%s %x", r.GetShardId(), r.GetExpectDigest()))
	}
	return out
}

// integrityCluster is one meta node serving real gRPC, with shardNodes
// d0..d<n-1> registered (one host each), and a bucket "ns"/"bkt".
type integrityCluster struct {
	t     *testing.T
	ctx   context.Context
	srv   *Server
	mc    *metaclient.Client
	nodes []*shardNode
	addrs []string
}

func newIntegrityCluster(t *testing.T, n int, tune func(*Config)) *integrityCluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c := &integrityCluster{t: t, ctx: ctx}
	for i := range n {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		fd := &shardNode{incarnation: uint64(100 + i), shards: map[string]uint64{}}
		gs := grpc.NewServer(rpcerr.ServerOptions()...)
		cairnpb.RegisterDataServer(gs, fd)
		go func() { _ = gs.Serve(lis) }()
		t.Cleanup(gs.Stop)
		c.nodes = append(c.nodes, fd)
		c.addrs = append(c.addrs, lis.Addr().String())
	}
	raftAddr := freeAddr(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		ID: "m0", RaftAddr: raftAddr, GRPCAddr: lis.Addr().String(), Dir: t.TempDir(),
		Peers: []Peer{{ID: "m0", RaftAddr: raftAddr}}, Bootstrap: true, Logger: fsmtest.Logger(),
		HealthWindow: time.Hour, RepairGrace: 2 * time.Hour, RepairInterval: time.Hour,
		RepairBytesPerSecond: -1, InventoryInterval: time.Hour, InventoryRate: -1, ShardCheckRate: 1000,
		AdminToken: TestAdminToken,
	}
	if tune != nil {
		tune(&cfg)
	}
	c.srv, err = New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.srv.Close() })
	go func() { _ = c.srv.Serve(ctx, lis) }()
	if err := c.srv.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	c.mc, err = metaclient.New([]string{lis.Addr().String()}, metaclient.WithAdminToken(TestAdminToken)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.mc.Close() })
	for i := range n {
		c.register(i, c.nodes[i].incarnation, "")
	}
	if _, err := metaclient.Meta(ctx, c.mc, func(ctx context.Context, m cairnpb.MetaClient) (any, error) {
		return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "bkt"})
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

func nodeName(i int) string { return fmt.Sprint("d", i) }

// register registers node i; it returns the answer's cluster ID.
func (c *integrityCluster) register(i int, incarnation uint64, cluster string) (string, error) {
	resp, err := metaclient.Meta(c.ctx, c.mc, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.RegisterNodeResponse, error) {
		return m.RegisterNode(ctx, &cairnpb.RegisterNodeRequest{ClusterId: cluster, Node: &cairnpb.DataNode{
			Id: nodeName(i), Addr: c.addrs[i], Host: "host-" + nodeName(i), Incarnation: incarnation}})
	})
	return resp.GetClusterId(), err
}

// commit commits key as version v with scheme k+m, shard i on node
// nodes[i] ("" not written: -1) with digest 0xd0+i, each node holding
// its shard unless the test changes that.
func (c *integrityCluster) commit(key, v string, k, m int32, nodes ...int) *cairnpb.ObjectVersion {
	c.t.Helper()
	ver := &cairnpb.ObjectVersion{Key: key, VersionId: v, Size: 4096,
		Scheme: &cairnpb.ErasureScheme{Data: k, Parity: m, BlockSize: 1024}}
	for i, n := range nodes {
		l := &cairnpb.ShardLocation{Index: int32(i)}
		if n >= 0 {
			l.NodeId, l.Digest, l.Incarnation = nodeName(n), uint64(0xd0+i), c.nodes[n].incarnation
			c.nodes[n].set(fsm.ShardID(v, int32(i)), l.Digest)
		} else {
			ver.Degraded = true
		}
		ver.Shards = append(ver.Shards, l)
	}
	if _, err := metaclient.Meta(c.ctx, c.mc, func(ctx context.Context, m cairnpb.MetaClient) (any, error) {
		return m.CommitObject(ctx, &cairnpb.CommitObjectRequest{Namespace: "ns", Bucket: "bkt", Version: ver})
	}); err != nil {
		c.t.Fatal(err)
	}
	return ver
}

func (c *integrityCluster) version(key string) *cairnpb.ObjectVersion {
	c.t.Helper()
	resp, err := metaclient.Meta(c.ctx, c.mc, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
		return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "bkt", Key: key})
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.GetVersion()
}

func (c *integrityCluster) repairStatus() *cairnpb.RepairStatus {
	c.t.Helper()
	resp, err := metaclient.Admin(c.ctx, c.mc, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RepairStatusResponse, error) {
		return a.RepairStatus(ctx, &cairnpb.RepairStatusRequest{})
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.GetStatus()
}

// corruptReports lists the corrupt reports as "node/shard reason".
func (c *integrityCluster) corruptReports() []string {
	c.t.Helper()
	var out []string
	if err := c.srv.node.store.View(func(r pebble.Reader) error {
		return fsm.Scan(r, []byte(fsm.TagCorrupt), func(_, v []byte) (bool, error) {
			cs := &cairnpb.CorruptShard{}
			if err := proto.Unmarshal(v, cs); err != nil {
				return false, err
			}
			out = append(out, cs.GetNodeId()+"/"+cs.GetShardId()+" "+cs.GetReason())
			return true, nil
		})
	}); err != nil {
		c.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func (c *integrityCluster) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RegisterNode answers with the cluster's ID, accepts a node that names
// it or none, and refuses one of another cluster with FAILED_PRECONDITION
// naming both IDs; cairnctl status shows the ID.
func TestRegisterNodeRefusesAnotherCluster(t *testing.T) {
	c := newIntegrityCluster(t, 1, nil)
	id, err := c.register(0, 100, "")
	if err != nil || len(id) != 32 {
		t.Fatalf("cluster id %q, %v", id, err)
	}
	if again, err := c.register(0, 100, id); err != nil || again != id {
		t.Fatalf("registering with our own ID: %q, %v", again, err)
	}
	_, err = c.register(0, 100, "0123456789abcdef0123456789abcdef")
	if !errors.Is(err, rpcerr.ErrPreconditionFailed) || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "0123456789abcdef0123456789abcdef") {
		t.Fatalf("another cluster's node: %v", err)
	}
	st, err := metaclient.Admin(c.ctx, c.mc, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.StatusResponse, error) {
		return a.Status(ctx, &cairnpb.StatusRequest{})
	})
	if err != nil || st.GetClusterId() != id {
		t.Fatalf("status cluster id %q (%v), want %q", st.GetClusterId(), err, id)
	}
}

// A node back with a new incarnation has lost the shards recorded with
// the old one: repair starts at once and, with no other host free,
// rebuilds the shard in place with the recorded digest; the record then
// carries the new incarnation and the same digest.
func TestNewIncarnationRebuildsShardsInPlace(t *testing.T) {
	c := newIntegrityCluster(t, 3, nil)
	c.commit("k", "v1", 2, 1, 0, 1, 2)
	c.waitFor("a first repair scan", func() bool { return c.repairStatus().GetLastScanUnixNano() > 0 })
	if got := c.nodes[0].rebuilt(); len(got) != 0 {
		t.Fatalf("rebuilds before the new incarnation: %v", got)
	}
	c.nodes[0].mu.Lock()
	c.nodes[0].incarnation = 555
	c.nodes[0].shards = map[string]uint64{} // an empty directory
	c.nodes[0].mu.Unlock()
	if _, err := c.register(0, 555, ""); err != nil {
		t.Fatal(err)
	}
	// RepairInterval is an hour: only the kick can start this round.
	c.waitFor("shard 0 rebuilt in place", func() bool {
		l := c.version("k").GetShards()[0]
		return l.GetIncarnation() == 555
	})
	l := c.version("k").GetShards()[0]
	if l.GetNodeId() != "d0" || l.GetDigest() != 0xd0 {
		t.Fatalf("location after the rebuild: %v", l)
	}
	if got := c.nodes[0].rebuilt(); fmt.Sprint(got) != "[v1.0 d0]" {
		t.Fatalf("rebuilds on d0: %v, want v1.0 with digest d0", got)
	}
	c.nodes[0].mu.Lock()
	srcs := c.nodes[0].rebuilds[0].GetSources()
	c.nodes[0].mu.Unlock()
	if len(srcs) != 2 || srcs[0].GetDigest() != 0xd1 || srcs[1].GetDigest() != 0xd2 {
		t.Fatalf("sources %v, want shards 1 and 2 with their digests", srcs)
	}
}

// The inventory reconciliation records a shard its node lacks and one
// whose digest differs as corrupt, and no other; it replicates its
// progress, counting passes.
func TestInventoryReconciliationFindsAbsentAndMismatchedShards(t *testing.T) {
	c := newIntegrityCluster(t, 4, func(cfg *Config) { cfg.InventoryInterval = 50 * time.Millisecond })
	for _, n := range c.nodes {
		n.failRebuild = true // keep the reports for the test to see
	}
	c.commit("k", "v1", 2, 2, 0, 1, 2, 3)
	c.commit("fine", "v2", 2, 2, 3, 2, 1, 0)
	c.nodes[0].mu.Lock()
	delete(c.nodes[0].shards, "v1.0")
	c.nodes[0].mu.Unlock()
	c.nodes[1].set("v1.1", 0xbad)
	want := []string{"d0/v1.0 missing", "d1/v1.1 digest mismatch"}
	c.waitFor("both reports", func() bool { return slices.Equal(c.corruptReports(), want) })

	var passes int64
	c.waitFor("two more passes", func() bool {
		inv := c.repairStatus().GetInventory()
		if passes == 0 {
			passes = inv.GetPasses()
		}
		return inv.GetPasses() >= passes+2
	})
	if got := c.corruptReports(); !slices.Equal(got, want) {
		t.Fatalf("reports %v, want %v", got, want)
	}
	var saved *cairnpb.InventoryProgress
	if err := c.srv.node.store.View(func(r pebble.Reader) error {
		var err error
		saved, err = fsm.GetInventory(r)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if saved.GetPasses() < passes+1 || saved.GetLastPassFinishedUnixNano() == 0 || saved.GetLastPassUnits() != 2 {
		t.Fatalf("replicated progress %v", saved)
	}
	// Repair was asked to rebuild both (in place: no other host).
	c.waitFor("rebuild attempts", func() bool {
		return slices.Contains(c.nodes[0].rebuilt(), "v1.0 d0") && slices.Contains(c.nodes[1].rebuilt(), "v1.1 d1")
	})
}

// A shard a gateway reports is checked on its node: one that is there
// with its digest is left alone, one the node lacks is recorded missing;
// a report again within the TTL is not checked again.
func TestReportShardsChecksBeforeRecording(t *testing.T) {
	c := newIntegrityCluster(t, 4, nil)
	for _, n := range c.nodes {
		n.failRebuild = true
	}
	c.waitFor("the first inventory pass", func() bool { return c.repairStatus().GetInventory().GetPasses() >= 1 })
	c.commit("k", "v1", 2, 2, 0, 1, 2, 3)
	v := c.version("k") // with the bucket ID meta filled in
	c.nodes[2].mu.Lock()
	delete(c.nodes[2].shards, "v1.2")
	c.nodes[2].mu.Unlock()
	report := func(problems ...*cairnpb.ShardProblem) {
		t.Helper()
		if _, err := metaclient.Meta(c.ctx, c.mc, func(ctx context.Context, m cairnpb.MetaClient) (any, error) {
			return m.ReportShards(ctx, &cairnpb.ReportShardsRequest{Problems: problems})
		}); err != nil {
			t.Fatal(err)
		}
	}
	problem := func(index int32, node string) *cairnpb.ShardProblem {
		return &cairnpb.ShardProblem{BucketId: v.GetBucketId(), Key: "k", VersionId: "v1", Index: index, NodeId: node, Reason: "read failed"}
	}
	report(problem(1, "d1"), problem(0, "d3")) // fine; and a node the record does not name
	c.waitFor("two checks", func() bool { return c.repairStatus().GetShardReportsChecked() == 2 })
	if st := c.repairStatus(); st.GetShardReportsConfirmed() != 0 || len(c.corruptReports()) != 0 {
		t.Fatalf("a fine shard was recorded: %v, reports %v", st, c.corruptReports())
	}
	report(problem(2, "d2"))
	c.waitFor("the missing shard recorded", func() bool {
		return slices.Equal(c.corruptReports(), []string{"d2/v1.2 missing"})
	})
	report(problem(2, "d2"), problem(1, "d1"))
	time.Sleep(200 * time.Millisecond)
	st := c.repairStatus()
	if st.GetShardReportsReceived() != 5 || st.GetShardReportsChecked() != 3 || st.GetShardReportsConfirmed() != 1 {
		t.Fatalf("received/checked/confirmed %d/%d/%d, want 5/3/1", st.GetShardReportsReceived(), st.GetShardReportsChecked(), st.GetShardReportsConfirmed())
	}
}

// Committing a degraded version starts a repair round at once, which
// rebuilds the shard that was never written.
func TestDegradedCommitStartsRepair(t *testing.T) {
	c := newIntegrityCluster(t, 4, nil)
	c.waitFor("a first repair scan", func() bool { return c.repairStatus().GetLastScanUnixNano() > 0 })
	c.commit("k", "v1", 2, 2, 0, 1, 2, -1)
	// RepairInterval is an hour: only the commit's kick can start it.
	c.waitFor("shard 3 rebuilt on d3", func() bool {
		l := c.version("k").GetShards()[3]
		return l.GetNodeId() == "d3" && l.GetIncarnation() == 103
	})
	if v := c.version("k"); v.GetDegraded() {
		t.Fatalf("still degraded: %v", v)
	}
}
