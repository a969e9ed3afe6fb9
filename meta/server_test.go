package meta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmfixture"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// call runs one Meta call through the failover client.
func call[T any](ctx context.Context, cl *metaclient.Client, f func(context.Context, cairnpb.MetaClient) (T, error)) (T, error) {
	return metaclient.Meta(ctx, cl, f)
}

func mustCall[T any](t *testing.T, ctx context.Context, cl *metaclient.Client, f func(context.Context, cairnpb.MetaClient) (T, error)) T {
	t.Helper()
	r, err := call(ctx, cl, f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func commitReq(bucket, key, version string, inline []byte, nodes ...string) *cairnpb.CommitObjectRequest {
	v := &cairnpb.ObjectVersion{Key: key, VersionId: version, Size: int64(len(inline)), Etag: "etag-" + version, InlineData: inline}
	for i, n := range nodes {
		v.Shards = append(v.Shards, &cairnpb.ShardLocation{Index: int32(i), NodeId: n})
	}
	return &cairnpb.CommitObjectRequest{Namespace: "ns", Bucket: bucket, Version: v}
}

func TestSingleNodeCRUD(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := MakeTestCluster(t, 1, clock.Now)
	ctx := testCtx(t, 30*time.Second)
	c.WaitAll(ctx)
	cl := c.Client()

	// Buckets, in a compartment that exists (meta refuses others).
	for _, admin := range []func(ctx context.Context, a cairnpb.AdminClient) (any, error){
		func(ctx context.Context, a cairnpb.AdminClient) (any, error) {
			return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: "ns"})
		},
		func(ctx context.Context, a cairnpb.AdminClient) (any, error) {
			return a.CreateCompartment(ctx, &cairnpb.CreateCompartmentRequest{Namespace: "ns", Name: "comp"})
		},
	} {
		if _, err := metaclient.Admin(ctx, cl, admin); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"charlie", "alpha", "bravo"} {
		r := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
			return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: name, Compartment: "comp"})
		})
		if len(r.GetBucket().GetId()) != fsm.BucketIDLen || r.GetBucket().GetCreatedUnixNano() != clock.Now().UnixNano() {
			t.Fatalf("created %v", r.GetBucket())
		}
	}
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
		return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "other", Name: "zulu"})
	})
	_, err := call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
		return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "alpha"})
	})
	fsmtest.WantErr(t, err, rpcerr.ErrBucketExists)
	lb := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.ListBucketsResponse, error) {
		return m.ListBuckets(ctx, &cairnpb.ListBucketsRequest{Namespace: "ns"})
	})
	var names []string
	for _, b := range lb.GetBuckets() {
		names = append(names, b.GetName())
	}
	if got := strings.Join(names, ","); got != "alpha,bravo,charlie" {
		t.Fatalf("ListBuckets %q", got)
	}
	gb := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetBucketResponse, error) {
		return m.GetBucket(ctx, &cairnpb.GetBucketRequest{Namespace: "ns", Name: "alpha"})
	})
	if gb.GetBucket().GetCompartment() != "comp" {
		t.Fatalf("GetBucket %v", gb.GetBucket())
	}

	// Objects: inline and sharded, overwrite, listing, delete.
	big := bytes.Repeat([]byte("x"), 5<<20) // beyond gRPC's 4 MiB default
	for _, r := range []*cairnpb.CommitObjectRequest{
		commitReq("alpha", "dir/a.txt", "v1", []byte("hello")),
		commitReq("alpha", "dir/b.txt", "v2", nil, "d1", "d2", "d3"),
		commitReq("alpha", "top.txt", "v3", big),
		commitReq("alpha", "dir/b.txt", "v4", nil, "d4", "d5", "d6"),
	} {
		mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
			return m.CommitObject(ctx, r)
		})
	}
	get := func(key string) (*cairnpb.GetObjectResponse, error) {
		return call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
			return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "alpha", Key: key},
				grpc.MaxCallRecvMsgSize(maxMsgSize))
		})
	}
	g, err := get("dir/a.txt")
	if err != nil || string(g.GetVersion().GetInlineData()) != "hello" || len(g.GetVersion().GetBucketId()) != fsm.BucketIDLen ||
		g.GetVersion().GetModifiedUnixNano() != clock.Now().UnixNano() {
		t.Fatalf("GetObject: %v, %v", g, err)
	}
	if g, err := get("top.txt"); err != nil || !bytes.Equal(g.GetVersion().GetInlineData(), big) {
		t.Fatalf("GetObject of 5 MiB inline: %v", err)
	}
	if g, err := get("dir/b.txt"); err != nil || g.GetVersion().GetVersionId() != "v4" {
		t.Fatalf("GetObject after overwrite: %v, %v", g, err)
	}
	_, err = get("missing")
	fsmtest.WantErr(t, err, rpcerr.ErrObjectNotFound)
	lo := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.ListObjectsResponse, error) {
		return m.ListObjects(ctx, &cairnpb.ListObjectsRequest{Namespace: "ns", Bucket: "alpha", Delimiter: "/"})
	})
	if fmt.Sprint(lo.GetCommonPrefixes()) != "[dir/]" || len(lo.GetObjects()) != 1 || lo.GetObjects()[0].GetSize() != int64(len(big)) {
		t.Fatalf("ListObjects %v", lo)
	}
	if got := strings.Join(fsmfixture.GCQueue(t, c.nodes[0].srv.node.store), " "); got != "d1/v2.0 d2/v2.1 d3/v2.2" {
		t.Fatalf("GC queue after overwrite %q", got)
	}
	_, err = call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.DeleteBucketResponse, error) {
		return m.DeleteBucket(ctx, &cairnpb.DeleteBucketRequest{Namespace: "ns", Name: "alpha"})
	})
	fsmtest.WantErr(t, err, rpcerr.ErrBucketNotEmpty)
	for _, key := range []string{"dir/a.txt", "dir/b.txt", "top.txt", "never-existed"} {
		mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.DeleteObjectResponse, error) {
			return m.DeleteObject(ctx, &cairnpb.DeleteObjectRequest{Namespace: "ns", Bucket: "alpha", Key: key})
		})
	}
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.DeleteBucketResponse, error) {
		return m.DeleteBucket(ctx, &cairnpb.DeleteBucketRequest{Namespace: "ns", Name: "alpha"})
	})
	_, err = call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetBucketResponse, error) {
		return m.GetBucket(ctx, &cairnpb.GetBucketRequest{Namespace: "ns", Name: "alpha"})
	})
	fsmtest.WantErr(t, err, rpcerr.ErrBucketNotFound)

	// Validation happens before anything is proposed.
	for name, f := range map[string]func(context.Context, cairnpb.MetaClient) (any, error){
		"empty bucket name": func(ctx context.Context, m cairnpb.MetaClient) (any, error) {
			return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns"})
		},
		"NUL in namespace": func(ctx context.Context, m cairnpb.MetaClient) (any, error) {
			return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "n\x00s", Name: "b"})
		},
		"negative max_keys": func(ctx context.Context, m cairnpb.MetaClient) (any, error) {
			return m.ListObjects(ctx, &cairnpb.ListObjectsRequest{Namespace: "ns", Bucket: "bravo", MaxKeys: -1})
		},
		"key too long": func(ctx context.Context, m cairnpb.MetaClient) (any, error) {
			return m.CommitObject(ctx, commitReq("bravo", strings.Repeat("k", 1025), "v", nil))
		},
		"no version": func(ctx context.Context, m cairnpb.MetaClient) (any, error) {
			return m.CommitObject(ctx, &cairnpb.CommitObjectRequest{Namespace: "ns", Bucket: "bravo"})
		},
	} {
		if _, err := call(ctx, cl, f); !errors.Is(err, rpcerr.ErrInvalidArgument) {
			t.Fatalf("%s: %v", name, err)
		}
	}

	// Data nodes and health by the leader's clock.
	_, err = call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.HeartbeatResponse, error) {
		return m.Heartbeat(ctx, &cairnpb.HeartbeatRequest{NodeId: "d1"})
	})
	fsmtest.WantErr(t, err, rpcerr.ErrNodeNotFound)
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.RegisterNodeResponse, error) {
		return m.RegisterNode(ctx, &cairnpb.RegisterNodeRequest{Node: &cairnpb.DataNode{Id: "d1", Addr: "127.0.0.1:1", Zone: "z1"}})
	})
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.HeartbeatResponse, error) {
		return m.Heartbeat(ctx, &cairnpb.HeartbeatRequest{NodeId: "d1", CapacityBytes: 1000, UsedBytes: 10})
	})
	healthy := func() bool {
		cm := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetClusterMapResponse, error) {
			return m.GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{})
		})
		if len(cm.GetNodes()) != 1 || cm.GetNodes()[0].GetNode().GetCapacityBytes() != 1000 ||
			len(cm.GetMembers()) != 1 || cm.GetMembers()[0].GetGrpcAddr() != c.nodes[0].cfg.GRPCAddr || cm.GetLeaderId() != "m0" {
			t.Fatalf("cluster map %v", cm)
		}
		return cm.GetNodes()[0].GetHealthy()
	}
	if !healthy() {
		t.Fatal("fresh node unhealthy")
	}
	clock.Advance(DefaultHealthWindow + time.Second)
	if healthy() {
		t.Fatal("silent node still healthy")
	}

	st, err := metaclient.Admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.StatusResponse, error) {
		return a.Status(ctx, &cairnpb.StatusRequest{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.GetAnsweredBy() != "m0" || st.GetLeaderId() != "m0" || len(st.GetMembers()) != 1 ||
		!st.GetMembers()[0].GetLeader() || st.GetMembers()[0].GetSuffrage() != "Voter" ||
		st.GetAppliedIndex() == 0 || st.GetCommitIndex() < st.GetAppliedIndex() || len(st.GetNodes()) != 1 {
		t.Fatalf("status %v", st)
	}
}

// A node that accepts connections but never answers must not stop the
// failover client from reaching a healthy one.
func TestClientFailsOverPastHungNode(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out one client attempt timeout")
	}
	c := MakeTestCluster(t, 1, nil)
	ctx := testCtx(t, 30*time.Second)
	c.WaitAll(ctx)
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() {
		for {
			conn, err := hung.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, never answered
		}
	}()
	cl, err := metaclient.New([]string{hung.Addr().String(), c.nodes[0].cfg.GRPCAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetClusterMapResponse, error) {
		return m.GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{})
	})
}

