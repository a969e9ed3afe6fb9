package fsm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// dedupeEpoch is a plausible proposer clock for the FSM tests.
const dedupeEpoch = int64(1_700_000_000) * int64(time.Second)

func newDedupeLog() *cmdLog { return &cmdLog{now: dedupeEpoch} }

func testRequestID(n int) []byte {
	id := make([]byte, RequestIDLen)
	copy(id, fmt.Sprintf("req-%d", n))
	return id
}

// addReq appends op as the command of request id, which started age
// before it is proposed.
func addReq(t testing.TB, c *cmdLog, op any, id []byte, age time.Duration) *raft.Log {
	t.Helper()
	l := c.add(t, op)
	cmd := &cairnpb.Command{}
	if err := proto.Unmarshal(l.Data, cmd); err != nil {
		t.Fatal(err)
	}
	cmd.RequestId, cmd.RequestStartUnixNano = id, cmd.GetUnixNano()-int64(age)
	data, err := proto.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	l.Data = data
	return l
}

func applyOne(f *FSM, l *raft.Log) error {
	if resp := f.Apply(l); resp != nil {
		return resp.(error)
	}
	return nil
}

func mustApply(t *testing.T, f *FSM, l *raft.Log) {
	t.Helper()
	if err := applyOne(f, l); err != nil {
		t.Fatal(err)
	}
}

func currentVersion(t *testing.T, f *FSM, bucket, key string) string {
	t.Helper()
	var id string
	err := f.Store.View(func(r pebble.Reader) error {
		bk, err := GetBucket(r, "ns", bucket)
		if err != nil {
			return err
		}
		v, err := GetObject(r, bk.GetId(), key, false)
		id = v.GetVersionId()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func countRequestRecords(t *testing.T, f *FSM) (ids, index int) {
	t.Helper()
	for _, e := range dumpStore(t, f.Store) {
		switch {
		case len(e.k) >= len(TagRequestID) && e.k[:len(TagRequestID)] == TagRequestID:
			ids++
		case len(e.k) >= len(tagRequestAt) && e.k[:len(tagRequestAt)] == tagRequestAt:
			index++
		}
	}
	return ids, index
}

func TestDedupeLateDuplicatePutKeepsOverwrite(t *testing.T) {
	f, c := newTestFSM(t), newDedupeLog()
	mustApply(t, f, c.add(t, fsmtest.CreateBucketOp("ns", "b", 1)))
	first := addReq(t, c, fsmtest.PutOp("ns", "b", "key-3", "v1"), testRequestID(1), time.Second)
	mustApply(t, f, first)
	mustApply(t, f, addReq(t, c, fsmtest.PutOp("ns", "b", "key-3", "v2"), testRequestID(2), time.Second))
	mustApply(t, f, addReq(t, c, fsmtest.PutOp("ns", "b", "key-3", "v3"), testRequestID(3), time.Second))
	before := dumpStore(t, f.Store)

	// The first attempt, delivered late and proposed again on another leader.
	late := addReq(t, c, fsmtest.PutOp("ns", "b", "key-3", "v1"), testRequestID(1), 30*time.Second)
	if err := applyOne(f, late); err != nil {
		t.Fatalf("late duplicate: %v, want success", err)
	}
	if got := currentVersion(t, f, "b", "key-3"); got != "v3" {
		t.Fatalf("current version after late duplicate = %q, want v3", got)
	}
	if after := dumpStore(t, f.Store); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("a duplicate changed the state")
	}
}

func TestDedupeLateDuplicateDeleteKeepsNewerVersion(t *testing.T) {
	f, c := newTestFSM(t), newDedupeLog()
	mustApply(t, f, c.add(t, fsmtest.CreateBucketOp("ns", "b", 1)))
	mustApply(t, f, addReq(t, c, fsmtest.PutOp("ns", "b", "k", "v1", "d1", "d2"), testRequestID(1), 0))
	del := &cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: "b", Key: "k"}
	mustApply(t, f, addReq(t, c, del, testRequestID(2), 0))
	mustApply(t, f, addReq(t, c, fsmtest.PutOp("ns", "b", "k", "v2", "d1", "d2"), testRequestID(3), 0))
	gc := gcQueue(t, f.Store)

	mustApply(t, f, addReq(t, c, del, testRequestID(2), time.Minute))
	if got := currentVersion(t, f, "b", "k"); got != "v2" {
		t.Fatalf("current version after late duplicate delete = %q, want v2", got)
	}
	if got := gcQueue(t, f.Store); fmt.Sprint(got) != fmt.Sprint(gc) {
		t.Fatalf("GC queue changed by a duplicate: %v, was %v", got, gc)
	}
}

func TestDedupeRefusesStaleRequest(t *testing.T) {
	f, c := newTestFSM(t), newDedupeLog()
	mustApply(t, f, c.add(t, fsmtest.CreateBucketOp("ns", "b", 1)))
	before := dumpStore(t, f.Store)
	err := applyOne(f, addReq(t, c, fsmtest.PutOp("ns", "b", "k", "v1"), testRequestID(1), staleWindow+time.Millisecond))
	fsmtest.WantErr(t, err, rpcerr.ErrInvalidArgument)
	if after := dumpStore(t, f.Store); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("a stale request wrote state")
	}
	// Exactly at the window it is still applied.
	mustApply(t, f, addReq(t, c, fsmtest.PutOp("ns", "b", "k", "v2"), testRequestID(2), staleWindow))
	if got := currentVersion(t, f, "b", "k"); got != "v2" {
		t.Fatalf("current version = %q, want v2", got)
	}
}

