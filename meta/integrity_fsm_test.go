package meta

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/grpc/metadata"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// fsmWorld is an FSM with a bucket ("ns"/"b", ID 1) and data nodes, for
// tests that apply commands directly.
type fsmWorld struct {
	t   *testing.T
	f   *fsm.FSM
	idx uint64
}

func newFSMWorld(t *testing.T, nodes ...*cairnpb.DataNode) *fsmWorld {
	t.Helper()
	w := &fsmWorld{t: t, f: newTestFSM(t)}
	w.must(&cairnpb.Command{Op: &cairnpb.Command_CreateBucket{CreateBucket: fsmtest.CreateBucketOp("ns", "b", 1)}})
	for _, d := range nodes {
		w.register(d)
	}
	return w
}

func (w *fsmWorld) apply(cmd *cairnpb.Command) error {
	w.t.Helper()
	return applyCmd(w.t, w.f, &w.idx, cmd)
}

func (w *fsmWorld) must(cmd *cairnpb.Command) {
	w.t.Helper()
	if err := w.apply(cmd); err != nil {
		w.t.Fatal(err)
	}
}

func (w *fsmWorld) register(d *cairnpb.DataNode) {
	w.t.Helper()
	w.must(&cairnpb.Command{Op: &cairnpb.Command_RegisterNode{RegisterNode: &cairnpb.RegisterNodeCmd{Node: d}}})
}

