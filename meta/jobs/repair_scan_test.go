package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmfixture"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// scanner returns a repair engine over the world's state at its clock.
func scanner(w *fsmfixture.World) (*Set, time.Time) {
	n := New(&Env{Store: w.F.Store, Config: Config{ID: "m1", RepairGrace: time.Hour, HealthWindow: time.Hour}})
	now := time.Unix(0, int64(w.Index())*1_000_000+1)
	n.env.Now = func() time.Time { return now }
	return n, now
}

func loc(i int32, node string, digest, inc uint64) *cairnpb.ShardLocation {
	return &cairnpb.ShardLocation{Index: i, NodeId: node, Digest: digest, Incarnation: inc}
}

// A shard recorded with another incarnation than its node's is missing;
// with no other host free it is rebuilt in place, and the rebuild asks for
// the recorded digest and names each source's.
func TestRepairStaleIncarnationIsMissingAndRebuiltInPlace(t *testing.T) {
	w := fsmfixture.NewWorld(t)
	for i, id := range []string{"a", "b", "c"} {
		w.Register(&cairnpb.DataNode{Id: id, Addr: id + ":1", Host: id, Incarnation: uint64(10 + i)})
	}
	w.Put("k", "v1", 2, 1, loc(0, "a", 0xd0, 10), loc(1, "b", 0xd1, 11), loc(2, "c", 0xd2, 12))
	w.Put("old", "v0", 2, 1, loc(0, "a", 0xe0, 0), loc(1, "b", 0xe1, 11), loc(2, "c", 0xe2, 12)) // incarnation unknown: fine
	n, now := scanner(w)
	if units, _, _, err := n.repairScan(now); err != nil || len(units) != 0 {
		t.Fatalf("before the node's new incarnation: units %v, %v", units, err)
	}
	w.Register(&cairnpb.DataNode{Id: "a", Addr: "a:1", Host: "a", Incarnation: 99})
	n, now = scanner(w)
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
	w.Register(&cairnpb.DataNode{Id: "d", Addr: "d:1", Host: "d", Incarnation: 13})
	n, now = scanner(w)
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
	w := fsmfixture.NewWorld(t)
	var ids []string
	for i := range 6 {
		id := fmt.Sprint("d", i)
		ids = append(ids, id)
		w.Register(&cairnpb.DataNode{Id: id, Addr: id + ":1", Host: "h" + id, Incarnation: 1})
	}
	var locs, inPlace []*cairnpb.ShardLocation
	for i, id := range ids {
		locs = append(locs, loc(int32(i), id, 0, 1))
		inPlace = append(inPlace, loc(int32(i), id, 0, 1))
	}
	inPlace[2].Incarnation = 5 // stale: in place on d2 is allowed
	w.Put("k", "v1", 4, 2, locs...)
	w.Put("k2", "v2", 4, 2, inPlace...)
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "d5", State: cairnpb.NodeState_NODE_STATE_REMOVED}}})

	n, now := scanner(w)
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
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "d5", State: cairnpb.NodeState_NODE_STATE_ACTIVE}}})
	n, now = scanner(w)
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
	w := fsmfixture.NewWorld(t, &cairnpb.DataNode{Id: "a", Addr: "a:1"})
	for i := range 7 {
		w.Put(fmt.Sprint("k", i), fmt.Sprint("v", i), 1, 0, loc(0, "a", 0, 0))
	}
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_SetBucketConfig{SetBucketConfig: fsmtest.VersioningOp("ns", "b", fsm.VersioningEnabled)}})
	w.Put("k0", "v0b", 1, 0, loc(0, "a", 0, 0)) // v0 becomes noncurrent
	upload := fsmtest.UploadID(1)
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_CreateUpload{CreateUpload: &cairnpb.CreateUploadCmd{Namespace: "ns", Bucket: "b",
		Upload: &cairnpb.MultipartUpload{Key: "big", UploadId: upload}}}})
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_CommitPart{CommitPart: &cairnpb.CommitPartCmd{Namespace: "ns", Bucket: "b", Key: "big", UploadId: upload,
		Part: &cairnpb.UploadedPart{Part: &cairnpb.PartInfo{Number: 1, Size: 4096, ShardBase: "sb1",
			Scheme: &cairnpb.ErasureScheme{Data: 1, BlockSize: 1024}, Shards: []*cairnpb.ShardLocation{loc(0, "a", 0, 0)}}}}}})

	var all []string
	if err := w.F.Store.View(func(r pebble.Reader) error {
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
		err := w.F.Store.View(func(r pebble.Reader) error {
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

// A scan names the Raft index it saw, so `cairnctl node drain --wait`
// trusts only a scan that saw the drain: one that began before the drain
// applied reports nothing to move and an index below the drain's.
func TestRepairScanNamesTheIndexItSaw(t *testing.T) {
	w := fsmfixture.NewWorld(t)
	for i, id := range []string{"a", "b", "c", "d"} {
		w.Register(&cairnpb.DataNode{Id: id, Addr: id + ":1", Host: id, Incarnation: uint64(10 + i)})
	}
	w.Put("k", "v1", 2, 1, loc(0, "a", 0xd0, 10), loc(1, "b", 0xd1, 11), loc(2, "c", 0xd2, 12))
	n, now := scanner(w)
	if _, _, _, err := n.repairScan(now); err != nil {
		t.Fatal(err)
	}
	before := n.repair.snapshot()
	if before.GetLastScanIndex() != w.Index() || before.GetToMove() != 0 {
		t.Fatalf("before the drain: index %d (applied %d), to move %d", before.GetLastScanIndex(), w.Index(), before.GetToMove())
	}
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "a", State: cairnpb.NodeState_NODE_STATE_DRAINING}}})
	drained := w.Index()
	if before.GetLastScanIndex() >= drained {
		t.Fatalf("the earlier scan's index %d is not below the drain's %d", before.GetLastScanIndex(), drained)
	}
	n, now = scanner(w)
	if _, _, _, err := n.repairScan(now); err != nil {
		t.Fatal(err)
	}
	if st := n.repair.snapshot(); st.GetLastScanIndex() < drained || st.GetToMove() != 1 {
		t.Fatalf("after the drain: index %d (drain at %d), to move %d", st.GetLastScanIndex(), drained, st.GetToMove())
	}
}
