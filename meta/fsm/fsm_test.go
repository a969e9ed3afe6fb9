package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func newTestFSM(t testing.TB) *FSM {
	t.Helper()
	return newTestFSMWith(t, commandRows())
}

// newTestFSMWith makes an FSM with a command table of the test's own.
func newTestFSMWith(t testing.TB, rows []commandRow) *FSM {
	t.Helper()
	st, err := OpenStore(filepath.Join(t.TempDir(), "fsm"), fsmtest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	cmds, err := newCommandRegistry(rows)
	if err != nil {
		t.Fatal(err)
	}
	confs, err := newBucketConfigRegistry(bucketConfigRows())
	if err != nil {
		t.Fatal(err)
	}
	return &FSM{Store: st, cmds: cmds, confs: confs, logger: fsmtest.Logger()}
}

// cmdLog builds a command log with increasing indexes and times.
type cmdLog struct {
	logs []*raft.Log
	now  int64
	cmds *commandRegistry // built on first use
}

// add appends a command carrying op, any command payload: the registry
// finds the Command.op field of op's type.
func (c *cmdLog) add(t testing.TB, op any) *raft.Log {
	t.Helper()
	if c.cmds == nil {
		cmds, err := newCommandRegistry(commandRows())
		if err != nil {
			t.Fatal(err)
		}
		c.cmds = cmds
	}
	payload, ok := op.(proto.Message)
	if !ok {
		t.Fatalf("op %T is not a command payload", op)
	}
	cmd, err := c.cmds.wrap(payload)
	if err != nil {
		t.Fatal(err)
	}
	c.now += 1_000_000
	cmd.UnixNano = c.now
	data, err := proto.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	l := &raft.Log{Index: uint64(len(c.logs) + 1), Term: 1, Type: raft.LogCommand, Data: data}
	c.logs = append(c.logs, l)
	return l
}

// apply appends op to the log and applies it to f on its own.
func (c *cmdLog) apply(t testing.TB, f *FSM, op any) error {
	t.Helper()
	resp := f.Apply(c.add(t, op))
	if resp == nil {
		return nil
	}
	return resp.(error)
}

type kv struct{ k, v string }

func dumpStore(t testing.TB, st *Store) []kv {
	t.Helper()
	var out []kv
	err := st.View(func(r pebble.Reader) error {
		return Scan(r, nil, func(k, v []byte) (bool, error) {
			out = append(out, kv{string(k), string(v)})
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gcQueue(t testing.TB, st *Store) []string {
	t.Helper()
	var out []string
	err := st.View(func(r pebble.Reader) error {
		es, err := ListGC(r, 0)
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

func TestFSMBucketLifecycle(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	if err := c.apply(t, f, fsmtest.CreateBucketOp("ns", "b1", 1)); err != nil {
		t.Fatal(err)
	}
	fsmtest.WantErr(t, c.apply(t, f, fsmtest.CreateBucketOp("ns", "b1", 2)), rpcerr.ErrBucketExists)
	if err := c.apply(t, f, fsmtest.CreateBucketOp("ns2", "b1", 3)); err != nil {
		t.Fatalf("same name in another namespace: %v", err)
	}
	if err := c.apply(t, f, fsmtest.PutOp("ns", "b1", "k", "v1")); err != nil {
		t.Fatal(err)
	}
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.DeleteBucketCmd{Namespace: "ns", Name: "b1"}), rpcerr.ErrBucketNotEmpty)
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.DeleteBucketCmd{Namespace: "ns", Name: "nope"}), rpcerr.ErrBucketNotFound)
	fsmtest.WantErr(t, c.apply(t, f, fsmtest.PutOp("ns", "nope", "k", "v1")), rpcerr.ErrBucketNotFound)
	if err := c.apply(t, f, fsmtest.CreateBucketOp("ns", "other", 4)); err != nil {
		t.Fatal(err)
	}
	if err := c.apply(t, f, &cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: "b1", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if err := c.apply(t, f, &cairnpb.DeleteBucketCmd{Namespace: "ns", Name: "b1"}); err != nil {
		t.Fatal(err)
	}
	// A recreated bucket gets a new ID and none of the old objects.
	if err := c.apply(t, f, fsmtest.CreateBucketOp("ns", "b1", 9)); err != nil {
		t.Fatal(err)
	}
	err := f.Store.View(func(r pebble.Reader) error {
		bs, err := ListBuckets(r, "ns")
		if err != nil {
			return err
		}
		var names []string
		for _, b := range bs {
			names = append(names, b.GetName())
		}
		if got := strings.Join(names, ","); got != "b1,other" {
			return fmt.Errorf("buckets %q", got)
		}
		if bs[0].GetCreatedUnixNano() == 0 {
			return errors.New("created time not stamped from the command")
		}
		busy, err := bucketHasObjects(r, bs[0].GetId())
		if busy {
			return errors.New("recreated bucket sees old objects")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFSMRejectsMalformedCommands(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	bad := &cairnpb.CreateBucketCmd{Bucket: &cairnpb.Bucket{Namespace: "ns", Name: "b", Id: []byte("short")}}
	fsmtest.WantErr(t, c.apply(t, f, bad), rpcerr.ErrInvalidArgument)
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.PutObjectCmd{Namespace: "ns", Bucket: "b"}), rpcerr.ErrInvalidArgument)
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.RegisterNodeCmd{}), rpcerr.ErrInvalidArgument)
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.SetMemberCmd{}), rpcerr.ErrInvalidArgument)
	if got := dumpStore(t, f.Store); len(got) != 0 {
		t.Fatalf("failed commands wrote %d keys", len(got))
	}
}

func TestFSMGCQueueOnOverwriteAndDelete(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	steps := []any{
		fsmtest.CreateBucketOp("ns", "b", 1),
		fsmtest.PutOp("ns", "b", "k", "v1", "n1", "n2", ""), // shard 2 never written
		fsmtest.PutOp("ns", "b", "k", "v1", "n1", "n2", ""), // retried commit: frees nothing
		fsmtest.PutOp("ns", "b", "k", "v2", "n3", "n4"),
		fsmtest.PutOp("ns", "b", "k", "v3"), // inline
		fsmtest.PutOp("ns", "b", "k", "v4", "n5"),
		&cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: "b", Key: "k"},
		&cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: "b", Key: "k"},     // missing: fine
		&cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: "b", Key: "never"}, // missing: fine
		fsmtest.PutOp("ns", "b", "small", "v5"),                              // inline
		&cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: "b", Key: "small"}, // inline: nothing to free
	}
	for i, op := range steps {
		if err := c.apply(t, f, op); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	got := strings.Join(gcQueue(t, f.Store), " ")
	want := "n1/v1.0 n2/v1.1 n3/v2.0 n4/v2.1 n5/v4.0"
	if got != want {
		t.Fatalf("GC queue %q, want %q", got, want)
	}
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: "nope", Key: "k"}), rpcerr.ErrBucketNotFound)
	// Only the bucket and the GC entries (and their index) remain: no
	// object or inline keys.
	for _, e := range dumpStore(t, f.Store) {
		if !strings.HasPrefix(e.k, TagBucket) && !strings.HasPrefix(e.k, TagGC) && !strings.HasPrefix(e.k, TagGCIndex) {
			t.Fatalf("leftover key %q", e.k)
		}
	}
}

