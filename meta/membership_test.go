package meta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// addJoiner appends a node that starts with no state and no bootstrap, and
// starts it: it waits to be added.
func (c *TestCluster) addJoiner(id string) int {
	c.t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	c.nodes = append(c.nodes, &testNode{lis: lis, cfg: Config{
		ID: id, RaftAddr: freeAddr(c.t), GRPCAddr: lis.Addr().String(), Dir: c.t.TempDir(), Logger: fsmtest.Logger(),
	}})
	i := len(c.nodes) - 1
	c.Start(i)
	return i
}

func adminCall[T any](t *testing.T, cl *metaclient.Client, f func(context.Context, cairnpb.AdminClient) (T, error)) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := metaclient.Admin(ctx, cl, f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAdminAuth: Admin calls need the token, on the leader and through a
// follower's forwarding; the Meta service does not.
func TestAdminAuth(t *testing.T) {
	c := MakeTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.WaitAll(ctx)
	lead := c.Leader(ctx)
	follower := (lead + 1) % 3

	for _, tc := range []struct {
		name  string
		token string
	}{{"none", ""}, {"wrong", "not-the-cluster-token-at-all"}} {
		for _, i := range []int{lead, follower} {
			cl, err := metaclient.New([]string{c.nodes[i].cfg.GRPCAddr}, metaclient.WithAdminToken(tc.token)...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = metaclient.Admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListNamespacesResponse, error) {
				return a.ListNamespaces(ctx, &cairnpb.ListNamespacesRequest{})
			})
			if status.Code(err) != codes.Unauthenticated || !errors.Is(err, rpcerr.ErrUnauthenticated) {
				t.Fatalf("token %s via %s: got %v, want Unauthenticated", tc.name, c.nodes[i].cfg.ID, err)
			}
			// On a plaintext port the Meta service stays open to gateways
			// and data nodes, but a wrong token is refused wherever a row
			// accepts the token (GetClusterMap does, for operators).
			_, err = metaclient.Meta(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetClusterMapResponse, error) {
				return m.GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{})
			})
			if wantOK := tc.token == ""; (err == nil) != wantOK {
				t.Fatalf("meta service with token %s: %v", tc.name, err)
			}
			cl.Close()
		}
	}
	// The right token works through a follower, which forwards it.
	adminCall(t, c.Client(follower), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateNamespaceResponse, error) {
		return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: "viafollower"})
	})
}

func memberIDs(ms []*cairnpb.MetaMemberInfo) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		out[m.GetId()] = m.GetSuffrage()
	}
	return out
}

// TestMembershipChanges: a joining node is added as a voter and catches
// up; leadership moves on request; removing the leader hands leadership
// over first; a removed node's state stops changing.
func TestMembershipChanges(t *testing.T) {
	c := MakeTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c.WaitAll(ctx)
	cl := c.Client(0, 1, 2)
	commitN(t, ctx, cl, "before", 5)

	j := c.addJoiner("m3")
	resp := adminCall(t, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.AddMetaMemberResponse, error) {
		return a.AddMetaMember(ctx, &cairnpb.AddMetaMemberRequest{Id: "m3", RaftAddr: c.nodes[j].cfg.RaftAddr, GrpcAddr: c.nodes[j].cfg.GRPCAddr})
	})
	if got := memberIDs(resp.GetMembers()); len(got) != 4 || got["m3"] != "Voter" {
		t.Fatalf("members after add: %v", got)
	}
	if err := c.nodes[j].srv.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	commitN(t, ctx, cl, "after", 5)
	c.waitConverged(ctx)

	// Leadership to the new member, by name.
	tr := adminCall(t, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.TransferLeadershipResponse, error) {
		return a.TransferLeadership(ctx, &cairnpb.TransferLeadershipRequest{Id: "m3"})
	})
	if tr.GetLeaderId() != "m3" {
		t.Fatalf("transfer to m3: leader is %q", tr.GetLeaderId())
	}
	// Removing the leader itself: it hands over, the client retries.
	rm := adminCall(t, c.Client(0, 1, 2, 3), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RemoveMetaMemberResponse, error) {
		return a.RemoveMetaMember(ctx, &cairnpb.RemoveMetaMemberRequest{Id: "m3"})
	})
	if got := memberIDs(rm.GetMembers()); len(got) != 3 || got["m3"] != "" {
		t.Fatalf("members after removing m3: %v", got)
	}
	// An unknown member is NotFound.
	_, err := metaclient.Admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RemoveMetaMemberResponse, error) {
		return a.RemoveMetaMember(ctx, &cairnpb.RemoveMetaMemberRequest{Id: "nobody"})
	})
	if !errors.Is(err, rpcerr.ErrMemberNotFound) {
		t.Fatalf("remove unknown member: %v", err)
	}
	c.Stop(j)
	commitN(t, ctx, cl, "removed", 3)
	list := adminCall(t, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListMetaMembersResponse, error) {
		return a.ListMetaMembers(ctx, &cairnpb.ListMetaMembersRequest{})
	})
	if got := memberIDs(list.GetMembers()); len(got) != 3 || list.GetLeaderId() == "" || list.GetLeaderId() == "m3" {
		t.Fatalf("members %v, leader %q", got, list.GetLeaderId())
	}
}

