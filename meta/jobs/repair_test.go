package jobs

import (
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmfixture"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// The scan classifies shards (lost node, silent past the grace, corrupt,
// draining, never written), orders the work riskiest first, skips
// unreadable units and finds stale corrupt reports.
func TestRepairScanClassifiesAndOrdersByRisk(t *testing.T) {
	f := fsmfixture.New(t)
	var idx uint64
	must := func(cmd *cairnpb.Command) {
		t.Helper()
		if err := fsmfixture.Apply(t, f, &idx, cmd); err != nil {
			t.Fatal(err)
		}
	}
	must(&cairnpb.Command{Op: &cairnpb.Command_CreateBucket{CreateBucket: fsmtest.CreateBucketOp("ns", "b", 1)}})
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		must(&cairnpb.Command{Op: &cairnpb.Command_RegisterNode{RegisterNode: &cairnpb.RegisterNodeCmd{Node: &cairnpb.DataNode{Id: id, Addr: id + ":1"}}}})
	}
	// Registration stamps each node's heartbeat with the command's time.
	must(&cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "g", State: cairnpb.NodeState_NODE_STATE_REMOVED}}})
	must(&cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "f", State: cairnpb.NodeState_NODE_STATE_DRAINING}}})
	put := func(key string, nodes ...string) {
		p := fsmtest.PutOp("ns", "b", key, "v-"+key, nodes...)
		p.Version.Scheme = &cairnpb.ErasureScheme{Data: 2, Parity: 2, BlockSize: 1024}
		must(&cairnpb.Command{Op: &cairnpb.Command_PutObject{PutObject: p}})
	}
	put("healthy", "a", "b", "c", "d")
	put("one-lost", "a", "b", "c", "g") // g removed
	put("two-lost", "a", "g", "", "d")  // g removed, one never written
	put("draining", "a", "b", "c", "f") // f draining
	put("corrupt", "a", "b", "c", "e")  // e's shard reported below
	put("unreadable", "g", "", "", "a") // 1 survivor < k
	must(&cairnpb.Command{Op: &cairnpb.Command_ReportCorruptShard{ReportCorruptShard: &cairnpb.ReportCorruptShardCmd{
		Shard: &cairnpb.CorruptShard{NodeId: "e", ShardId: "v-corrupt.3"}}}})
	must(&cairnpb.Command{Op: &cairnpb.Command_ReportCorruptShard{ReportCorruptShard: &cairnpb.ReportCorruptShardCmd{
		Shard: &cairnpb.CorruptShard{NodeId: "e", ShardId: "v-gone.0"}}}})

	n := New(&Env{Store: f.Store, Config: Config{ID: "m1", RepairGrace: time.Hour, HealthWindow: time.Hour}})
	now := time.Unix(0, int64(idx)*1_000_000+1)
	n.env.Now = func() time.Time { return now }
	units, nodes, stale, err := n.repairScan(now)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, u := range units {
		order = append(order, fmt.Sprintf("%s:%v/%v", u.cmd.GetKey(), u.missing, u.moving))
	}
	// Ties keep key order.
	want := []string{"two-lost:[1 2]/[]", "corrupt:[3]/[]", "one-lost:[3]/[]", "draining:[]/[3]"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("work order %v, want %v", order, want)
	}
	if !nodes["g"].lost || nodes["a"].lost || nodes["f"].lost {
		t.Fatalf("node views: g %+v a %+v f %+v", nodes["g"], nodes["a"], nodes["f"])
	}
	if len(stale) != 1 || stale[0].GetShardId() != "v-gone.0" {
		t.Fatalf("stale reports %v", stale)
	}
	st := n.repair.snapshot()
	if st.GetUnitsScanned() != 6 || st.GetUnderReplicated() != 4 || st.GetToMove() != 1 || st.GetLostUnits() != 1 || st.GetUnitsLeft() != 4 {
		t.Fatalf("status %v", st)
	}

	// A node silent for longer than the grace is lost too.
	n.env.Config.RepairGrace = time.Nanosecond
	later := now.Add(time.Second)
	n.env.Now = func() time.Time { return later }
	if _, nodes, _, err = n.repairScan(later); err != nil {
		t.Fatal(err)
	}
	if !nodes["a"].lost {
		t.Fatal("a silent past the grace is not lost")
	}
}