// A data node's own reports are applied however late: a node whose clock
// runs behind must not look dead.
func TestDedupeStaleNodeReportsStillApply(t *testing.T) {
	f, c := newTestFSM(t), newDedupeLog()
	reg := &cairnpb.RegisterNodeCmd{Node: &cairnpb.DataNode{Id: "d1", Addr: "a:1"}}
	mustApply(t, f, addReq(t, c, reg, testRequestID(1), 10*staleWindow))
	mustApply(t, f, addReq(t, c, &cairnpb.HeartbeatCmd{NodeId: "d1", UsedBytes: 7}, testRequestID(2), 10*staleWindow))
}

func TestDedupeFailedApplyIsNotRecorded(t *testing.T) {
	f, c := newTestFSM(t), newDedupeLog()
	put := fsmtest.PutOp("ns", "b", "k", "v1")
	fsmtest.WantErr(t, applyOne(f, addReq(t, c, put, testRequestID(1), 0)), rpcerr.ErrBucketNotFound)
	if ids, index := countRequestRecords(t, f); ids != 0 || index != 0 {
		t.Fatalf("failed apply left %d records, %d index entries", ids, index)
	}
	mustApply(t, f, c.add(t, fsmtest.CreateBucketOp("ns", "b", 1)))
	mustApply(t, f, addReq(t, c, put, testRequestID(1), time.Second))
	if got := currentVersion(t, f, "b", "k"); got != "v1" {
		t.Fatalf("retry after a refused apply: current version %q, want v1", got)
	}
}

func TestDedupeRecordsExpire(t *testing.T) {
	f, c := newTestFSM(t), newDedupeLog()
	mustApply(t, f, c.add(t, fsmtest.CreateBucketOp("ns", "b", 1)))
	const old = 20
	for i := 0; i < old; i++ {
		mustApply(t, f, addReq(t, c, fsmtest.PutOp("ns", "b", "k", fmt.Sprint("v", i)), testRequestID(i), 0))
	}
	if ids, index := countRequestRecords(t, f); ids != old || index != old {
		t.Fatalf("%d records, %d index entries, want %d each", ids, index, old)
	}
	c.now += int64(dedupeRetention)
	// Each recorded apply forgets at most dedupePrunePerApply expired records.
	for i := 0; i < 3; i++ {
		mustApply(t, f, addReq(t, c, fsmtest.PutOp("ns", "b", "k", fmt.Sprint("new", i)), testRequestID(100+i), 0))
		wantLeft := max(old-(i+1)*dedupePrunePerApply, 0) + i + 1
		if ids, index := countRequestRecords(t, f); ids != wantLeft || index != wantLeft {
			t.Fatalf("after apply %d: %d records, %d index entries, want %d", i, ids, index, wantLeft)
		}
	}
	// A forgotten request is past the stale window: refused, not applied again.
	late := addReq(t, c, fsmtest.PutOp("ns", "b", "k", "v0"), testRequestID(0), dedupeRetention)
	fsmtest.WantErr(t, applyOne(f, late), rpcerr.ErrInvalidArgument)
	if got := currentVersion(t, f, "b", "k"); got != "new2" {
		t.Fatalf("current version = %q, want new2", got)
	}
}