func TestFSMInlineDataRoundTrip(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	for _, op := range []any{fsmtest.CreateBucketOp("ns", "b", 1), fsmtest.PutOp("ns", "b", "k", "v1")} {
		if err := c.apply(t, f, op); err != nil {
			t.Fatal(err)
		}
	}
	check := func(wantInline string) {
		t.Helper()
		err := f.Store.View(func(r pebble.Reader) error {
			v, err := GetObject(r, fsmtest.BucketID(1), "k", true)
			if err != nil {
				return err
			}
			if string(v.GetInlineData()) != wantInline || !bytes.Equal(v.GetBucketId(), fsmtest.BucketID(1)) {
				return fmt.Errorf("version %v", v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("inline:k")
	if err := c.apply(t, f, fsmtest.PutOp("ns", "b", "k", "v2", "n1")); err != nil {
		t.Fatal(err)
	}
	check("")
	for _, e := range dumpStore(t, f.Store) {
		if strings.HasPrefix(e.k, tagInline) {
			t.Fatalf("inline data of a replaced version left behind: %q", e.k)
		}
	}
}

func TestFSMNodesAndMembers(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.HeartbeatCmd{NodeId: "d1"}), rpcerr.ErrNodeNotFound)
	if err := c.apply(t, f, &cairnpb.RegisterNodeCmd{Node: &cairnpb.DataNode{Id: "d1", Addr: "a:1", Zone: "z"}}); err != nil {
		t.Fatal(err)
	}
	registered := c.now
	if err := c.apply(t, f, &cairnpb.HeartbeatCmd{NodeId: "d1", CapacityBytes: 100, UsedBytes: 7}); err != nil {
		t.Fatal(err)
	}
	beat := c.now
	if err := c.apply(t, f, &cairnpb.RegisterNodeCmd{Node: &cairnpb.DataNode{Id: "d1", Addr: "a:2", Zone: "z"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.apply(t, f, &cairnpb.SetMemberCmd{Member: &cairnpb.MetaMember{Id: "m1", GrpcAddr: "g:1"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.apply(t, f, &cairnpb.SetMemberCmd{Member: &cairnpb.MetaMember{Id: "m1", GrpcAddr: "g:2"}}); err != nil {
		t.Fatal(err)
	}
	err := f.Store.View(func(r pebble.Reader) error {
		n, err := GetNode(r, "d1")
		if err != nil {
			return err
		}
		if n.GetRegisteredUnixNano() != registered || n.GetAddr() != "a:2" || n.GetLastHeartbeatUnixNano() <= beat {
			return fmt.Errorf("node %v (registered %d, beat %d)", n, registered, beat)
		}
		m, err := GetMember(r, "m1")
		if err != nil {
			return err
		}
		if m.GetGrpcAddr() != "g:2" {
			return fmt.Errorf("member %v", m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFSMUnknownCommandPanics(t *testing.T) {
	f := newTestFSM(t)
	// Field 99 is no command this version knows: the oneof stays empty.
	data := []byte{0x08, 0x01, 0x9a, 0x06, 0x00}
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "entry 1 holds an unknown command (fields [99])") {
			t.Fatalf("recovered %v, want an unknown-command panic naming field 99", r)
		}
	}()
	f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data})
}

// randomLog builds a mixed command log, failing commands included.
func randomLog(t testing.TB, seed uint64, n int) *cmdLog {
	rng := rand.New(rand.NewPCG(seed, seed))
	c := &cmdLog{}
	buckets := []string{"a", "b", "c"}
	for i := 0; i < n; i++ {
		b := buckets[rng.IntN(len(buckets))]
		key := fmt.Sprintf("k%02d", rng.IntN(40))
		switch rng.IntN(10) {
		case 0:
			c.add(t, fsmtest.CreateBucketOp("ns", b, byte(i)))
		case 1:
			c.add(t, &cairnpb.DeleteBucketCmd{Namespace: "ns", Name: b})
		case 2, 3, 4:
			c.add(t, fsmtest.PutOp("ns", b, key, fmt.Sprintf("v%d", i), "n1", "n2", "n3"))
		case 5:
			c.add(t, fsmtest.PutOp("ns", b, key, fmt.Sprintf("v%d", i)))
		case 6:
			c.add(t, &cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: b, Key: key})
		case 7:
			c.add(t, &cairnpb.RegisterNodeCmd{Node: &cairnpb.DataNode{Id: fmt.Sprintf("n%d", rng.IntN(4)), Addr: "x"}})
		case 8:
			c.add(t, &cairnpb.HeartbeatCmd{NodeId: fmt.Sprintf("n%d", rng.IntN(4)), UsedBytes: int64(i)})
		case 9:
			c.add(t, &cairnpb.SetMemberCmd{Member: &cairnpb.MetaMember{Id: "m", GrpcAddr: fmt.Sprint(i)}})
		}
	}
	return c
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	closed, canceled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.canceled = true; return nil }
func (s *memSink) Close() error  { s.closed = true; return nil }

func snapshotOf(t *testing.T, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	if !sink.closed || sink.canceled {
		t.Fatalf("sink closed=%v canceled=%v", sink.closed, sink.canceled)
	}
	return sink.Bytes()
}

func TestFSMSnapshotRestore(t *testing.T) {
	c := randomLog(t, 11, 2000)
	src := newTestFSM(t)
	for _, l := range c.logs[:1500] {
		src.Apply(l)
	}
	want := dumpStore(t, src.Store)

	// The snapshot is a point in time: applies after Snapshot() are not in it.
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	src.ApplyBatch(c.logs[1500:])
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()

	dst := newTestFSM(t)
	dst.Apply(c.logs[0]) // state that Restore must discard
	if err := dst.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if got := dumpStore(t, dst.Store); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("restored %d keys, want %d", len(got), len(want))
	}
	// Replaying the rest of the log after the snapshot converges too.
	dst.ApplyBatch(c.logs[1500:])
	if fmt.Sprint(dumpStore(t, dst.Store)) != fmt.Sprint(dumpStore(t, src.Store)) {
		t.Fatal("restore + replay differs from the source")
	}
	// Only the current database generation is left on disk.
	dirs, err := os.ReadDir(dst.Store.root)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 1 {
		t.Fatalf("%d database generations on disk, want 1", len(dirs))
	}
}

func TestFSMRestoreRejectsDamage(t *testing.T) {
	c := randomLog(t, 3, 300)
	src := newTestFSM(t)
	src.ApplyBatch(c.logs)
	good := snapshotOf(t, src)

	dst := newTestFSM(t)
	dst.ApplyBatch(c.logs[:10])
	before := dumpStore(t, dst.Store)
	damaged := map[string][]byte{
		"flipped byte": func() []byte {
			b := bytes.Clone(good)
			b[len(b)/2] ^= 0x40
			return b
		}(),
		"truncated":  good[:len(good)-3],
		"bad magic":  append([]byte("NOTCAIRN"), good[8:]...),
		"extra byte": append(bytes.Clone(good), 0),
		"empty":      nil,
	}
	for name, b := range damaged {
		if err := dst.Restore(io.NopCloser(bytes.NewReader(b))); err == nil {
			t.Fatalf("%s: restore succeeded", name)
		}
		if fmt.Sprint(dumpStore(t, dst.Store)) != fmt.Sprint(before) {
			t.Fatalf("%s: a failed restore changed the state", name)
		}
	}
	if err := dst.Restore(io.NopCloser(bytes.NewReader(good))); err != nil {
		t.Fatal(err)
	}
}

// A reader holding the old database while Restore swaps it in keeps a
// consistent view; the old generation is deleted when it lets go.
func TestStoreSwapWaitsForReaders(t *testing.T) {
	src := newTestFSM(t)
	var c cmdLog
	if err := c.apply(t, src, fsmtest.CreateBucketOp("ns", "b", 1)); err != nil {
		t.Fatal(err)
	}
	snap := snapshotOf(t, src)

	dst := newTestFSM(t)
	h, err := dst.Store.acquire()
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h.dir); err != nil {
		t.Fatalf("old generation removed while still read: %v", err)
	}
	if _, err := GetBucket(h.db, "ns", "b"); !errors.Is(err, rpcerr.ErrBucketNotFound) {
		t.Fatalf("old generation changed under its reader: %v", err)
	}
	dst.Store.release(h)
	if _, err := os.Stat(h.dir); !os.IsNotExist(err) {
		t.Fatalf("old generation not removed after release: %v", err)
	}
}

// applyBothWays applies logs to one FSM entry by entry and to another in
// random batches of 1..maxBatch entries, and fails the test unless every
// response and the final states agree. It returns the first FSM and its
// responses, for the caller's own checks.
func applyBothWays(t *testing.T, logs []*raft.Log, rng *rand.Rand, maxBatch int) (*FSM, []any) {
	t.Helper()
	one, batched := newTestFSM(t), newTestFSM(t)
	var oneResps, batchResps []any
	for _, l := range logs {
		oneResps = append(oneResps, one.Apply(l))
	}
	for i := 0; i < len(logs); {
		j := min(len(logs), i+1+rng.IntN(maxBatch))
		batchResps = append(batchResps, batched.ApplyBatch(logs[i:j])...)
		i = j
	}
	for i := range oneResps {
		if fmt.Sprint(oneResps[i]) != fmt.Sprint(batchResps[i]) {
			t.Fatalf("entry %d: %v vs %v", i, oneResps[i], batchResps[i])
		}
	}
	if a, b := dumpStore(t, one.Store), dumpStore(t, batched.Store); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("states differ: %d keys vs %d keys", len(a), len(b))
	}
	return one, oneResps
}

// outcomeCounts counts responses by outcome: "ok" or the rpcerr reason
// of each refusal.
func outcomeCounts(resps []any) map[string]int {
	counts := map[string]int{}
	for _, r := range resps {
		err, _ := r.(error)
		if err == nil {
			counts["ok"]++
			continue
		}
		counts[RefusalReason(err)]++
	}
	return counts
}

// AppliedIndex follows every batch, refused commands included.
func TestAppliedIndexFollowsEveryBatch(t *testing.T) {
	f := newTestFSM(t)
	if got := f.Store.AppliedIndex(); got != 0 {
		t.Fatalf("fresh store: applied index %d", got)
	}
	ok := &cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "a", State: cairnpb.NodeState_NODE_STATE_DRAINING}}}
	refused := &cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{NodeId: "", State: cairnpb.NodeState_NODE_STATE_DRAINING}}}
	var logs []*raft.Log
	for i, cmd := range []*cairnpb.Command{ok, refused} {
		data, err := proto.Marshal(cmd)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, &raft.Log{Index: uint64(7 + i), Term: 1, Type: raft.LogCommand, Data: data})
	}
	f.ApplyBatch(logs[:1])
	if got := f.Store.AppliedIndex(); got != 7 {
		t.Fatalf("after entry 7: applied index %d", got)
	}
	if resps := f.ApplyBatch(logs[1:]); resps[0] == nil {
		t.Fatal("a node state without a node ID applied")
	}
	if got := f.Store.AppliedIndex(); got != 8 {
		t.Fatalf("after refused entry 8: applied index %d", got)
	}
}