// commitN creates bucket "b" if needed and commits n inline objects.
func commitN(t *testing.T, ctx context.Context, cl *metaclient.Client, prefix string, n int) {
	t.Helper()
	_, err := metaclient.Meta(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
		return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "b"})
	})
	if err != nil && !errors.Is(err, rpcerr.ErrBucketExists) {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("%s%03d", prefix, i)
		_, err := metaclient.Meta(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
			return m.CommitObject(ctx, &cairnpb.CommitObjectRequest{Namespace: "ns", Bucket: "b", Version: &cairnpb.ObjectVersion{
				Key: key, VersionId: "v-" + key, Size: int64(len(key)), InlineData: []byte(key),
			}})
		})
		if err != nil {
			t.Fatalf("commit %s: %v", key, err)
		}
	}
}

// saveSnapshotFile streams a snapshot from addr into path and checks the
// final message's size and SHA-256.
func saveSnapshotFile(t *testing.T, ctx context.Context, addr, path string) *cairnpb.MetaSnapshotChunk {
	t.Helper()
	cc, err := grpc.NewClient(addr, metaclient.WithAdminToken(TestAdminToken)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	stream, err := cairnpb.NewAdminClient(cc).SaveMetaSnapshot(ctx, &cairnpb.SaveMetaSnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var final *cairnpb.MetaSnapshotChunk
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.GetFinal() {
			final = m
		} else {
			buf.Write(m.GetData())
		}
	}
	sum := sha256.Sum256(buf.Bytes())
	if final == nil || final.GetSize() != int64(buf.Len()) || !bytes.Equal(final.GetSha256(), sum[:]) {
		t.Fatalf("snapshot of %d bytes, final message %v", buf.Len(), final)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return final
}

// TestSnapshotSaveRestore: a snapshot streamed from a follower (relayed
// from the leader) restores into a new group, which serves the same
// buckets and objects and its own member records; a damaged file is
// refused before anything is restored.
func TestSnapshotSaveRestore(t *testing.T) {
	c := MakeTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c.WaitAll(ctx)
	cl := c.Client()
	commitN(t, ctx, cl, "obj", 20)
	adminCall(t, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateNamespaceResponse, error) {
		return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: "tenant"})
	})
	lead := c.Leader(ctx)
	file := filepath.Join(t.TempDir(), "meta.snap")
	saveSnapshotFile(t, ctx, c.nodes[(lead+1)%3].cfg.GRPCAddr, file)
	if err := CheckSnapshotFile(file); err != nil {
		t.Fatal(err)
	}

	// A flipped byte fails the check.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), raw...)
	bad[len(bad)/2] ^= 0x40
	badFile := filepath.Join(t.TempDir(), "bad.snap")
	if err := os.WriteFile(badFile, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckSnapshotFile(badFile); err == nil {
		t.Fatal("damaged snapshot passed the check")
	}

	// A new single-voter group restored from the file.
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
	rcl := nc.Client()
	for i := 0; i < 20; i++ {
		key := fmt.Sprintf("obj%03d", i)
		v, err := metaclient.Meta(ctx, rcl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
			return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "b", Key: key})
		})
		if err != nil || string(v.GetVersion().GetInlineData()) != key {
			t.Fatalf("restored %s: %v %v", key, v, err)
		}
	}
	ns := adminCall(t, rcl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListNamespacesResponse, error) {
		return a.ListNamespaces(ctx, &cairnpb.ListNamespacesRequest{})
	})
	if len(ns.GetNamespaces()) == 0 {
		t.Fatal("restored group lists no namespaces")
	}
	members := adminCall(t, rcl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListMetaMembersResponse, error) {
		return a.ListMetaMembers(ctx, &cairnpb.ListMetaMembersRequest{})
	})
	if got := members.GetMembers(); len(got) != 1 || got[0].GetId() != "r0" || got[0].GetGrpcAddr() != lis.Addr().String() {
		t.Fatalf("restored group members: %v", got)
	}
	stats := adminCall(t, rcl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.BucketStatsResponse, error) {
		return a.BucketStats(ctx, &cairnpb.BucketStatsRequest{Namespace: "ns", Name: "b"})
	})
	if stats.GetObjects() != 20 || stats.GetInlineObjects() != 20 || stats.GetShards() != 0 || stats.GetBytes() != 20*6 {
		t.Fatalf("bucket stats after restore: %v", stats)
	}
	// A restart keeps the restored state and does not restore again.
	nc.Stop(0)
	nc.Start(0)
	commitN(t, ctx, rcl, "later", 1)
	stats = adminCall(t, rcl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.BucketStatsResponse, error) {
		return a.BucketStats(ctx, &cairnpb.BucketStatsRequest{Namespace: "ns", Name: "b"})
	})
	if stats.GetObjects() != 21 {
		t.Fatalf("objects after restart: %d, want 21", stats.GetObjects())
	}
}
