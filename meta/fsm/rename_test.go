package fsm

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func renameOp(src, dst string) *cairnpb.RenameObjectCmd {
	return &cairnpb.RenameObjectCmd{Namespace: "ns", Bucket: "b", Source: src, NewName: dst}
}

// TestRenameMovesWithoutFreeing: a rename moves the version record and
// its inline bytes to the new name and frees nothing of it; the version
// the new name held before is freed as an overwrite frees it.
func TestRenameMovesWithoutFreeing(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f,
		fsmtest.CreateBucketOp("ns", "b", 1),
		fsmtest.PutOp("ns", "b", "inline", "v1"),
		fsmtest.PutOp("ns", "b", "sharded", "v2", "n1", "n2"),
		fsmtest.PutOp("ns", "b", "taken", "v3", "n3"),
	)
	for _, tc := range []struct{ src, dst string }{{"inline", "inline2"}, {"sharded", "sharded2"}} {
		before := readObject(t, f, tc.src)
		gcBefore := strings.Join(gcQueue(t, f.Store), " ")
		c.mustApply(t, f, renameOp(tc.src, tc.dst))
		if readObject(t, f, tc.src) != nil {
			t.Fatalf("%s is still there after its rename", tc.src)
		}
		after := readObject(t, f, tc.dst)
		if after.GetKey() != tc.dst {
			t.Fatalf("%s: moved record has key %q", tc.dst, after.GetKey())
		}
		after.Key = tc.src
		if !proto.Equal(before, after) {
			t.Fatalf("%s: the rename changed the version:\n%v\n%v", tc.src, before, after)
		}
		if gc := strings.Join(gcQueue(t, f.Store), " "); gc != gcBefore {
			t.Fatalf("%s: the rename freed shards: %q", tc.src, gc)
		}
	}
	// Onto an existing name: that name's version is freed, as an overwrite's.
	c.mustApply(t, f, renameOp("sharded2", "taken"))
	if v := readObject(t, f, "taken"); v.GetVersionId() != "v2" {
		t.Fatalf("taken holds %v", v)
	}
	if gc := strings.Join(gcQueue(t, f.Store), " "); !strings.Contains(gc, "n3") || strings.Contains(gc, "n1") {
		t.Fatalf("gc queue after renaming onto taken: %q", gc)
	}
	// And an inline version onto a sharded one, and back onto nothing.
	c.mustApply(t, f, renameOp("inline2", "taken"))
	if v := readObject(t, f, "taken"); string(v.GetInlineData()) != "inline:inline" {
		t.Fatalf("taken holds %v", v)
	}

	wantUnchanged(t, f, &c, renameOp("missing", "x"), rpcerr.ErrObjectNotFound)
	wantUnchanged(t, f, &c, &cairnpb.RenameObjectCmd{Namespace: "ns", Bucket: "nope", Source: "taken", NewName: "x"}, rpcerr.ErrBucketNotFound)
	c.mustApply(t, f, fsmtest.PutOp("ns", "b", "other", "v4"))
	cond := renameOp("taken", "other")
	cond.NewNameCondition = ifNoneMatch
	wantUnchanged(t, f, &c, cond, rpcerr.ErrPreconditionFailed)
	cond = renameOp("taken", "fresh")
	cond.SourceCondition = ifMatch("e-v9")
	wantUnchanged(t, f, &c, cond, rpcerr.ErrPreconditionFailed)
	cond.SourceCondition = ifMatch("e-v1")
	c.mustApply(t, f, cond)
	if readObject(t, f, "fresh") == nil || readObject(t, f, "taken") != nil {
		t.Fatal("a conditional rename whose conditions hold did not happen")
	}
	c.mustApply(t, f, versioningOp(VersioningEnabled))
	wantUnchanged(t, f, &c, renameOp("fresh", "again"), rpcerr.ErrInvalidArgument)
}
