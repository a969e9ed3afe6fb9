package fsm

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

const second = int64(time.Second)

func lockedBucketOp(id byte) *cairnpb.CreateBucketCmd {
	op := fsmtest.CreateBucketOp("ns", "b", id)
	op.Bucket.ObjectLockEnabled = true
	return op
}

func lockedPut(key, version, mode string, until int64, hold bool, nodes ...string) *cairnpb.PutObjectCmd {
	op := fsmtest.PutOp("ns", "b", key, version, nodes...)
	op.Version.Lock = &cairnpb.ObjectLock{Mode: mode, RetainUntilUnixNano: until, LegalHold: hold}
	return op
}

func retentionOp(key, version, mode string, until int64, bypass bool) *cairnpb.SetVersionLockCmd {
	return &cairnpb.SetVersionLockCmd{Namespace: "ns", Bucket: "b", Key: key, VersionId: version,
		Retention: &cairnpb.Retention{Mode: mode, RetainUntilUnixNano: until}, BypassGovernance: bypass}
}

func holdOp(key, version string, on bool) *cairnpb.SetVersionLockCmd {
	return &cairnpb.SetVersionLockCmd{Namespace: "ns", Bucket: "b", Key: key, VersionId: version, LegalHold: proto.Bool(on)}
}

func bypassDel(key, version string) *cairnpb.DeleteVersionCmd {
	op := delOp(key, version)
	op.BypassGovernance = true
	return op
}

// TestObjectLockCompliance: a COMPLIANCE version survives every removal
// until its date, whatever the command says, and goes after it.
func TestObjectLockCompliance(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, lockedBucketOp(1))
	if bk := bucketOf(t, f); bk.GetVersioning() != VersioningEnabled || !bk.GetObjectLockEnabled() {
		t.Fatalf("locked bucket %v: versioning must be Enabled", bk)
	}
	until := c.now + 100*second
	c.mustApply(t, f, lockedPut("k", "v1", lockCompliance, until, false, "n1"))

	fsmtest.WantErr(t, c.apply(t, f, delOp("k", "v1")), rpcerr.ErrObjectLocked)
	fsmtest.WantErr(t, c.apply(t, f, bypassDel("k", "v1")), rpcerr.ErrObjectLocked)
	fsmtest.WantErr(t, c.apply(t, f, versioningOp(VersioningSuspended)), rpcerr.ErrInvalidBucketState)
	// Shortening, removing or weakening the retention is refused, even with bypass.
	fsmtest.WantErr(t, c.apply(t, f, retentionOp("k", "v1", lockCompliance, until-second, true)), rpcerr.ErrObjectLocked)
	fsmtest.WantErr(t, c.apply(t, f, retentionOp("k", "v1", lockGovernance, until+second, true)), rpcerr.ErrObjectLocked)
	fsmtest.WantErr(t, c.apply(t, f, retentionOp("k", "v1", "", 0, true)), rpcerr.ErrObjectLocked)
	// Overwrites and simple deletes keep it as noncurrent.
	c.mustApply(t, f, fsmtest.PutOp("ns", "b", "k", "v2"), delOp("k", ""))
	if v, err := find(t, f, "k", "v1"); err != nil || v.GetLock().GetMode() != lockCompliance {
		t.Fatalf("v1 after overwrite and delete: %v %v", v, err)
	}
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.DeleteBucketCmd{Namespace: "ns", Name: "b"}), rpcerr.ErrBucketNotEmpty)
	// Extending is allowed.
	until += 50 * second
	c.mustApply(t, f, retentionOp("k", "v1", lockCompliance, until, false))
	if q := gcQueue(t, f.Store); len(q) != 0 {
		t.Fatalf("locked shards queued for GC: %v", q)
	}

	// After the date, it goes.
	c.now = until
	c.mustApply(t, f, delOp("k", "v1"))
	if q := gcQueue(t, f.Store); !slices.Equal(q, []string{"n1/v1.0"}) {
		t.Fatalf("gc queue %v", q)
	}
}

// TestObjectLockGovernance: GOVERNANCE yields to bypass_governance only.
func TestObjectLockGovernance(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, lockedBucketOp(1))
	until := c.now + 100*second
	c.mustApply(t, f, lockedPut("k", "v1", lockGovernance, until, false), lockedPut("k", "v2", lockGovernance, until, false))
	fsmtest.WantErr(t, c.apply(t, f, delOp("k", "v1")), rpcerr.ErrObjectLocked)
	fsmtest.WantErr(t, c.apply(t, f, retentionOp("k", "v1", lockGovernance, until-second, false)), rpcerr.ErrObjectLocked)
	c.mustApply(t, f, retentionOp("k", "v1", lockGovernance, until+second, false)) // extending
	c.mustApply(t, f, retentionOp("k", "v1", lockGovernance, until-second, true))  // shortening, bypassed
	c.mustApply(t, f, bypassDel("k", "v1"))
	if _, err := find(t, f, "k", "v1"); err == nil {
		t.Fatal("v1 survived a bypassed delete")
	}
	// Removing a GOVERNANCE retention with bypass unlocks the version.
	c.mustApply(t, f, retentionOp("k", "v2", "", 0, true), delOp("k", "v2"))
}

