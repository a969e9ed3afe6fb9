package meta

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// fakeData is a data node that records deletions and can be made to fail.
type fakeData struct {
	cairnpb.UnimplementedDataServer
	mu      sync.Mutex
	deleted []string
	fail    bool
}

func (f *fakeData) DeleteShard(_ context.Context, req *cairnpb.DeleteShardRequest) (*cairnpb.DeleteShardResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, fmt.Errorf("disk unplugged")
	}
	f.deleted = append(f.deleted, req.GetShardId())
	return &cairnpb.DeleteShardResponse{}, nil
}

func (f *fakeData) snapshot() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]string(nil), f.deleted...)
	sort.Strings(out)
	return out
}

func (f *fakeData) setFail(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

func startFakeData(t *testing.T) (*fakeData, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fd := &fakeData{}
	gs := grpc.NewServer(rpcerr.ServerOptions()...)
	cairnpb.RegisterDataServer(gs, fd)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return fd, lis.Addr().String()
}

func TestGCDeletesOrphanedShardsOnlyAfterGrace(t *testing.T) {
	fd, dataAddr := startFakeData(t)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	raftAddr := freeAddr(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		ID: "m0", RaftAddr: raftAddr, GRPCAddr: lis.Addr().String(), Dir: t.TempDir(),
		Peers: []Peer{{ID: "m0", RaftAddr: raftAddr}}, Bootstrap: true, Logger: fsmtest.Logger(),
		Now: clock.Now, GCGrace: time.Minute, GCInterval: 20 * time.Millisecond,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() { _ = srv.Serve(ctx, lis) }()
	if err := srv.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	mc, err := metaclient.New([]string{lis.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	mc.SetClock(clock.Now)
	defer mc.Close()
	call := func(f func(context.Context, cairnpb.MetaClient) (any, error)) {
		t.Helper()
		if _, err := metaclient.Meta(ctx, mc, f); err != nil {
			t.Fatal(err)
		}
	}
	call(func(ctx context.Context, c cairnpb.MetaClient) (any, error) {
		return c.RegisterNode(ctx, &cairnpb.RegisterNodeRequest{Node: &cairnpb.DataNode{Id: "d1", Addr: dataAddr}})
	})
	call(func(ctx context.Context, c cairnpb.MetaClient) (any, error) {
		return c.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "bkt"})
	})
	commit := func(versionID string) {
		t.Helper()
		v := &cairnpb.ObjectVersion{Key: "k", VersionId: versionID, Size: 10, Scheme: &cairnpb.ErasureScheme{Data: 1, Parity: 1, BlockSize: 10}}
		for i := 0; i < 2; i++ {
			v.Shards = append(v.Shards, &cairnpb.ShardLocation{Index: int32(i), NodeId: "d1"})
		}
		call(func(ctx context.Context, c cairnpb.MetaClient) (any, error) {
			return c.CommitObject(ctx, &cairnpb.CommitObjectRequest{Namespace: "ns", Bucket: "bkt", Version: v})
		})
	}
	queued := func() int {
		var n int
		if err := srv.node.store.View(func(r pebble.Reader) error {
			es, err := fsm.ListGC(r, 0)
			n = len(es)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	commit("v1")
	commit("v2") // orphans v1's two shards
	if n := queued(); n != 2 {
		t.Fatalf("GC queue holds %d entries, want 2", n)
	}
	time.Sleep(200 * time.Millisecond) // many rounds, all inside the grace period
	if got := fd.snapshot(); len(got) != 0 {
		t.Fatalf("shards deleted before the grace period: %v", got)
	}

	clock.Advance(2 * time.Minute)
	waitFor("the queue to drain", func() bool { return queued() == 0 })
	if got := fmt.Sprint(fd.snapshot()); got != "[v1.0 v1.1]" {
		t.Fatalf("deleted %s, want exactly v1's shards", got)
	}

	// A node that fails deletions keeps its entries queued.
	fd.setFail(true)
	commit("v3") // orphans v2's shards
	clock.Advance(2 * time.Minute)
	time.Sleep(300 * time.Millisecond)
	if n := queued(); n != 2 {
		t.Fatalf("entries of a failing node were dropped: %d left, want 2", n)
	}
	// Once it works again (after the back-off), they go.
	fd.setFail(false)
	clock.Advance(time.Hour) // past the GC's back-off of a failing node
	waitFor("the queue to drain after the node recovered", func() bool { return queued() == 0 })
	if got := fmt.Sprint(fd.snapshot()); got != "[v1.0 v1.1 v2.0 v2.1]" {
		t.Fatalf("deleted %s", got)
	}
	// The live version's shards were never touched.
	v, err := metaclient.Meta(ctx, mc, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
		return c.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "bkt", Key: "k"})
	})
	if err != nil || v.GetVersion().GetVersionId() != "v3" {
		t.Fatalf("live version: %v %v", v, err)
	}
}
