package fsm

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func objTagsOp(bucket, key string, kv ...string) *cairnpb.SetObjectTagsCmd {
	return &cairnpb.SetObjectTagsCmd{Namespace: "ns", Bucket: bucket, Key: key, Tags: fsmtest.TagMap(kv...)}
}

// condPut is putOp with a write condition.
func condPut(key, version string, cond *cairnpb.WriteCondition, nodes ...string) *cairnpb.PutObjectCmd {
	op := fsmtest.PutOp("ns", "b", key, version, nodes...)
	op.Condition = cond
	return op
}

var ifNoneMatch = &cairnpb.WriteCondition{IfNoneMatch: true}

func ifMatch(etag string) *cairnpb.WriteCondition { return &cairnpb.WriteCondition{IfMatchEtag: etag} }

func readObject(t *testing.T, f *FSM, key string) *cairnpb.ObjectVersion {
	t.Helper()
	var v *cairnpb.ObjectVersion
	err := f.Store.View(func(r pebble.Reader) (err error) {
		v, err = GetObject(r, fsmtest.BucketID(1), key, true)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantUnchanged applies op, expects want, and checks that nothing changed.
func wantUnchanged(t *testing.T, f *FSM, c *cmdLog, op any, want error) {
	t.Helper()
	before := fmt.Sprint(dumpStore(t, f.Store))
	fsmtest.WantErr(t, c.apply(t, f, op), want)
	if after := fmt.Sprint(dumpStore(t, f.Store)); after != before {
		t.Fatalf("%T failing with %v changed the state", op, want)
	}
}

func TestSetObjectTagsChangesOnlyTags(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f,
		fsmtest.CreateBucketOp("ns", "b", 1),
		fsmtest.PutOp("ns", "b", "inline", "v1"),
		fsmtest.PutOp("ns", "b", "sharded", "v2", "n1", "n2"),
	)
	for _, key := range []string{"inline", "sharded"} {
		before := readObject(t, f, key)
		gcBefore := strings.Join(gcQueue(t, f.Store), " ")
		c.mustApply(t, f, objTagsOp("b", key, "color", "blue", "size", ""))
		after := readObject(t, f, key)
		if got := after.GetTags(); len(got) != 2 || got["color"] != "blue" || got["size"] != "" {
			t.Fatalf("%s: tags %v", key, got)
		}
		after.Tags = nil
		if !proto.Equal(before, after) {
			t.Fatalf("%s: setting tags changed the version:\n%v\n%v", key, before, after)
		}
		if gc := strings.Join(gcQueue(t, f.Store), " "); gc != gcBefore {
			t.Fatalf("%s: setting tags freed shards: %q", key, gc)
		}
		c.mustApply(t, f, objTagsOp("b", key))
		if cleared := readObject(t, f, key); len(cleared.GetTags()) != 0 || !proto.Equal(before, cleared) {
			t.Fatalf("%s: after clearing: %v", key, cleared)
		}
	}
	// A new version replaces the tag set with its own (here: none).
	c.mustApply(t, f, objTagsOp("b", "inline", "a", "1"), fsmtest.PutOp("ns", "b", "inline", "v3"))
	if tags := readObject(t, f, "inline").GetTags(); len(tags) != 0 {
		t.Fatalf("overwritten version kept tags %v", tags)
	}

	wantUnchanged(t, f, &c, objTagsOp("b", "missing", "a", "1"), rpcerr.ErrObjectNotFound)
	wantUnchanged(t, f, &c, objTagsOp("nope", "inline", "a", "1"), rpcerr.ErrBucketNotFound)
	eleven := make([]string, 0, 22)
	for i := range 11 {
		eleven = append(eleven, fmt.Sprint("k", i), "v")
	}
	wantUnchanged(t, f, &c, objTagsOp("b", "inline", eleven...), rpcerr.ErrInvalidArgument)
	wantUnchanged(t, f, &c, objTagsOp("b", "inline", "", "v"), rpcerr.ErrInvalidArgument)
	wantUnchanged(t, f, &c, objTagsOp("b", "inline", strings.Repeat("k", 129), "v"), rpcerr.ErrInvalidArgument)
	wantUnchanged(t, f, &c, objTagsOp("b", "inline", "k", strings.Repeat("v", 257)), rpcerr.ErrInvalidArgument)
	// 128 UTF-16 units of a 2-unit character is too long at 64+1 runes.
	wantUnchanged(t, f, &c, objTagsOp("b", "inline", strings.Repeat("😀", 65), "v"), rpcerr.ErrInvalidArgument)
	c.mustApply(t, f, objTagsOp("b", "inline", strings.Repeat("😀", 64), strings.Repeat("é", 256)))
}

func TestSetBucketTags(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1), fsmtest.PutOp("ns", "b", "k", "v1"))
	bucket := func() *cairnpb.Bucket {
		var bk *cairnpb.Bucket
		if err := f.Store.View(func(r pebble.Reader) (err error) { bk, err = GetBucket(r, "ns", "b"); return err }); err != nil {
			t.Fatal(err)
		}
		return bk
	}
	before := bucket()
	c.mustApply(t, f, bucketTagsOp("b", fsmtest.TagMap("team", "storage", "env", "test")))
	got := bucket()
	if len(got.GetTags()) != 2 || got.GetTags()["team"] != "storage" {
		t.Fatalf("bucket tags %v", got.GetTags())
	}
	got.Tags = nil
	if !proto.Equal(before, got) {
		t.Fatalf("setting tags changed the bucket: %v vs %v", before, got)
	}
	if readObject(t, f, "k") == nil {
		t.Fatal("object lost")
	}
	fifty := map[string]string{}
	for i := range 50 {
		fifty[fmt.Sprint("k", i)] = "v"
	}
	c.mustApply(t, f, bucketTagsOp("b", fifty))
	fifty["one-more"] = "v"
	wantUnchanged(t, f, &c, bucketTagsOp("b", fifty), rpcerr.ErrInvalidArgument)
	wantUnchanged(t, f, &c, bucketTagsOp("nope", fsmtest.TagMap("a", "b")), rpcerr.ErrBucketNotFound)
	c.mustApply(t, f, bucketTagsOp("b", nil))
	if tags := bucket().GetTags(); len(tags) != 0 {
		t.Fatalf("cleared bucket tags: %v", tags)
	}
}