func (w *fsmWorld) node(id string) *cairnpb.DataNode {
	w.t.Helper()
	var d *cairnpb.DataNode
	if err := w.f.Store.View(func(r pebble.Reader) error {
		var err error
		d, err = fsm.GetNode(r, id)
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	return d
}

// put commits key as version with one shard per location.
func (w *fsmWorld) put(key, version string, data, parity int32, locs ...*cairnpb.ShardLocation) {
	w.t.Helper()
	p := fsmtest.PutOp("ns", "b", key, version)
	p.Version.InlineData = nil
	p.Version.Size = 4096
	p.Version.Scheme = &cairnpb.ErasureScheme{Data: data, Parity: parity, BlockSize: 1024}
	p.Version.Shards = locs
	w.must(&cairnpb.Command{Op: &cairnpb.Command_PutObject{PutObject: p}})
}

// scanner returns a repair engine over the world's state at its clock.
func (w *fsmWorld) scanner() (*node, time.Time) {
	n := &node{cfg: Config{ID: "m1", RepairGrace: time.Hour, HealthWindow: time.Hour}, store: w.f.Store}
	now := time.Unix(0, int64(w.idx)*1_000_000+1)
	n.cfg.Now = func() time.Time { return now }
	return n, now
}

func loc(i int32, node string, digest, inc uint64) *cairnpb.ShardLocation {
	return &cairnpb.ShardLocation{Index: i, NodeId: node, Digest: digest, Incarnation: inc}
}

// The cluster ID is set once: the same ID again changes nothing, another
// one is refused, an empty one is invalid.
func TestFSMClusterIDIsSetOnce(t *testing.T) {
	w := newFSMWorld(t)
	set := func(id string) error {
		return w.apply(&cairnpb.Command{Op: &cairnpb.Command_SetClusterId{SetClusterId: &cairnpb.SetClusterIDCmd{ClusterId: id}}})
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
	if err := w.f.Store.View(func(r pebble.Reader) error {
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
	w := newFSMWorld(t, &cairnpb.DataNode{Id: "d1", Addr: "d1:1", Incarnation: 7})
	first := w.node("d1")
	if first.GetIncarnation() != 7 || first.GetIncarnationSinceUnixNano() == 0 {
		t.Fatalf("new node: %v", first)
	}
	w.must(&cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "d1", State: cairnpb.NodeState_NODE_STATE_DRAINING}}})

	w.register(&cairnpb.DataNode{Id: "d1", Addr: "d1:1", Incarnation: 7})
	w.register(&cairnpb.DataNode{Id: "d1", Addr: "d1:1"}) // a node that does not say
	if d := w.node("d1"); d.GetIncarnation() != 7 || d.GetIncarnationSinceUnixNano() != first.GetIncarnationSinceUnixNano() {
		t.Fatalf("same incarnation again: %v", d)
	}
	w.register(&cairnpb.DataNode{Id: "d1", Addr: "d1:1", Incarnation: 8})
	d := w.node("d1")
	if d.GetIncarnation() != 8 || d.GetIncarnationSinceUnixNano() != int64(w.idx)*1_000_000 {
		t.Fatalf("new incarnation: %v (applied at %d)", d, int64(w.idx)*1_000_000)
	}
	if d.GetState() != cairnpb.NodeState_NODE_STATE_DRAINING {
		t.Fatalf("registering with a new incarnation changed the state: %v", d.GetState())
	}
}

// A relocation gives the moved location the move's incarnation and keeps
// its digest; it clears corrupt reports of the old and the new location.
func TestFSMRelocateSetsIncarnationAndKeepsDigest(t *testing.T) {
	w := newFSMWorld(t, &cairnpb.DataNode{Id: "a", Addr: "a:1"}, &cairnpb.DataNode{Id: "b", Addr: "b:1"}, &cairnpb.DataNode{Id: "c", Addr: "c:1"})
	w.put("k", "v1", 2, 1, loc(0, "a", 0xd0, 1), loc(1, "b", 0xd1, 2), loc(2, "c", 0xd2, 3))
	for _, n := range []string{"a", "c"} {
		w.must(&cairnpb.Command{Op: &cairnpb.Command_ReportCorruptShard{ReportCorruptShard: &cairnpb.ReportCorruptShardCmd{
			Shard: &cairnpb.CorruptShard{NodeId: n, ShardId: "v1.0", Reason: reasonMissing}}}})
	}
	w.must(&cairnpb.Command{Op: &cairnpb.Command_RelocateShards{RelocateShards: &cairnpb.RelocateShardsCmd{
		BucketId: fsmtest.BucketID(1), Key: "k", VersionId: "v1",
		Moves: []*cairnpb.ShardMove{{Index: 0, OldNodeId: "a", NewNodeId: "c", ShardId: "v1.0", Incarnation: 33}},
	}}})
	v := readVersion(t, w.f, fsmtest.BucketID(1), "k")
	got := v.GetShards()[0]
	if got.GetNodeId() != "c" || got.GetIncarnation() != 33 || got.GetDigest() != 0xd0 {
		t.Fatalf("moved location %v, want node c, incarnation 33, digest 0xd0", got)
	}
	if other := v.GetShards()[1]; other.GetIncarnation() != 2 || other.GetDigest() != 0xd1 {
		t.Fatalf("unmoved location changed: %v", other)
	}
	// A move's digest never replaces a recorded one, and fills one that
	// is missing (a shard a degraded write never placed).
	w.put("deg", "v2", 2, 1, loc(0, "a", 0xa0, 1), loc(1, "b", 0xa1, 2), loc(2, "", 0, 0))
	w.must(&cairnpb.Command{Op: &cairnpb.Command_RelocateShards{RelocateShards: &cairnpb.RelocateShardsCmd{
		BucketId: fsmtest.BucketID(1), Key: "deg", VersionId: "v2",
		Moves: []*cairnpb.ShardMove{
			{Index: 1, OldNodeId: "b", NewNodeId: "b", ShardId: "v2.1", Incarnation: 5, Digest: 0xbad},
			{Index: 2, OldNodeId: "", NewNodeId: "c", ShardId: "v2.2", Incarnation: 3, Digest: 0xa2},
		},
	}}})
	dv := readVersion(t, w.f, fsmtest.BucketID(1), "deg")
	if got := dv.GetShards()[1]; got.GetDigest() != 0xa1 || got.GetIncarnation() != 5 {
		t.Fatalf("rewritten in place: %v, want the recorded digest 0xa1 and incarnation 5", got)
	}
	if got := dv.GetShards()[2]; got.GetNodeId() != "c" || got.GetDigest() != 0xa2 || dv.GetDegraded() {
		t.Fatalf("never-written shard after its rebuild: %v (degraded %v), want node c and digest 0xa2", got, dv.GetDegraded())
	}
	if err := w.f.Store.View(func(r pebble.Reader) error {
		return fsm.Scan(r, []byte(fsm.TagCorrupt), func(k, _ []byte) (bool, error) {
			t.Errorf("corrupt report %q left", k)
			return true, nil
		})
	}); err != nil {
		t.Fatal(err)
	}
}

// A shard recorded with another incarnation than its node's is missing;
// with no other host free it is rebuilt in place, and the rebuild asks for
// the recorded digest and names each source's.
func TestRepairStaleIncarnationIsMissingAndRebuiltInPlace(t *testing.T) {
	w := newFSMWorld(t)
	for i, id := range []string{"a", "b", "c"} {
		w.register(&cairnpb.DataNode{Id: id, Addr: id + ":1", Host: id, Incarnation: uint64(10 + i)})
	}
	w.put("k", "v1", 2, 1, loc(0, "a", 0xd0, 10), loc(1, "b", 0xd1, 11), loc(2, "c", 0xd2, 12))
	w.put("old", "v0", 2, 1, loc(0, "a", 0xe0, 0), loc(1, "b", 0xe1, 11), loc(2, "c", 0xe2, 12)) // incarnation unknown: fine
	n, now := w.scanner()
	if units, _, _, err := n.repairScan(now); err != nil || len(units) != 0 {
		t.Fatalf("before the node's new incarnation: units %v, %v", units, err)
	}
	w.register(&cairnpb.DataNode{Id: "a", Addr: "a:1", Host: "a", Incarnation: 99})
	n, now = w.scanner()
	units, nodes, _, err := n.repairScan(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != 1 || units[0].cmd.GetKey() != "k" || fmt.Sprint(units[0].missing) != "[0]" || !units[0].damaged[0] {
		t.Fatalf("units %v, want k's shard 0 missing and damaged", units)
	}
	if st := n.repair.snapshot(); st.GetUnderReplicated() != 1 || len(st.GetBlocked()) != 0 {
		t.Fatalf("status %v", st)
	}

	// Placement finds no free host (3 nodes, 3 shards): in place on a.
	u := units[0]
	plan, err := planRepair(nodes, u)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(plan.targets) != "map[0:a]" || len(plan.left) != 0 {
		t.Fatalf("plan %v (left %v), want shard 0 in place on a", plan.targets, plan.left)
	}
	req := rebuildRequest(u, 0, "a", plan.sources)
	if req.GetExpectDigest() != 0xd0 || req.GetShardId() != "v1.0" {
		t.Fatalf("rebuild %v, want v1.0 with digest d0", req)
	}
	var srcs []string
	for _, s := range req.GetSources() {
		srcs = append(srcs, fmt.Sprintf("%d@%s=%x", s.GetIndex(), s.GetAddr(), s.GetDigest()))
	}
	if fmt.Sprint(srcs) != "[1@b:1=d1 2@c:1=d2]" {
		t.Fatalf("sources %v", srcs)
	}

	// With a fourth host free, the shard goes there instead.
	w.register(&cairnpb.DataNode{Id: "d", Addr: "d:1", Host: "d", Incarnation: 13})
	n, now = w.scanner()
	units, nodes, _, err = n.repairScan(now)
	if err != nil || len(units) != 1 {
		t.Fatalf("units %v, %v", units, err)
	}
	if plan, err := planRepair(nodes, units[0]); err != nil || fmt.Sprint(plan.targets) != "map[0:d]" {
		t.Fatalf("plan with a free host: %v, %v", plan, err)
	}
}

// Too few hosts for a unit's shards: the scan says so in words, and the
// unit's repair ends blocked without a rebuild; a shard that can be
// rebuilt in place is not blocked.
func TestRepairBlockedReasonNamesTheMissingFailureDomains(t *testing.T) {
	w := newFSMWorld(t)
	var ids []string
	for i := range 6 {
		id := fmt.Sprint("d", i)
		ids = append(ids, id)
		w.register(&cairnpb.DataNode{Id: id, Addr: id + ":1", Host: "h" + id, Incarnation: 1})
	}
	var locs, inPlace []*cairnpb.ShardLocation
	for i, id := range ids {
		locs = append(locs, loc(int32(i), id, 0, 1))
		inPlace = append(inPlace, loc(int32(i), id, 0, 1))
	}
	inPlace[2].Incarnation = 5 // stale: in place on d2 is allowed
	w.put("k", "v1", 4, 2, locs...)
	w.put("k2", "v2", 4, 2, inPlace...)
	w.must(&cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "d5", State: cairnpb.NodeState_NODE_STATE_REMOVED}}})

	n, now := w.scanner()
	units, nodes, _, err := n.repairScan(now)
	if err != nil {
		t.Fatal(err)
	}
	st := n.repair.snapshot()
	want := []string{"6 shards need 6 failure domains (hosts), 5 are available"}
	if !slices.Equal(st.GetBlocked(), want) || st.GetBlockedUnits() != 2 {
		// k (d5 removed) and k2 (d5 removed too; its stale shard alone would not be blocked)
		t.Fatalf("blocked %q (%d units), want %q for 2 units", st.GetBlocked(), st.GetBlockedUnits(), want)
	}
	for _, u := range units {
		if u.cmd.GetKey() != "k" {
			continue
		}
		_, err := n.repairUnit(context.Background(), nil, nodes, u)
		var be *blockedError
		if !errors.As(err, &be) || be.reason != want[0] || !errors.Is(err, rpcerr.ErrNotEnoughNodes) {
			t.Fatalf("repair of a blocked unit: %v", err)
		}
	}

	// With d5 back, only k2's stale shard is missing, and it may stay on
	// d2: nothing is blocked.
	w.must(&cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "d5", State: cairnpb.NodeState_NODE_STATE_ACTIVE}}})
	n, now = w.scanner()
	if _, _, _, err := n.repairScan(now); err != nil {
		t.Fatal(err)
	}
	if st := n.repair.snapshot(); len(st.GetBlocked()) != 0 || st.GetUnderReplicated() != 1 {
		t.Fatalf("after d5 came back: %v", st)
	}
}

