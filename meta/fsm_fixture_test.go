package meta

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

// The FSM as a fixture for meta's tests (repair planning, GC, convergence
// of a cluster's stores), through package fsm's exported API. fsm's own
// tests have the same helpers over its internals.

// newTestFSM opens an empty FSM in t's temporary directory.
func newTestFSM(t testing.TB) *fsm.FSM {
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

// kv is one key and value of a store.
type kv struct{ k, v string }

// dumpStore lists every key and value of st in key order.
func dumpStore(t testing.TB, st *fsm.Store) []kv {
	t.Helper()
	var out []kv
	err := st.View(func(r pebble.Reader) error {
		return fsm.Scan(r, nil, func(k, v []byte) (bool, error) {
			out = append(out, kv{string(k), string(v)})
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// gcQueue lists st's GC queue as node/shard.
func gcQueue(t testing.TB, st *fsm.Store) []string {
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

// applyCmd applies one command with its own index and time.
func applyCmd(t *testing.T, f *fsm.FSM, idx *uint64, cmd *cairnpb.Command) error {
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

func readVersion(t *testing.T, f *fsm.FSM, bucketID []byte, key string) *cairnpb.ObjectVersion {
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

// A relocation applies only while the record still names the old
// location; it queues the old shard for GC (not on a removed node), clears
// its corrupt report and recomputes the degraded flag.
