package meta

import (
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmfixture"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func loc(i int32, node string, digest, inc uint64) *cairnpb.ShardLocation {
	return &cairnpb.ShardLocation{Index: i, NodeId: node, Digest: digest, Incarnation: inc}
}

// The cluster ID is set once: the same ID again changes nothing, another
// one is refused, an empty one is invalid.
func TestFSMClusterIDIsSetOnce(t *testing.T) {
	w := fsmfixture.NewWorld(t)
	set := func(id string) error {
		return w.Apply(&cairnpb.Command{Op: &cairnpb.Command_SetClusterId{SetClusterId: &cairnpb.SetClusterIDCmd{ClusterId: id}}})
	}
	fsmtest.WantErr(t, set(""), rpcerr.ErrInvalidArgument)
	if err := set("c-one"); err != nil {
		t.Fatal(err)
	}
	if err := set("c-one"); err != nil {
		t.Fatalf("setting the same ID again: %v", err)
	}
	err := set("c-two")
	fsmtest.WantErr(t, err, rpcerr.ErrPreconditionFailed)
	if !fsm.IsRefusal(err) {
		t.Fatalf("%v is not a refusal", err)
	}
	var got string
	if err := w.F.Store.View(func(r pebble.Reader) error {
		var err error
		got, err = fsm.GetClusterID(r)
		return err
	}); err != nil || got != "c-one" {
		t.Fatalf("cluster id %q (%v), want c-one", got, err)
	}
	if err := checkClusterID("c-one", "c-two", "d1"); !errors.Is(err, rpcerr.ErrPreconditionFailed) {
		t.Fatalf("another cluster's node: %v", err)
	}
	for _, theirs := range []string{"", "c-one"} {
		if err := checkClusterID("c-one", theirs, "d1"); err != nil {
			t.Fatalf("node of cluster %q: %v", theirs, err)
		}
	}
}

// Registering keeps the incarnation when the node does not say, starts a
// new incarnation_since when it changes, and keeps the node's state.
func TestFSMRegisterNodeTracksIncarnation(t *testing.T) {
	w := fsmfixture.NewWorld(t, &cairnpb.DataNode{Id: "d1", Addr: "d1:1", Incarnation: 7})
	first := w.Node("d1")
	if first.GetIncarnation() != 7 || first.GetIncarnationSinceUnixNano() == 0 {
		t.Fatalf("new node: %v", first)
	}
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "d1", State: cairnpb.NodeState_NODE_STATE_DRAINING}}})

	w.Register(&cairnpb.DataNode{Id: "d1", Addr: "d1:1", Incarnation: 7})
	w.Register(&cairnpb.DataNode{Id: "d1", Addr: "d1:1"}) // a node that does not say
	if d := w.Node("d1"); d.GetIncarnation() != 7 || d.GetIncarnationSinceUnixNano() != first.GetIncarnationSinceUnixNano() {
		t.Fatalf("same incarnation again: %v", d)
	}
	w.Register(&cairnpb.DataNode{Id: "d1", Addr: "d1:1", Incarnation: 8})
	d := w.Node("d1")
	if d.GetIncarnation() != 8 || d.GetIncarnationSinceUnixNano() != int64(w.Index())*1_000_000 {
		t.Fatalf("new incarnation: %v (applied at %d)", d, int64(w.Index())*1_000_000)
	}
	if d.GetState() != cairnpb.NodeState_NODE_STATE_DRAINING {
		t.Fatalf("registering with a new incarnation changed the state: %v", d.GetState())
	}
}