func TestConditionalPut(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1))

	c.mustApply(t, f, condPut("k", "v1", ifNoneMatch, "n1"))
	// Another version under If-None-Match loses and changes nothing.
	wantUnchanged(t, f, &c, condPut("k", "v2", ifNoneMatch, "n2"), rpcerr.ErrPreconditionFailed)
	// The winner's retried commit (its reply was lost) still succeeds.
	c.mustApply(t, f, condPut("k", "v1", ifNoneMatch, "n1"))

	wantUnchanged(t, f, &c, condPut("k", "v3", ifMatch("e-nope")), rpcerr.ErrPreconditionFailed)
	wantUnchanged(t, f, &c, condPut("absent", "v4", ifMatch("e-v1")), rpcerr.ErrObjectNotFound)
	c.mustApply(t, f, condPut("k", "v5", ifMatch("e-v1")))
	if v := readObject(t, f, "k"); v.GetVersionId() != "v5" {
		t.Fatalf("current version %q, want v5", v.GetVersionId())
	}
	if gc := strings.Join(gcQueue(t, f.Store), " "); gc != "n1/v1.0" {
		t.Fatalf("GC queue %q", gc)
	}
	// Both conditions: each must hold.
	wantUnchanged(t, f, &c, condPut("k", "v6", &cairnpb.WriteCondition{IfNoneMatch: true, IfMatchEtag: "e-v5"}), rpcerr.ErrPreconditionFailed)
	// Unconditional writes are untouched by all this.
	c.mustApply(t, f, fsmtest.PutOp("ns", "b", "k", "v7"))
}