// dialMeta opens a plain client to one node, without failover.
func dialMeta(t *testing.T, addr string) cairnpb.MetaClient {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cairnpb.NewMetaClient(cc)
}

// threeNodes starts a 3-node cluster and waits for its leader: it returns
// the cluster, a context ending after d, and the leader's and the two
// followers' indexes.
func threeNodes(t *testing.T, d time.Duration) (c *TestCluster, ctx context.Context, lead, f1, f2 int) {
	t.Helper()
	c = MakeTestCluster(t, 3, nil)
	ctx = testCtx(t, d)
	c.WaitAll(ctx)
	lead = c.Leader(ctx)
	return c, ctx, lead, (lead + 1) % 3, (lead + 2) % 3
}

func TestClusterForwardingFailoverAndRestart(t *testing.T) {
	c, ctx, lead, f1, f2 := threeNodes(t, 45*time.Second)

	// Writes and reads sent to followers are forwarded to the leader.
	viaF1 := dialMeta(t, c.nodes[f1].cfg.GRPCAddr)
	if _, err := viaF1.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "b"}); err != nil {
		t.Fatalf("create via follower: %v", err)
	}
	for i := 0; i < 20; i++ {
		if _, err := viaF1.CommitObject(ctx, commitReq("b", fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i), []byte("x"))); err != nil {
			t.Fatalf("commit via follower: %v", err)
		}
	}
	viaF2 := dialMeta(t, c.nodes[f2].cfg.GRPCAddr)
	if g, err := viaF2.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "b", Key: "k019"}); err != nil ||
		g.GetVersion().GetVersionId() != "v19" {
		t.Fatalf("read via the other follower right after the write: %v, %v", g, err)
	}
	cm, err := viaF2.GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.GetLeaderId() != c.nodes[lead].cfg.ID || len(cm.GetMembers()) != 3 {
		t.Fatalf("cluster map %v", cm)
	}
	// A request forwarded once is not forwarded again.
	fwdCtx := metadata.AppendToOutgoingContext(ctx, forwardedKey, "someone")
	_, err = viaF2.GetBucket(fwdCtx, &cairnpb.GetBucketRequest{Namespace: "ns", Name: "b"})
	fsmtest.WantErr(t, rpcerr.FromStatus(err), rpcerr.ErrNotLeader)

	// Kill the leader while a client keeps writing; a new one takes over and
	// every acknowledged write survives.
	cl := c.Client()
	stopWriter := make(chan struct{})
	ackedCh := make(chan []string)
	go func() {
		var acked []string
		defer func() { ackedCh <- acked }()
		for i := 0; ; i++ {
			select {
			case <-stopWriter:
				return
			default:
			}
			key := fmt.Sprintf("live%05d", i)
			_, err := call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
				return m.CommitObject(ctx, commitReq("b", key, "l"+key, []byte("l")))
			})
			if err == nil {
				acked = append(acked, key)
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	killed := lead
	start := time.Now()
	c.Stop(killed)
	lead = c.Leader(ctx)
	elected := time.Since(start)
	t.Logf("new leader %s ready %v after the old one was closed", c.nodes[lead].cfg.ID, elected)
	if elected > 10*time.Second {
		t.Fatalf("failover took %v", elected)
	}
	firstOK := time.Now()
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
		return m.CommitObject(ctx, commitReq("b", "after-failover", "va", []byte("y")))
	})
	t.Logf("first write through the failover client took %v", time.Since(firstOK))
	time.Sleep(100 * time.Millisecond)
	close(stopWriter)
	acked := <-ackedCh
	lo := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.ListObjectsResponse, error) {
		return m.ListObjects(ctx, &cairnpb.ListObjectsRequest{Namespace: "ns", Bucket: "b", Prefix: "live"})
	})
	present := map[string]bool{}
	for _, o := range lo.GetObjects() {
		present[o.GetKey()] = true
	}
	for _, k := range acked {
		if !present[k] {
			t.Fatalf("acknowledged write %s lost in the failover", k)
		}
	}
	t.Logf("%d writes acknowledged around the failover, all present (%d committed)", len(acked), len(present))
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged around the failover")
	}
	lo = mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.ListObjectsResponse, error) {
		return m.ListObjects(ctx, &cairnpb.ListObjectsRequest{Namespace: "ns", Bucket: "b", Prefix: "k"})
	})
	if len(lo.GetObjects()) != 20 {
		t.Fatalf("%d objects after failover, want 20", len(lo.GetObjects()))
	}
	for i := 0; i < 20; i++ {
		mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
			return m.CommitObject(ctx, commitReq("b", fmt.Sprintf("late%03d", i), "w"+fmt.Sprint(i), []byte("z")))
		})
	}

	// The closed node restarts from its directory: its FSM is wiped, rebuilt
	// from its log, and it catches up on what it missed.
	c.Start(killed)
	if err := c.nodes[killed].srv.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	state := c.waitConverged(ctx)
	objects := 0
	for _, e := range state {
		if strings.HasPrefix(e.K, fsm.TagObject) {
			objects++
		}
	}
	if want := 41 + len(present); objects != want {
		t.Fatalf("%d objects after the restart, want %d", objects, want)
	}
	viaRestarted := dialMeta(t, c.nodes[killed].cfg.GRPCAddr)
	if _, err := viaRestarted.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "b", Key: "late019"}); err != nil {
		t.Fatalf("read via the restarted node: %v", err)
	}
	st, err := metaclient.Admin(ctx, c.Client(killed), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.StatusResponse, error) {
		return a.Status(ctx, &cairnpb.StatusRequest{})
	})
	if err != nil {
		t.Fatal(err)
	}
	grpcAddrs := 0
	for _, m := range st.GetMembers() {
		if m.GetGrpcAddr() != "" {
			grpcAddrs++
		}
	}
	if st.GetAnsweredBy() != c.nodes[killed].cfg.ID || st.GetLeaderId() != c.nodes[lead].cfg.ID || len(st.GetMembers()) != 3 || grpcAddrs < 2 {
		t.Fatalf("status from the restarted node %v", st)
	}
}