// A walk in batches from a cursor visits every unit once, in key order
// over versions, upload parts and noncurrent versions.
func TestWalkUnitsResumesFromItsCursor(t *testing.T) {
	w := newFSMWorld(t, &cairnpb.DataNode{Id: "a", Addr: "a:1"})
	for i := range 7 {
		w.put(fmt.Sprint("k", i), fmt.Sprint("v", i), 1, 0, loc(0, "a", 0, 0))
	}
	w.must(&cairnpb.Command{Op: &cairnpb.Command_SetBucketVersioning{SetBucketVersioning: &cairnpb.SetBucketVersioningCmd{Namespace: "ns", Name: "b", Status: fsm.VersioningEnabled}}})
	w.put("k0", "v0b", 1, 0, loc(0, "a", 0, 0)) // v0 becomes noncurrent
	upload := fsmtest.UploadID(1)
	w.must(&cairnpb.Command{Op: &cairnpb.Command_CreateUpload{CreateUpload: &cairnpb.CreateUploadCmd{Namespace: "ns", Bucket: "b",
		Upload: &cairnpb.MultipartUpload{Key: "big", UploadId: upload}}}})
	w.must(&cairnpb.Command{Op: &cairnpb.Command_CommitPart{CommitPart: &cairnpb.CommitPartCmd{Namespace: "ns", Bucket: "b", Key: "big", UploadId: upload,
		Part: &cairnpb.UploadedPart{Part: &cairnpb.PartInfo{Number: 1, Size: 4096, ShardBase: "sb1",
			Scheme: &cairnpb.ErasureScheme{Data: 1, BlockSize: 1024}, Shards: []*cairnpb.ShardLocation{loc(0, "a", 0, 0)}}}}}})

	var all []string
	if err := w.f.Store.View(func(r pebble.Reader) error {
		return forEachUnit(r, func(u *repairUnit, _ []*cairnpb.ShardLocation) { all = append(all, u.shardBase) })
	}); err != nil {
		t.Fatal(err)
	}
	want := "[v0b v1 v2 v3 v4 v5 v6 sb1 v0]" // o/ (current), p/ (upload parts), v/ (noncurrent)
	if fmt.Sprint(all) != want {
		t.Fatalf("units in order %v, want %s", all, want)
	}
	var walked []string
	var cursor []byte
	for batches := 0; ; batches++ {
		if batches > 10 {
			t.Fatal("the walk does not end")
		}
		n := 0
		err := w.f.Store.View(func(r pebble.Reader) error {
			var err error
			cursor, err = walkUnits(r, cursor, func(u *repairUnit, _ []*cairnpb.ShardLocation) bool {
				walked = append(walked, u.shardBase)
				n++
				return n < 2
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if cursor == nil {
			break
		}
	}
	if fmt.Sprint(walked) != want {
		t.Fatalf("walked in batches of 2: %v, want %s", walked, want)
	}
}

// Progress of the inventory reconciliation is checked before it is
// replicated.
func TestFSMInventoryProgressIsValidated(t *testing.T) {
	w := newFSMWorld(t)
	set := func(p *cairnpb.InventoryProgress) error {
		return w.apply(&cairnpb.Command{Op: &cairnpb.Command_SetInventoryProgress{SetInventoryProgress: &cairnpb.SetInventoryProgressCmd{Progress: p}}})
	}
	fsmtest.WantErr(t, set(nil), rpcerr.ErrInvalidArgument)
	fsmtest.WantErr(t, set(&cairnpb.InventoryProgress{Cursor: []byte("o/x")}), rpcerr.ErrInvalidArgument)
	fsmtest.WantErr(t, set(&cairnpb.InventoryProgress{PassStartedUnixNano: 1, FoundMissing: -1}), rpcerr.ErrInvalidArgument)
	want := &cairnpb.InventoryProgress{Cursor: []byte("o/x"), PassStartedUnixNano: 5, UnitsDone: 3, FoundMissing: 1}
	if err := set(want); err != nil {
		t.Fatal(err)
	}
	var got *cairnpb.InventoryProgress
	if err := w.f.Store.View(func(r pebble.Reader) error {
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

// A proposal made on behalf of a call but not its own command (the
// cluster ID drawn within the first RegisterNode) carries no request ID:
// with the call's, the call's own command would be dropped as a duplicate.
func TestWithoutRequestIDHidesTheCallersID(t *testing.T) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(
		requestIDKey, hex.EncodeToString(bytes.Repeat([]byte{7}, fsm.RequestIDLen)), requestStartKey, "1000"))
	own := &cairnpb.Command{}
	if err := stampRequest(ctx, own); err != nil || len(own.GetRequestId()) != fsm.RequestIDLen {
		t.Fatalf("the call's own command: %v, %v", own, err)
	}
	other := &cairnpb.Command{}
	if err := stampRequest(withoutRequestID(ctx), other); err != nil || len(other.GetRequestId()) != 0 {
		t.Fatalf("another command: %v, %v", other, err)
	}
}