// TestObjectLockLegalHold: a legal hold blocks removal, bypass or not,
// until it is removed; it needs no retention.
func TestObjectLockLegalHold(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, lockedBucketOp(1), fsmtest.PutOp("ns", "b", "k", "v1"), holdOp("k", "v1", true))
	fsmtest.WantErr(t, c.apply(t, f, delOp("k", "v1")), rpcerr.ErrObjectLocked)
	fsmtest.WantErr(t, c.apply(t, f, bypassDel("k", "v1")), rpcerr.ErrObjectLocked)
	c.mustApply(t, f, holdOp("k", "v1", false), delOp("k", "v1"))
}

// TestObjectLockNeedsLockedBucket: locks are refused outside a bucket
// with object lock, and object lock needs versioning Enabled.
func TestObjectLockNeedsLockedBucket(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1), fsmtest.PutOp("ns", "b", "k", "v1"))
	fsmtest.WantErr(t, c.apply(t, f, lockedPut("k", "v2", lockCompliance, c.now+second, false)), rpcerr.ErrNoObjectLock)
	fsmtest.WantErr(t, c.apply(t, f, holdOp("k", "v1", true)), rpcerr.ErrNoObjectLock)
	cfg := lockConfigOp(
		&cairnpb.DefaultRetention{Mode: lockCompliance, Days: 1})
	fsmtest.WantErr(t, c.apply(t, f, cfg), rpcerr.ErrInvalidBucketState)
	c.mustApply(t, f, versioningOp(VersioningEnabled), cfg)
	// Default retention: one day from the write.
	c.mustApply(t, f, fsmtest.PutOp("ns", "b", "k", "v3"))
	v := current(t, f, "k")
	if l := v.GetLock(); l.GetMode() != lockCompliance || l.GetRetainUntilUnixNano() != c.now+24*int64(time.Hour) {
		t.Fatalf("default retention gave %v", l)
	}
	fsmtest.WantErr(t, c.apply(t, f, delOp("k", "v3")), rpcerr.ErrObjectLocked)
	bad := lockConfigOp(
		&cairnpb.DefaultRetention{Mode: lockCompliance, Days: 1, Years: 1})
	fsmtest.WantErr(t, c.apply(t, f, bad), rpcerr.ErrInvalidArgument)
}

func bucketOf(t *testing.T, f *FSM) *cairnpb.Bucket {
	t.Helper()
	var bk *cairnpb.Bucket
	if err := f.Store.View(func(r pebble.Reader) error {
		var err error
		bk, err = GetBucket(r, "ns", "b")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return bk
}

// TestObjectLockMultipart: an upload carries the lock its initiation
// asked for to the object it completes into; without one, the object gets
// the bucket's default retention, dated at completion.
func TestObjectLockMultipart(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "plain", 2))
	held := createUploadOp("plain", "k", 1)
	held.Upload.Lock = &cairnpb.ObjectLock{LegalHold: true}
	fsmtest.WantErr(t, c.apply(t, f, held), rpcerr.ErrNoObjectLock)

	c.mustApply(t, f, lockedBucketOp(1))
	held.Bucket = "b"
	c.mustApply(t, f, held, fsmtest.PartOp("b", "k", 1, 1, 10, "p1"), completeOp("b", "k", 1, "v1", fsmtest.Listed(1, "p1")))
	if l := current(t, f, "k").GetLock(); !l.GetLegalHold() || l.GetMode() != "" {
		t.Fatalf("completed held upload has lock %v", l)
	}
	fsmtest.WantErr(t, c.apply(t, f, delOp("k", "v1")), rpcerr.ErrObjectLocked)

	c.mustApply(t, f, lockConfigOp(
		&cairnpb.DefaultRetention{Mode: lockGovernance, Years: 1}))
	c.mustApply(t, f, createUploadOp("b", "k", 2), fsmtest.PartOp("b", "k", 2, 1, 10, "p2"))
	c.mustApply(t, f, completeOp("b", "k", 2, "v2", fsmtest.Listed(1, "p2")))
	want := time.Unix(0, c.now).UTC().AddDate(1, 0, 0).UnixNano()
	if l := current(t, f, "k").GetLock(); l.GetMode() != lockGovernance || l.GetRetainUntilUnixNano() != want {
		t.Fatalf("completed upload under default retention has lock %v", l)
	}
}

// TestVersionShardsFreedOnlyByRemoveVersion: the shards of a whole
// version (versionRefs) reach the GC queue (enqueueRefs) only through
// removeVersion, the gate that
// refuses locked versions, so a new removal path cannot skip the check by
// queueing a version's shards itself.
func TestVersionShardsFreedOnlyByRemoveVersion(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		for _, file := range pkg.Files {
			for _, decl := range file.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Name.Name == "removeVersion" {
					continue
				}
				ast.Inspect(fn, func(n ast.Node) bool {
					if isCallTo(n, "enqueueRefs") {
						ast.Inspect(n, func(arg ast.Node) bool {
							if isCallTo(arg, "versionRefs") {
								t.Errorf("%s: %s queues a version's shards for GC without removeVersion", fset.Position(arg.Pos()), fn.Name.Name)
							}
							return true
						})
					}
					return true
				})
			}
		}
	}
}

func isCallTo(n ast.Node, name string) bool {
	call, ok := n.(*ast.CallExpr)
	if !ok {
		return false
	}
	id, ok := call.Fun.(*ast.Ident)
	return ok && id.Name == name
}

func lockConfigOp(def *cairnpb.DefaultRetention) *cairnpb.SetBucketConfigCmd {
	return fsmtest.ConfigOp("ns", "b", &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_ObjectLock{ObjectLock: &cairnpb.ObjectLockConfig{DefaultRetention: def}}})
}
