package meta

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmfixture"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// gcState returns the GC queue as "node/shard@time" and fails the test
// unless the q/ index names exactly the same entries.
func gcState(t *testing.T, f *fsm.FSM) []*cairnpb.GCEntry {
	t.Helper()
	var queue []*cairnpb.GCEntry
	var fromQueue, fromIndex []string
	err := f.Store.View(func(r pebble.Reader) error {
		es, err := fsm.ListGC(r, 0)
		if err != nil {
			return err
		}
		queue = es
		for _, e := range es {
			fromQueue = append(fromQueue, fmt.Sprintf("%s/%s@%d", e.GetNodeId(), e.GetShardId(), e.GetEnqueuedUnixNano()))
		}
		return fsm.Scan(r, []byte(fsm.TagGCIndex), func(k, _ []byte) (bool, error) {
			rest := k[len(fsm.TagGCIndex):]
			parts := strings.SplitN(string(rest[:len(rest)-8]), "\x00", 3)
			if len(parts) != 3 || parts[2] != "" {
				t.Errorf("malformed GC index key %q", k)
				return true, nil
			}
			at := int64(binary.BigEndian.Uint64(rest[len(rest)-8:]))
			fromIndex = append(fromIndex, fmt.Sprintf("%s/%s@%d", parts[0], parts[1], at))
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(fromQueue)
	slices.Sort(fromIndex)
	if !slices.Equal(fromQueue, fromIndex) {
		t.Fatalf("GC index %v does not match GC queue %v", fromIndex, fromQueue)
	}
	return queue
}

func hasGC(es []*cairnpb.GCEntry, node, shard string) *cairnpb.GCEntry {
	for _, e := range es {
		if e.GetNodeId() == node && e.GetShardId() == shard {
			return e
		}
	}
	return nil
}

// Moving a shard back onto a node it was moved off drops the GC entry the
// first move queued there, so GC cannot delete the live copy; DropGC keeps
// the index in step with the queue.
func TestGCRelocateBackDropsPendingEntry(t *testing.T) {
	f := fsmfixture.New(t)
	var idx uint64
	must := func(cmd *cairnpb.Command) {
		t.Helper()
		if err := fsmfixture.Apply(t, f, &idx, cmd); err != nil {
			t.Fatal(err)
		}
	}
	must(&cairnpb.Command{Op: &cairnpb.Command_CreateBucket{CreateBucket: fsmtest.CreateBucketOp("ns", "b", 1)}})
	for _, id := range []string{"a", "b", "c"} {
		must(&cairnpb.Command{Op: &cairnpb.Command_RegisterNode{RegisterNode: &cairnpb.RegisterNodeCmd{Node: &cairnpb.DataNode{Id: id, Addr: id + ":1"}}}})
	}
	put := fsmtest.PutOp("ns", "b", "k", "v1", "a", "c", "c")
	put.Version.Scheme = &cairnpb.ErasureScheme{Data: 2, Parity: 1, BlockSize: 1024}
	must(&cairnpb.Command{Op: &cairnpb.Command_PutObject{PutObject: put}})
	move := func(from, to string) {
		t.Helper()
		must(&cairnpb.Command{Op: &cairnpb.Command_RelocateShards{RelocateShards: &cairnpb.RelocateShardsCmd{
			BucketId: fsmtest.BucketID(1), Key: "k", VersionId: "v1",
			Moves: []*cairnpb.ShardMove{{Index: 0, OldNodeId: from, NewNodeId: to, ShardId: "v1.0"}},
		}}})
	}

	move("a", "b")
	if q := gcState(t, f); len(q) != 1 || hasGC(q, "a", "v1.0") == nil {
		t.Fatalf("after a->b GC queue %v, want only a/v1.0", q)
	}
	move("b", "a")
	q := gcState(t, f)
	if hasGC(q, "a", "v1.0") != nil {
		t.Fatalf("after b->a the live shard on a is still queued for GC: %v", q)
	}
	if len(q) != 1 || hasGC(q, "b", "v1.0") == nil {
		t.Fatalf("after b->a GC queue %v, want only b/v1.0", q)
	}
	if v := fsmfixture.ReadVersion(t, f, fsmtest.BucketID(1), "k"); v.GetShards()[0].GetNodeId() != "a" {
		t.Fatalf("shard 0 on %q, want a", v.GetShards()[0].GetNodeId())
	}

	// An overwrite queues the replaced version's shards through the same
	// path; the index follows.
	must(&cairnpb.Command{Op: &cairnpb.Command_PutObject{PutObject: fsmtest.PutOp("ns", "b", "k", "v2", "c")}})
	q = gcState(t, f)
	if len(q) != 4 || hasGC(q, "a", "v1.0") == nil || hasGC(q, "c", "v1.1") == nil || hasGC(q, "c", "v1.2") == nil {
		t.Fatalf("after overwrite GC queue %v", q)
	}

	// DropGC removes entries and their index keys; an entry already gone
	// is ignored.
	drop := &cairnpb.DropGCCmd{Entries: []*cairnpb.GCEntry{
		hasGC(q, "b", "v1.0"), hasGC(q, "a", "v1.0"),
		{NodeId: "a", ShardId: "v1.0", EnqueuedUnixNano: 1},
	}}
	must(&cairnpb.Command{Op: &cairnpb.Command_DropGc{DropGc: drop}})
	q = gcState(t, f)
	if len(q) != 2 || hasGC(q, "c", "v1.1") == nil || hasGC(q, "c", "v1.2") == nil {
		t.Fatalf("after DropGC GC queue %v, want c/v1.1 and c/v1.2", q)
	}
}