func TestSnapshotThenRestart(t *testing.T) {
	c := MakeTestCluster(t, 1, nil)
	ctx := testCtx(t, 30*time.Second)
	c.WaitAll(ctx)
	cl := c.Client()
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
		return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "b"})
	})
	commit := func(key, version string, nodes ...string) {
		mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
			return m.CommitObject(ctx, commitReq("b", key, version, nil, nodes...))
		})
	}
	for i := 0; i < 100; i++ {
		commit(fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i), "d1", "d2")
	}
	if err := c.nodes[0].srv.node.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	// Entries after the snapshot are replayed from the log on restart.
	for i := 0; i < 30; i++ {
		commit(fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d-b", i), "d3")
	}
	before := fsmfixture.Dump(t, c.nodes[0].srv.node.store)

	c.Stop(0)
	c.Start(0)
	if err := c.nodes[0].srv.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	srv := c.nodes[0].srv
	if got := srv.node.raft.Stats()["last_snapshot_index"]; got == "0" || got == "" {
		t.Fatalf("last_snapshot_index %q after restart", got)
	}
	if gen := srv.node.store.Generation(); gen != 2 {
		t.Fatalf("FSM database generation %d after restart, want 2 (empty, then the restored snapshot)", gen)
	}
	after := c.waitConverged(ctx)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("state after restart differs: %d keys, want %d", len(after), len(before))
	}
	g := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
		return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "b", Key: "k029"})
	})
	if g.GetVersion().GetVersionId() != "v29-b" {
		t.Fatalf("version %v", g.GetVersion())
	}
	if n := len(fsmfixture.GCQueue(t, srv.node.store)); n != 60 {
		t.Fatalf("GC queue holds %d entries, want 60", n)
	}
}

