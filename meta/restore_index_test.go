package meta

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// TestRestoreKeepsVersionOrder: a group restored from a backup applies new
// commands above every seq in the backup, so versions written after the
// restore are newer than the restored ones and never take the place of a
// restored noncurrent record.
func TestRestoreKeepsVersionOrder(t *testing.T) {
	c := MakeTestCluster(t, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c.WaitAll(ctx)
	cl := c.Client()
	commitN(t, ctx, cl, "pad", 1) // creates ns/b
	if _, err := metaclient.Meta(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.SetBucketConfigResponse, error) {
		cmd := fsmtest.VersioningOp("ns", "b", fsm.VersioningEnabled)
		return m.SetBucketConfig(ctx, &cairnpb.SetBucketConfigRequest{Namespace: "ns", Bucket: "b", Configs: cmd.GetConfigs()})
	}); err != nil {
		t.Fatal(err)
	}
	// Versions of "k" are told apart by size: 1..5 before the backup (then
	// a delete marker, size 0), 11..15 after the restore.
	put := func(cl *metaclient.Client, size int) {
		t.Helper()
		data := []byte(fmt.Sprintf("%0*d", size, size))[:size]
		_, err := metaclient.Meta(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
			return m.CommitObject(ctx, &cairnpb.CommitObjectRequest{Namespace: "ns", Bucket: "b", Version: &cairnpb.ObjectVersion{
				Key: "k", VersionId: fmt.Sprintf("ver-%d", size), Size: int64(size), InlineData: data,
			}})
		})
		if err != nil {
			t.Fatalf("commit size %d: %v", size, err)
		}
	}
	for size := 1; size <= 5; size++ {
		put(cl, size)
	}
	if _, err := metaclient.Meta(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.DeleteObjectResponse, error) {
		return m.DeleteObject(ctx, &cairnpb.DeleteObjectRequest{Namespace: "ns", Bucket: "b", Key: "k"})
	}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "meta.snap")
	final := saveSnapshotFile(t, ctx, c.nodes[0].cfg.GRPCAddr, file)
	seq, err := snapshotFileSeq(file)
	if err != nil {
		t.Fatal(err)
	}
	if seq == 0 || seq > final.GetAppliedIndex() {
		t.Fatalf("highest seq in the backup %d, source applied index %d", seq, final.GetAppliedIndex())
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := freeAddr(t)
	nc := &TestCluster{t: t}
	nc.nodes = append(nc.nodes, &testNode{lis: lis, cfg: Config{
		ID: "r0", RaftAddr: raftAddr, GRPCAddr: lis.Addr().String(), Dir: t.TempDir(), Logger: fsmtest.Logger(),
		Peers: []Peer{{ID: "r0", RaftAddr: raftAddr}}, Bootstrap: true, RestoreFrom: file,
	}})
	nc.Start(0)
	t.Cleanup(func() {
		if nc.nodes[0].running() {
			nc.Stop(0)
		}
	})
	if got := nc.nodes[0].srv.node.raft.LastIndex(); got <= seq {
		t.Fatalf("restored group's last index %d, not above the backup's highest seq %d", got, seq)
	}
	rcl := nc.Client()
	for size := 11; size <= 15; size++ {
		put(rcl, size)
	}

	cur, err := metaclient.Meta(ctx, rcl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
		return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "b", Key: "k"})
	})
	if err != nil || cur.GetVersion().GetSize() != 15 {
		t.Fatalf("current version after restore: %v %v", cur, err)
	}
	list, err := metaclient.Meta(ctx, rcl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.ListObjectVersionsResponse, error) {
		return m.ListObjectVersions(ctx, &cairnpb.ListObjectVersionsRequest{Namespace: "ns", Bucket: "b", Prefix: "k"})
	})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for i, v := range list.GetVersions() {
		if v.GetIsLatest() != (i == 0) {
			t.Errorf("version %d (size %d): is_latest %v", i, v.GetSize(), v.GetIsLatest())
		}
		if v.GetDeleteMarker() {
			sizes = append(sizes, -1)
		} else {
			sizes = append(sizes, v.GetSize())
		}
	}
	if want := []int64{15, 14, 13, 12, 11, -1, 5, 4, 3, 2, 1}; !slices.Equal(sizes, want) {
		t.Fatalf("versions of k newest first (size, -1 a delete marker): %v, want %v", sizes, want)
	}
}

// TestSnapshotFileSeqRejectsDamage: the seq scan checks the file as
// CheckSnapshotFile does.
func TestSnapshotFileSeqRejectsDamage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.snap")
	if err := os.WriteFile(file, []byte("CAIRNFSM\x00\x00\x00\x01\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := snapshotFileSeq(file); err == nil {
		t.Fatal("truncated snapshot passed")
	}
}