// The If-Match: * and If-None-Match: <etag> forms, and conditional
// deletes: a delete whose condition fails changes nothing, in an
// unversioned and in a versioned bucket.
func TestConditionalFormsAndDeletes(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1))
	wantUnchanged(t, f, &c, condPut("k", "v1", &cairnpb.WriteCondition{IfMatchAny: true}), rpcerr.ErrObjectNotFound)
	c.mustApply(t, f, condPut("k", "v1", &cairnpb.WriteCondition{IfNoneMatchEtag: "e-v0"}))
	wantUnchanged(t, f, &c, condPut("k", "v2", &cairnpb.WriteCondition{IfNoneMatchEtag: "e-v1"}), rpcerr.ErrPreconditionFailed)
	c.mustApply(t, f, condPut("k", "v2", &cairnpb.WriteCondition{IfMatchAny: true, IfNoneMatchEtag: "e-v0"}))

	del := func(key string, cond *cairnpb.WriteCondition) *cairnpb.DeleteVersionCmd {
		d := delOp(key, "")
		d.Condition = cond
		return d
	}
	wantUnchanged(t, f, &c, del("k", ifMatch("e-v1")), rpcerr.ErrPreconditionFailed)
	wantUnchanged(t, f, &c, del("absent", &cairnpb.WriteCondition{IfMatchAny: true}), rpcerr.ErrObjectNotFound)
	c.mustApply(t, f, del("k", ifMatch("e-v2")))
	if v := readObject(t, f, "k"); v != nil {
		t.Fatalf("k outlived a delete whose condition held: %v", v)
	}

	// Versioned: the condition is decided on the current version, and a
	// delete marker is no current version.
	c.mustApply(t, f, versioningOp(VersioningEnabled), fsmtest.PutOp("ns", "b", "w", "w1"))
	wantUnchanged(t, f, &c, del("w", ifMatch("e-nope")), rpcerr.ErrPreconditionFailed)
	c.mustApply(t, f, del("w", &cairnpb.WriteCondition{IfMatchAny: true}))
	wantUnchanged(t, f, &c, del("w", &cairnpb.WriteCondition{IfMatchAny: true}), rpcerr.ErrObjectNotFound)
}

// Racing If-None-Match writes of one key, applied in one Raft batch or one
// by one: the first in log order wins, every other one fails, and both
// ways end in the same state.
func TestConditionalPutRace(t *testing.T) {
	var c cmdLog
	c.add(t, fsmtest.CreateBucketOp("ns", "b", 1))
	for i := range 8 {
		c.add(t, condPut("k", fmt.Sprint("v", i), ifNoneMatch, fmt.Sprint("n", i)))
	}
	one, batched := newTestFSM(t), newTestFSM(t)
	var oneResps []any
	for _, l := range c.logs {
		oneResps = append(oneResps, one.Apply(l))
	}
	batchResps := batched.ApplyBatch(c.logs)
	for i := range oneResps {
		if fmt.Sprint(oneResps[i]) != fmt.Sprint(batchResps[i]) {
			t.Fatalf("entry %d: %v vs %v", i, oneResps[i], batchResps[i])
		}
	}
	for i, r := range batchResps[1:] {
		if i == 0 && r != nil {
			t.Fatalf("first write failed: %v", r)
		}
		if i > 0 {
			fsmtest.WantErr(t, r.(error), rpcerr.ErrPreconditionFailed)
		}
	}
	if v := readObject(t, batched, "k"); v.GetVersionId() != "v0" {
		t.Fatalf("winner %q, want v0", v.GetVersionId())
	}
	if len(gcQueue(t, batched.Store)) != 0 {
		t.Fatal("losing writes touched the GC queue")
	}
	if a, b := dumpStore(t, one.Store), dumpStore(t, batched.Store); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("states differ")
	}
}

