package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func openAs(t *testing.T, fs vfs.FS, dir, nodeID string) *Store {
	t.Helper()
	opts := memOptions(t)
	opts.FS = fs
	opts.NodeID = nodeID
	return openStore(t, dir, opts)
}

func closeStore(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// A fresh directory gets an identity with a non-zero incarnation, which
// survives a reopen by the same node; the file is complete (no temporary
// left behind).
func TestIdentityCreatedAndReused(t *testing.T) {
	fs := vfs.NewMem()
	s := openAs(t, fs, "/d", "dn-1")
	id := s.Identity()
	if id.NodeID != "dn-1" || id.Incarnation == 0 || id.ClusterID != "" || !id.Created.Equal(fixedClock()()) {
		t.Fatalf("fresh identity %+v", id)
	}
	closeStore(t, s)
	names, err := fs.List("/d")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasSuffix(n, ".tmp") {
			t.Fatalf("temporary file %s left in the directory %v", n, names)
		}
	}

	s = openAs(t, fs, "/d", "dn-1")
	if got := s.Identity(); got != id {
		t.Fatalf("reopened identity %+v, want %+v", got, id)
	}
	closeStore(t, s)
	// A tool (no node ID) sees the identity and changes nothing.
	s = openAs(t, fs, "/d", "")
	if got := s.Identity(); got != id {
		t.Fatalf("identity seen by a tool %+v, want %+v", got, id)
	}
	closeStore(t, s)
	s = openAs(t, fs, "/d", "dn-1")
	defer closeStore(t, s)
	if got := s.Identity(); got != id {
		t.Fatalf("identity after a tool opened it %+v, want %+v", got, id)
	}
}

// A directory written before disk identities (shards, no identity file)
// gets a fresh incarnation and keeps its shards.
func TestIdentityForPreIdentityDirectory(t *testing.T) {
	fs := vfs.NewMem()
	s := openAs(t, fs, "/d", "dn-1")
	mustPut(t, s, "old", genBlocks(1, 2, 100))
	closeStore(t, s)
	if err := fs.Remove("/d/" + identityFile); err != nil {
		t.Fatal(err)
	}
	s = openAs(t, fs, "/d", "dn-1")
	defer closeStore(t, s)
	if s.Incarnation() == 0 || s.Identity().NodeID != "dn-1" {
		t.Fatalf("identity %+v", s.Identity())
	}
	checkGenerated(t, s, "old", 1, 2, 100)
}

// A directory whose database is gone but whose identity is left gets a
// fresh incarnation: the shards recorded under the old one are not there.
func TestIdentityWithoutDatabase(t *testing.T) {
	fs := vfs.NewMem()
	s := openAs(t, fs, "/d", "dn-1")
	if err := s.SetClusterID("c-1"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "gone", genBlocks(1, 2, 100))
	old := s.Identity()
	closeStore(t, s)
	if err := fs.RemoveAll("/d/pebble"); err != nil {
		t.Fatal(err)
	}
	s = openAs(t, fs, "/d", "dn-1")
	defer closeStore(t, s)
	id := s.Identity()
	if id.Incarnation == old.Incarnation || id.Incarnation == 0 || id.NodeID != "dn-1" || id.ClusterID != "c-1" {
		t.Fatalf("identity after the database was removed: %+v (was %+v)", id, old)
	}
	if _, err := s.StatShard(context.Background(), "gone"); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("stat of a shard of the removed database: %v", err)
	}
}