// A relocation gives the moved location the move's incarnation and keeps
// its digest; it clears corrupt reports of the old and the new location.
func TestFSMRelocateSetsIncarnationAndKeepsDigest(t *testing.T) {
	w := fsmfixture.NewWorld(t, &cairnpb.DataNode{Id: "a", Addr: "a:1"}, &cairnpb.DataNode{Id: "b", Addr: "b:1"}, &cairnpb.DataNode{Id: "c", Addr: "c:1"})
	w.Put("k", "v1", 2, 1, loc(0, "a", 0xd0, 1), loc(1, "b", 0xd1, 2), loc(2, "c", 0xd2, 3))
	for _, n := range []string{"a", "c"} {
		w.Must(&cairnpb.Command{Op: &cairnpb.Command_ReportCorruptShard{ReportCorruptShard: &cairnpb.ReportCorruptShardCmd{
			Shard: &cairnpb.CorruptShard{NodeId: n, ShardId: "v1.0", Reason: "missing"}}}})
	}
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_RelocateShards{RelocateShards: &cairnpb.RelocateShardsCmd{
		BucketId: fsmtest.BucketID(1), Key: "k", VersionId: "v1",
		Moves: []*cairnpb.ShardMove{{Index: 0, OldNodeId: "a", NewNodeId: "c", ShardId: "v1.0", Incarnation: 33}},
	}}})
	v := fsmfixture.ReadVersion(t, w.F, fsmtest.BucketID(1), "k")
	got := v.GetShards()[0]
	if got.GetNodeId() != "c" || got.GetIncarnation() != 33 || got.GetDigest() != 0xd0 {
		t.Fatalf("moved location %v, want node c, incarnation 33, digest 0xd0", got)
	}
	if other := v.GetShards()[1]; other.GetIncarnation() != 2 || other.GetDigest() != 0xd1 {
		t.Fatalf("unmoved location changed: %v", other)
	}
	// A move's digest never replaces a recorded one, and fills one that
	// is missing (a shard a degraded write never placed).
	w.Put("deg", "v2", 2, 1, loc(0, "a", 0xa0, 1), loc(1, "b", 0xa1, 2), loc(2, "", 0, 0))
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_RelocateShards{RelocateShards: &cairnpb.RelocateShardsCmd{
		BucketId: fsmtest.BucketID(1), Key: "deg", VersionId: "v2",
		Moves: []*cairnpb.ShardMove{
			{Index: 1, OldNodeId: "b", NewNodeId: "b", ShardId: "v2.1", Incarnation: 5, Digest: 0xbad},
			{Index: 2, OldNodeId: "", NewNodeId: "c", ShardId: "v2.2", Incarnation: 3, Digest: 0xa2},
		},
	}}})
	dv := fsmfixture.ReadVersion(t, w.F, fsmtest.BucketID(1), "deg")
	if got := dv.GetShards()[1]; got.GetDigest() != 0xa1 || got.GetIncarnation() != 5 {
		t.Fatalf("rewritten in place: %v, want the recorded digest 0xa1 and incarnation 5", got)
	}
	if got := dv.GetShards()[2]; got.GetNodeId() != "c" || got.GetDigest() != 0xa2 || dv.GetDegraded() {
		t.Fatalf("never-written shard after its rebuild: %v (degraded %v), want node c and digest 0xa2", got, dv.GetDegraded())
	}
	if err := w.F.Store.View(func(r pebble.Reader) error {
		return fsm.Scan(r, []byte(fsm.TagCorrupt), func(k, _ []byte) (bool, error) {
			t.Errorf("corrupt report %q left", k)
			return true, nil
		})
	}); err != nil {
		t.Fatal(err)
	}
}

