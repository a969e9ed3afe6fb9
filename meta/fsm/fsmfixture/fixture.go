package fsmfixture

import (
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// New opens an empty FSM in t's temporary directory, closed when t ends.
func New(t testing.TB) *fsm.FSM {
	t.Helper()
	st, err := fsm.OpenStore(filepath.Join(t.TempDir(), "fsm"), fsmtest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	f, err := fsm.New(st, fsmtest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Apply applies one command as the log entry after *idx (which it
// advances), stamped with a time of its own, and returns the apply's
// refusal, if any.
func Apply(t testing.TB, f *fsm.FSM, idx *uint64, cmd *cairnpb.Command) error {
	t.Helper()
	*idx++
	cmd.UnixNano = int64(*idx) * 1_000_000
	data, err := proto.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if resp := f.Apply(&raft.Log{Index: *idx, Term: 1, Type: raft.LogCommand, Data: data}); resp != nil {
		return resp.(error)
	}
	return nil
}

// ReadVersion returns the current version of key in the bucket, nil when
// there is none.
func ReadVersion(t testing.TB, f *fsm.FSM, bucketID []byte, key string) *cairnpb.ObjectVersion {
	t.Helper()
	var v *cairnpb.ObjectVersion
	if err := f.Store.View(func(r pebble.Reader) error {
		var err error
		v, err = fsm.GetObject(r, bucketID, key, false)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// KV is one key and value of a store.
type KV struct{ K, V string }

// Dump lists every key and value of st in key order.
func Dump(t testing.TB, st *fsm.Store) []KV {
	t.Helper()
	var out []KV
	err := st.View(func(r pebble.Reader) error {
		return fsm.Scan(r, nil, func(k, v []byte) (bool, error) {
			out = append(out, KV{string(k), string(v)})
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// GCQueue lists st's GC queue as node/shard.
func GCQueue(t testing.TB, st *fsm.Store) []string {
	t.Helper()
	var out []string
	err := st.View(func(r pebble.Reader) error {
		es, err := fsm.ListGC(r, 0)
		for _, e := range es {
			out = append(out, e.GetNodeId()+"/"+e.GetShardId())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// World is an FSM with a bucket ("ns"/"b", ID 1) and data nodes, for
// tests that apply commands directly.
type World struct {
	T   testing.TB
	F   *fsm.FSM
	idx uint64
}

// NewWorld makes the world with the given data nodes registered.
func NewWorld(t testing.TB, nodes ...*cairnpb.DataNode) *World {
	t.Helper()
	w := &World{T: t, F: New(t)}
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_CreateBucket{CreateBucket: fsmtest.CreateBucketOp("ns", "b", 1)}})
	for _, d := range nodes {
		w.Register(d)
	}
	return w
}

// Apply applies cmd and returns its refusal, if any.
func (w *World) Apply(cmd *cairnpb.Command) error {
	w.T.Helper()
	return Apply(w.T, w.F, &w.idx, cmd)
}

// Must applies cmd and fails the test if it is refused.
func (w *World) Must(cmd *cairnpb.Command) {
	w.T.Helper()
	if err := w.Apply(cmd); err != nil {
		w.T.Fatal(err)
	}
}

// Register registers data node d.
func (w *World) Register(d *cairnpb.DataNode) {
	w.T.Helper()
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_RegisterNode{RegisterNode: &cairnpb.RegisterNodeCmd{Node: d}}})
}

// Node returns data node id's record.
func (w *World) Node(id string) *cairnpb.DataNode {
	w.T.Helper()
	var d *cairnpb.DataNode
	if err := w.F.Store.View(func(r pebble.Reader) error {
		var err error
		d, err = fsm.GetNode(r, id)
		return err
	}); err != nil {
		w.T.Fatal(err)
	}
	return d
}

// Put commits key as version in the world's bucket, erasure coded data+
// parity with one shard per location.
func (w *World) Put(key, version string, data, parity int32, locs ...*cairnpb.ShardLocation) {
	w.T.Helper()
	p := fsmtest.PutOp("ns", "b", key, version)
	p.Version.InlineData = nil
	p.Version.Size = 4096
	p.Version.Scheme = &cairnpb.ErasureScheme{Data: data, Parity: parity, BlockSize: 1024}
	p.Version.Shards = locs
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_PutObject{PutObject: p}})
}

// Index is the index of the last command applied; its time is Index
// milliseconds after the epoch (Apply stamps it so).
func (w *World) Index() uint64 { return w.idx }