// A directory of another node ID gets a fresh incarnation stamped with the
// new ID; the cluster it belongs to is kept. A directory no node has
// claimed yet is claimed without a new incarnation.
func TestIdentityOfAnotherNodeID(t *testing.T) {
	fs := vfs.NewMem()
	s := openAs(t, fs, "/d", "dn-1")
	if err := s.SetClusterID("c-1"); err != nil {
		t.Fatal(err)
	}
	old := s.Identity()
	closeStore(t, s)
	s = openAs(t, fs, "/d", "dn-2")
	got := s.Identity()
	closeStore(t, s)
	if got.NodeID != "dn-2" || got.Incarnation == 0 || got.Incarnation == old.Incarnation || got.ClusterID != "c-1" {
		t.Fatalf("identity taken over by dn-2: %+v (was %+v)", got, old)
	}
	s = openAs(t, fs, "/d", "dn-2")
	if s.Identity() != got {
		t.Fatalf("re-stamped identity not persisted: %+v, want %+v", s.Identity(), got)
	}
	closeStore(t, s)

	s = openAs(t, fs, "/tool", "")
	unclaimed := s.Identity()
	closeStore(t, s)
	if unclaimed.NodeID != "" || unclaimed.Incarnation == 0 {
		t.Fatalf("identity made by a tool: %+v", unclaimed)
	}
	s = openAs(t, fs, "/tool", "dn-3")
	defer closeStore(t, s)
	if id := s.Identity(); id.NodeID != "dn-3" || id.Incarnation != unclaimed.Incarnation {
		t.Fatalf("claimed identity %+v, want dn-3 with incarnation %016x", id, unclaimed.Incarnation)
	}
}

// The cluster ID is recorded once; another one is ErrForeignCluster. A
// malformed identity file keeps the store closed rather than guessing.
func TestIdentityClusterIDAndMalformedFile(t *testing.T) {
	fs := vfs.NewMem()
	s := openAs(t, fs, "/d", "dn-1")
	if err := s.SetClusterID("c-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetClusterID("c-1"); err != nil {
		t.Fatalf("same cluster again: %v", err)
	}
	if err := s.SetClusterID("c-2"); !errors.Is(err, ErrForeignCluster) {
		t.Fatalf("another cluster: %v, want ErrForeignCluster", err)
	}
	closeStore(t, s)
	s = openAs(t, fs, "/d", "dn-1")
	if s.Identity().ClusterID != "c-1" {
		t.Fatalf("cluster ID not persisted: %+v", s.Identity())
	}
	closeStore(t, s)

	f, err := fs.Create("/d/"+identityFile, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, `{"format":1,"node_id":"dn-1","incarnation":"0000000000000000"}`); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	opts := memOptions(t)
	opts.FS, opts.NodeID = fs, "dn-1"
	if s, err := OpenStore(context.Background(), "/d", opts); err == nil {
		_ = s.Close()
		t.Fatal("a zero incarnation was accepted")
	}
}

// clusterMeta is a fake meta that answers registrations with a cluster ID,
// or refuses them.
type clusterMeta struct {
	fakeMeta
	clusterID string
	refuse    bool
	got       chan *cairnpb.RegisterNodeRequest
}

func (m *clusterMeta) RegisterNode(_ context.Context, req *cairnpb.RegisterNodeRequest) (*cairnpb.RegisterNodeResponse, error) {
	select {
	case m.got <- req:
	default:
	}
	if m.refuse && req.GetClusterId() != m.clusterID {
		return nil, fmt.Errorf("data directory of cluster %q, this is cluster %q: %w",
			req.GetClusterId(), m.clusterID, rpcerr.ErrPreconditionFailed)
	}
	return &cairnpb.RegisterNodeResponse{ClusterId: m.clusterID}, nil
}

func serveClusterMeta(t *testing.T, m *clusterMeta) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.got = make(chan *cairnpb.RegisterNodeRequest, 100)
	gs := grpc.NewServer(rpcerr.ServerOptions()...)
	cairnpb.RegisterMetaServer(gs, m)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

// serveAsync runs n.Serve and returns its result channel and a cancel.
func serveAsync(t *testing.T, n *Node) (<-chan error, context.CancelFunc) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, lis) }()
	t.Cleanup(func() { cancel(); _ = n.Close() })
	return done, cancel
}