func TestConditionalCompleteAndUploadTags(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	up := createUploadOp("b", "k", 1)
	up.Upload.Tags = fsmtest.TagMap("from", "upload")
	c.mustApply(t, f,
		fsmtest.CreateBucketOp("ns", "b", 1),
		fsmtest.PutOp("ns", "b", "k", "v0"),
		up,
		fsmtest.PartOp("b", "k", 1, 1, 10, "p1"),
	)
	done := completeOp("b", "k", 1, "mpv", fsmtest.Listed(1, "p1"))
	done.Condition = ifNoneMatch
	wantUnchanged(t, f, &c, done, rpcerr.ErrPreconditionFailed)
	mismatch := completeOp("b", "k", 1, "mpv", fsmtest.Listed(1, "p1"))
	mismatch.Condition = ifMatch("e-other")
	wantUnchanged(t, f, &c, mismatch, rpcerr.ErrPreconditionFailed)
	// The upload survived both failures; the matching condition completes.
	match := completeOp("b", "k", 1, "mpv", fsmtest.Listed(1, "p1"))
	match.Condition = ifMatch("e-v0")
	c.mustApply(t, f, match)
	v := readObject(t, f, "k")
	if v.GetVersionId() != "mpv" || v.GetTags()["from"] != "upload" || len(v.GetTags()) != 1 {
		t.Fatalf("completed version %v", v)
	}
	// If-None-Match on a free key completes too.
	c.mustApply(t, f, createUploadOp("b", "fresh", 2), fsmtest.PartOp("b", "fresh", 2, 1, 3, "q1"))
	fresh := completeOp("b", "fresh", 2, "mpf", fsmtest.Listed(1, "q1"))
	fresh.Condition = ifNoneMatch
	c.mustApply(t, f, fresh)
}

// A mixed log of conditional writes, tag changes and conditional
// completions gives the same answers and state applied entry by entry or
// in batches.
func TestTaggingAndConditionsDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	c := &cmdLog{}
	c.add(t, fsmtest.CreateBucketOp("ns", "b", 1))
	for i := range 2000 {
		key := fmt.Sprint("k", rng.IntN(6))
		version := fmt.Sprint("v", i)
		var cond *cairnpb.WriteCondition
		switch rng.IntN(3) {
		case 0:
			cond = ifNoneMatch
		case 1:
			cond = ifMatch(fmt.Sprint("e-v", max(0, i-rng.IntN(20))))
		}
		switch rng.IntN(9) {
		case 0, 1, 2:
			c.add(t, condPut(key, version, cond, "n1", "n2"))
		case 3:
			c.add(t, condPut(key, version, cond))
		case 4:
			c.add(t, objTagsOp("b", key, "i", fmt.Sprint(i)))
		case 5:
			c.add(t, bucketTagsOp("b", fsmtest.TagMap("i", fmt.Sprint(i))))
		case 6:
			c.add(t, &cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: "b", Key: key})
		case 7:
			up := createUploadOp("b", key, i)
			up.Upload.Tags = fsmtest.TagMap("u", fmt.Sprint(i))
			c.add(t, up)
			c.add(t, fsmtest.PartOp("b", key, i, 1, 5, fmt.Sprint("p", i)))
		case 8:
			id := max(0, i-rng.IntN(10))
			done := completeOp("b", key, id, version, fsmtest.Listed(1, fmt.Sprint("p", id)))
			done.Condition = cond
			c.add(t, done)
		}
	}
	_, resps := applyBothWays(t, c.logs, rng, 40)
	counts := outcomeCounts(resps)
	t.Logf("outcomes: %v", counts)
	if counts["ok"] == 0 || len(counts) < 4 {
		t.Fatalf("the log exercises too little: %v", counts)
	}
}

func bucketTagsOp(bucket string, tags map[string]string) *cairnpb.SetBucketConfigCmd {
	return fsmtest.ConfigOp("ns", bucket, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Tags{Tags: &cairnpb.BucketTagsConfig{Tags: tags}}})
}