// Parts of uploads in progress are found by the scan and relocated by
// upload ID, part number and shard base.
func TestRepairUploadPartsAreScannedAndRelocated(t *testing.T) {
	f := fsmfixture.New(t)
	var idx uint64
	must := func(cmd *cairnpb.Command) {
		t.Helper()
		if err := fsmfixture.Apply(t, f, &idx, cmd); err != nil {
			t.Fatal(err)
		}
	}
	must(&cairnpb.Command{Op: &cairnpb.Command_CreateBucket{CreateBucket: fsmtest.CreateBucketOp("ns", "b", 1)}})
	for _, id := range []string{"a", "b", "c", "d"} {
		must(&cairnpb.Command{Op: &cairnpb.Command_RegisterNode{RegisterNode: &cairnpb.RegisterNodeCmd{Node: &cairnpb.DataNode{Id: id, Addr: id + ":1"}}}})
	}
	const upload = "0123456789abcdef0123456789abcdef"
	must(&cairnpb.Command{Op: &cairnpb.Command_CreateUpload{CreateUpload: &cairnpb.CreateUploadCmd{Namespace: "ns", Bucket: "b",
		Upload: &cairnpb.MultipartUpload{Key: "big", UploadId: upload}}}})
	must(&cairnpb.Command{Op: &cairnpb.Command_CommitPart{CommitPart: &cairnpb.CommitPartCmd{Namespace: "ns", Bucket: "b", Key: "big", UploadId: upload,
		Part: &cairnpb.UploadedPart{Part: &cairnpb.PartInfo{Number: 7, Size: 4096, ShardBase: "sb7", Degraded: true,
			Scheme: &cairnpb.ErasureScheme{Data: 2, Parity: 1, BlockSize: 1024},
			Shards: []*cairnpb.ShardLocation{{Index: 0, NodeId: "a"}, {Index: 1, NodeId: "b"}, {Index: 2}}}}}}})

	n := New(&Env{Store: f.Store, Config: Config{ID: "m1", RepairGrace: time.Hour, HealthWindow: time.Hour}})
	now := time.Unix(0, int64(idx)*1_000_000+1)
	n.env.Now = func() time.Time { return now }
	units, _, _, err := n.repairScan(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != 1 || units[0].cmd.GetUploadId() != upload || units[0].cmd.GetPartNumber() != 7 || fmt.Sprint(units[0].missing) != "[2]" {
		t.Fatalf("units %v", units)
	}
	cmd := units[0].cmd
	cmd.Moves = []*cairnpb.ShardMove{{Index: 2, NewNodeId: "c", ShardId: "sb7.2"}}
	stale := proto.Clone(cmd).(*cairnpb.RelocateShardsCmd)
	stale.VersionId = "sb-other"
	fsmtest.WantErr(t, fsmfixture.Apply(t, f, &idx, &cairnpb.Command{Op: &cairnpb.Command_RelocateShards{RelocateShards: stale}}), rpcerr.ErrUploadNotFound)
	must(&cairnpb.Command{Op: &cairnpb.Command_RelocateShards{RelocateShards: cmd}})
	up := &cairnpb.UploadedPart{}
	if err := f.Store.View(func(r pebble.Reader) error {
		_, err := fsm.GetProto(r, fsm.PartKey(upload, 7), up)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if up.GetPart().GetDegraded() || up.GetPart().GetShards()[2].GetNodeId() != "c" {
		t.Fatalf("part after relocation: %v", up.GetPart())
	}
}