// A node registers with its directory's incarnation and no cluster ID,
// records the cluster ID meta answers, and sends it from then on, also
// after a restart. Health reports the incarnation.
func TestNodeRegistersIdentity(t *testing.T) {
	meta := &clusterMeta{clusterID: "c-1"}
	cfg := nodeConfig(t, serveClusterMeta(t, meta))
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inc := n.Store().Incarnation()
	stop := startNode(t, n)
	req := <-meta.got
	if req.GetNode().GetIncarnation() != inc || req.GetClusterId() != "" {
		t.Fatalf("first registration: incarnation %016x, cluster %q; want %016x, none",
			req.GetNode().GetIncarnation(), req.GetClusterId(), inc)
	}
	waitFor(t, "the cluster ID to be recorded", func() bool { return n.Store().Identity().ClusterID == "c-1" })

	cc, err := grpc.NewClient(n.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	h, err := cairnpb.NewDataClient(cc).Health(context.Background(), &cairnpb.HealthRequest{})
	if err != nil || h.GetIncarnation() != inc {
		t.Fatalf("health %v, %v; want incarnation %016x", h, err, inc)
	}
	stop()

	// The same directory (same FS) after a restart.
	n, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop = startNode(t, n)
	defer stop()
	for req = range meta.got {
		if req.GetClusterId() != "" {
			break
		}
	}
	if req.GetClusterId() != "c-1" || req.GetNode().GetIncarnation() != inc {
		t.Fatalf("registration after restart: cluster %q, incarnation %016x; want c-1, %016x",
			req.GetClusterId(), req.GetNode().GetIncarnation(), inc)
	}
}

// A node on another cluster's directory stops when meta refuses it, with
// an error naming the directory's cluster and telling what to do, instead
// of retrying forever; so it does when meta names another cluster without
// refusing.
func TestNodeStopsOnForeignClusterDirectory(t *testing.T) {
	for _, refuse := range []bool{true, false} {
		meta := &clusterMeta{clusterID: "c-new", refuse: refuse}
		cfg := nodeConfig(t, serveClusterMeta(t, meta))
		fs := cfg.Store.FS
		pre := openAs(t, fs, cfg.Dir, cfg.ID)
		if err := pre.SetClusterID("c-old"); err != nil {
			t.Fatal(err)
		}
		closeStore(t, pre)

		n, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		done, _ := serveAsync(t, n)
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("refuse=%v: the node kept running on another cluster's directory", refuse)
		}
		if !errors.Is(err, ErrForeignCluster) {
			t.Fatalf("refuse=%v: Serve returned %v, want ErrForeignCluster", refuse, err)
		}
		for _, want := range []string{`"c-old"`, "c-new", cfg.Dir, "empty"} {
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("refuse=%v: error %q does not mention %s", refuse, err, want)
			}
		}
		if got := n.Store().Identity().ClusterID; got != "c-old" {
			t.Fatalf("refuse=%v: directory's cluster changed to %q", refuse, got)
		}
	}
}

// On a real filesystem the identity is a readable JSON file, and it is
// what a reopen finds.
func TestIdentityOnDisk(t *testing.T) {
	dir := t.TempDir()
	s := openAs(t, vfs.Default, dir, "dn-1")
	id := s.Identity()
	closeStore(t, s)
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatalf("identity file is not JSON: %v\n%s", err, b)
	}
	if j["node_id"] != "dn-1" || j["incarnation"] != fmt.Sprintf("%016x", id.Incarnation) {
		t.Fatalf("identity file %s, want node dn-1 and incarnation %016x", b, id.Incarnation)
	}
	s = openAs(t, vfs.Default, dir, "dn-1")
	defer closeStore(t, s)
	if s.Incarnation() != id.Incarnation {
		t.Fatalf("reopened incarnation %016x, want %016x", s.Incarnation(), id.Incarnation)
	}
}