// Progress of the inventory reconciliation is checked before it is
// replicated.
func TestFSMInventoryProgressIsValidated(t *testing.T) {
	w := fsmfixture.NewWorld(t)
	set := func(p *cairnpb.InventoryProgress) error {
		return w.Apply(&cairnpb.Command{Op: &cairnpb.Command_SetInventoryProgress{SetInventoryProgress: &cairnpb.SetInventoryProgressCmd{Progress: p}}})
	}
	fsmtest.WantErr(t, set(nil), rpcerr.ErrInvalidArgument)
	fsmtest.WantErr(t, set(&cairnpb.InventoryProgress{Cursor: []byte("o/x")}), rpcerr.ErrInvalidArgument)
	fsmtest.WantErr(t, set(&cairnpb.InventoryProgress{PassStartedUnixNano: 1, FoundMissing: -1}), rpcerr.ErrInvalidArgument)
	want := &cairnpb.InventoryProgress{Cursor: []byte("o/x"), PassStartedUnixNano: 5, UnitsDone: 3, FoundMissing: 1}
	if err := set(want); err != nil {
		t.Fatal(err)
	}
	var got *cairnpb.InventoryProgress
	if err := w.F.Store.View(func(r pebble.Reader) error {
		var err error
		got, err = fsm.GetInventory(r)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if string(got.GetCursor()) != "o/x" || got.GetUnitsDone() != 3 || got.GetFoundMissing() != 1 {
		t.Fatalf("stored progress %v", got)
	}
}

// A relocation applies only while the record still names the old
// location; it queues the old shard for GC (not on a removed node), clears
// its corrupt report and recomputes the degraded flag.
func TestFSMRelocateShardsIsConditional(t *testing.T) {
	f := fsmfixture.New(t)
	var idx uint64
	must := func(cmd *cairnpb.Command) {
		t.Helper()
		if err := fsmfixture.Apply(t, f, &idx, cmd); err != nil {
			t.Fatal(err)
		}
	}
	must(&cairnpb.Command{Op: &cairnpb.Command_CreateBucket{CreateBucket: fsmtest.CreateBucketOp("ns", "b", 1)}})
	for _, id := range []string{"n1", "n2", "n3", "n9"} {
		must(&cairnpb.Command{Op: &cairnpb.Command_RegisterNode{RegisterNode: &cairnpb.RegisterNodeCmd{Node: &cairnpb.DataNode{Id: id, Addr: id + ":1"}}}})
	}
	put := fsmtest.PutOp("ns", "b", "k", "v1", "n1", "n2", "")
	put.Version.Scheme = &cairnpb.ErasureScheme{Data: 2, Parity: 1, BlockSize: 1024}
	put.Version.Degraded = true
	must(&cairnpb.Command{Op: &cairnpb.Command_PutObject{PutObject: put}})
	must(&cairnpb.Command{Op: &cairnpb.Command_ReportCorruptShard{ReportCorruptShard: &cairnpb.ReportCorruptShardCmd{
		Shard: &cairnpb.CorruptShard{NodeId: "n1", ShardId: "v1.0"}}}})
	must(&cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "n2", State: cairnpb.NodeState_NODE_STATE_REMOVED}}})
	// Registering again keeps the state.
	must(&cairnpb.Command{Op: &cairnpb.Command_RegisterNode{RegisterNode: &cairnpb.RegisterNodeCmd{Node: &cairnpb.DataNode{Id: "n2", Addr: "n2:2"}}}})

	relocate := func(version string, moves ...*cairnpb.ShardMove) error {
		return fsmfixture.Apply(t, f, &idx, &cairnpb.Command{Op: &cairnpb.Command_RelocateShards{RelocateShards: &cairnpb.RelocateShardsCmd{
			BucketId: fsmtest.BucketID(1), Key: "k", VersionId: version, Moves: moves,
		}}})
	}
	// Wrong old location, wrong version: nothing changes.
	fsmtest.WantErr(t, relocate("v1", &cairnpb.ShardMove{Index: 0, OldNodeId: "n2", NewNodeId: "n3", ShardId: "v1.0"}), rpcerr.ErrPreconditionFailed)
	fsmtest.WantErr(t, relocate("v0", &cairnpb.ShardMove{Index: 0, OldNodeId: "n1", NewNodeId: "n3", ShardId: "v1.0"}), rpcerr.ErrObjectNotFound)
	if v := fsmfixture.ReadVersion(t, f, fsmtest.BucketID(1), "k"); v.GetShards()[0].GetNodeId() != "n1" || !v.GetDegraded() {
		t.Fatalf("failed relocation changed the record: %v", v)
	}

	// The corrupt shard 0 moves n1 -> n3, the removed n2's shard 1 to n9,
	// the never-written shard 2 to n1.
	if err := relocate("v1",
		&cairnpb.ShardMove{Index: 0, OldNodeId: "n1", NewNodeId: "n3", ShardId: "v1.0"},
		&cairnpb.ShardMove{Index: 1, OldNodeId: "n2", NewNodeId: "n9", ShardId: "v1.1"},
		&cairnpb.ShardMove{Index: 2, OldNodeId: "", NewNodeId: "n1", ShardId: "v1.2"},
	); err != nil {
		t.Fatal(err)
	}
	v := fsmfixture.ReadVersion(t, f, fsmtest.BucketID(1), "k")
	var got []string
	for _, s := range v.GetShards() {
		got = append(got, s.GetNodeId())
	}
	if len(got) != 3 || got[0] != "n3" || got[1] != "n9" || got[2] != "n1" || v.GetDegraded() {
		t.Fatalf("after relocation: shards %v degraded %v", got, v.GetDegraded())
	}
	if q := fsmfixture.GCQueue(t, f.Store); len(q) != 1 || q[0] != "n1/v1.0" {
		t.Fatalf("GC queue %v, want only n1/v1.0 (n2 is removed)", q)
	}
	err := f.Store.View(func(r pebble.Reader) error {
		return fsm.Scan(r, []byte(fsm.TagCorrupt), func(k, _ []byte) (bool, error) {
			t.Errorf("corrupt report %q left", k)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = f.Store.View(func(r pebble.Reader) error {
		n, err := fsm.GetNode(r, "n2")
		if err == nil && (n.GetState() != cairnpb.NodeState_NODE_STATE_REMOVED || n.GetAddr() != "n2:2") {
			t.Errorf("n2 after registering again: %v", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