// A follower that forwards a call names the leader in a response header,
// and a metaclient that was given the leader's address goes to it
// directly from then on instead of being forwarded on every call.
func TestClientFollowsTheLeaderHint(t *testing.T) {
	c, ctx, lead, f1, f2 := threeNodes(t, 30*time.Second)
	leadAddr := c.nodes[lead].cfg.GRPCAddr

	var md metadata.MD
	if _, err := dialMeta(t, c.nodes[f1].cfg.GRPCAddr).GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{}, grpc.Header(&md)); err != nil {
		t.Fatal(err)
	}
	if got := md.Get(metaclient.LeaderHeader); len(got) != 1 || got[0] != leadAddr {
		t.Fatalf("a follower's forwarded answer names leader %q, want %q", got, leadAddr)
	}
	md = nil
	if _, err := dialMeta(t, leadAddr).GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{}, grpc.Header(&md)); err != nil {
		t.Fatal(err)
	}
	if got := md.Get(metaclient.LeaderHeader); len(got) != 0 {
		t.Fatalf("the leader's own answer names a leader: %q", got)
	}

	cl := c.Client(f1, lead, f2)
	if cl.Current() != c.nodes[f1].cfg.GRPCAddr {
		t.Fatalf("a new client starts at %s, want the first address", cl.Current())
	}
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetClusterMapResponse, error) {
		return m.GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{})
	})
	if cl.Current() != leadAddr {
		t.Fatalf("after a forwarded call the client starts at %s, want the leader %s", cl.Current(), leadAddr)
	}

	// A client that does not know the leader's address stays where it is.
	other := c.Client(f1, f2)
	mustCall(t, ctx, other, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetClusterMapResponse, error) {
		return m.GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{})
	})
	if other.Current() != c.nodes[f1].cfg.GRPCAddr {
		t.Fatalf("a client without the leader's address moved to %s", other.Current())
	}
}
