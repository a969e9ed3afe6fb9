package meta

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

func TestStats(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	raftAddr := freeAddr(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := New(ctx, Config{
		ID: "m0", RaftAddr: raftAddr, GRPCAddr: lis.Addr().String(), Dir: t.TempDir(),
		Peers: []Peer{{ID: "m0", RaftAddr: raftAddr}}, Bootstrap: true, Logger: fsmtest.Logger(), Now: clock.Now,
	})
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
	register := func(id string) {
		call(func(ctx context.Context, c cairnpb.MetaClient) (any, error) {
			return c.RegisterNode(ctx, &cairnpb.RegisterNodeRequest{Node: &cairnpb.DataNode{Id: id, Addr: "127.0.0.1:1"}})
		})
	}
	register("stale")
	clock.Advance(DefaultHealthWindow + time.Second)
	register("fresh")
	call(func(ctx context.Context, c cairnpb.MetaClient) (any, error) {
		return c.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "bkt"})
	})
	for _, id := range []string{"v1", "v2"} { // v2 queues v1's two shards for GC
		v := &cairnpb.ObjectVersion{Key: "k", VersionId: id, Size: 10, Scheme: &cairnpb.ErasureScheme{Data: 1, Parity: 1, BlockSize: 10}}
		for i := 0; i < 2; i++ {
			v.Shards = append(v.Shards, &cairnpb.ShardLocation{Index: int32(i), NodeId: "fresh"})
		}
		call(func(ctx context.Context, c cairnpb.MetaClient) (any, error) {
			return c.CommitObject(ctx, &cairnpb.CommitObjectRequest{Namespace: "ns", Bucket: "bkt", Version: v})
		})
	}

	st, err := srv.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if !st.Leader || st.Term == 0 || st.CommitIndex == 0 || st.AppliedIndex == 0 || st.LastContact != 0 {
		t.Errorf("raft stats of a single-voter leader: %+v", st)
	}
	if st.GCQueue != 2 || st.DataNodesHealthy != 1 || st.DataNodesUnhealthy != 1 {
		t.Errorf("stats: %+v, want 2 queued, 1 healthy, 1 unhealthy", st)
	}
}