func TestDedupeDeterministicAcrossBatching(t *testing.T) {
	c := newDedupeLog()
	c.add(t, fsmtest.CreateBucketOp("ns", "b", 1))
	for i := 0; i < 40; i++ {
		id := testRequestID(i % 13) // repeats: duplicates, some past expiry
		age := time.Duration(i%5) * 40 * time.Second
		addReq(t, c, fsmtest.PutOp("ns", "b", fmt.Sprint("k", i%7), fmt.Sprint("v", i)), id, age)
		if i%9 == 0 {
			addReq(t, c, &cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: "b", Key: fmt.Sprint("k", i%7)}, testRequestID(500+i), 0)
		}
		c.now += int64(20 * time.Second)
	}
	one, batched := newTestFSM(t), newTestFSM(t)
	var respOne []string
	for _, l := range c.logs {
		respOne = append(respOne, fmt.Sprint(one.Apply(l)))
	}
	var respBatched []string
	for _, r := range batched.ApplyBatch(c.logs) {
		respBatched = append(respBatched, fmt.Sprint(r))
	}
	if fmt.Sprint(respOne) != fmt.Sprint(respBatched) {
		t.Fatalf("responses differ:\none by one %v\nbatched    %v", respOne, respBatched)
	}
	a, b := dumpStore(t, one.Store), dumpStore(t, batched.Store)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("state differs between one-by-one and batched apply")
	}
	refused := 0
	for _, r := range respOne {
		if r != "<nil>" {
			refused++
		}
	}
	if refused == 0 || refused == len(respOne) {
		t.Fatalf("%d of %d commands refused; the log should mix applied and stale ones", refused, len(respOne))
	}
}

// TestDedupeSurvivesSnapshot checks that request records travel in Raft
// snapshots: a node restored from one still refuses to apply a duplicate.
func TestDedupeSurvivesSnapshot(t *testing.T) {
	src, c := newTestFSM(t), newDedupeLog()
	mustApply(t, src, c.add(t, fsmtest.CreateBucketOp("ns", "b", 1)))
	mustApply(t, src, addReq(t, c, fsmtest.PutOp("ns", "b", "k", "v1"), testRequestID(1), 0))
	mustApply(t, src, addReq(t, c, fsmtest.PutOp("ns", "b", "k", "v2"), testRequestID(2), 0))
	dst := newTestFSM(t)
	if err := dst.Restore(io.NopCloser(bytes.NewReader(snapshotOf(t, src)))); err != nil {
		t.Fatal(err)
	}
	mustApply(t, dst, addReq(t, c, fsmtest.PutOp("ns", "b", "k", "v1"), testRequestID(1), time.Second))
	if got := currentVersion(t, dst, "b", "k"); got != "v2" {
		t.Fatalf("restored node applied a duplicate: current version %q, want v2", got)
	}
}

// Records of one instant are all pruned, though each apply forgets only
// dedupePrunePerApply of them: the next prune starts at the instant of
// the last one pruned (r/pruned), not after it.
func TestDedupePruneSameInstant(t *testing.T) {
	f, c := newTestFSM(t), newDedupeLog()
	mustApply(t, f, c.add(t, fsmtest.CreateBucketOp("ns", "b", 1)))
	const old = 20
	instant := c.now + 1_000_000
	for i := 0; i < old; i++ {
		l := addReq(t, c, fsmtest.PutOp("ns", "b", "k", fmt.Sprint("v", i)), testRequestID(i), 0)
		cmd := &cairnpb.Command{}
		if err := proto.Unmarshal(l.Data, cmd); err != nil {
			t.Fatal(err)
		}
		cmd.UnixNano, cmd.RequestStartUnixNano = instant, instant
		data, err := proto.Marshal(cmd)
		if err != nil {
			t.Fatal(err)
		}
		l.Data = data
		mustApply(t, f, l)
	}
	c.now += int64(dedupeRetention)
	for i := 0; i < 3; i++ {
		mustApply(t, f, addReq(t, c, fsmtest.PutOp("ns", "b", "k", fmt.Sprint("new", i)), testRequestID(100+i), 0))
	}
	if ids, index := countRequestRecords(t, f); ids != 3 || index != 3 {
		t.Fatalf("%d records, %d index entries left, want the 3 new ones", ids, index)
	}
	var v string
	for _, e := range dumpStore(t, f.Store) {
		if e.k == keyPrunedTo {
			v = e.v
		}
	}
	if len(v) != 8 || int64(binary.BigEndian.Uint64([]byte(v))) != instant {
		t.Fatalf("r/pruned = %x, want the old records' instant", v)
	}
}
