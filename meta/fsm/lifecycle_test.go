package fsm

import (
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// indexEntries returns the expiry index of bucket id as "key@version".
func indexEntries(t *testing.T, f *FSM, id []byte) []string {
	t.Helper()
	var out []string
	base := LifecycleIndexPrefix(id)
	err := f.Store.View(func(r pebble.Reader) error {
		return Scan(r, base, func(k, _ []byte) (bool, error) {
			e, ok := SplitLifecycleKey(k, len(base))
			if !ok {
				t.Fatalf("malformed index key %q", k)
			}
			out = append(out, e.Key+"@"+e.VersionID)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func expireOp(key, version string, a cairnpb.LifecycleExpireCmd_Action) *cairnpb.LifecycleExpireCmd {
	return &cairnpb.LifecycleExpireCmd{Namespace: "ns", Bucket: "b", Key: key, VersionId: version, Action: a}
}

// TestLifecycleIndexFollowsVersions: every version and delete marker has
// one index entry from the apply that makes it to the one that removes
// it, in creation order.
func TestLifecycleIndexFollowsVersions(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1))
	id := fsmtest.BucketID(1)
	c.mustApply(t, f, fsmtest.PutOp("ns", "b", "a", "v1"), fsmtest.PutOp("ns", "b", "a", "v2"), fsmtest.PutOp("ns", "b", "z", "v3"))
	if got := fmt.Sprint(indexEntries(t, f, id)); got != "[a@v2 z@v3]" {
		t.Fatalf("unversioned: index %s", got)
	}
	// The retried commit of v4 (at a later time) leaves one entry.
	c.mustApply(t, f, versioningOp(VersioningEnabled), fsmtest.PutOp("ns", "b", "a", "v4"), fsmtest.PutOp("ns", "b", "a", "v4"),
		&cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: "b", Key: "z"})
	got := indexEntries(t, f, id)
	if len(got) != 4 || got[0] != "a@v2" || got[1] != "z@v3" || got[2] != "a@v4" {
		t.Fatalf("versioned: index %v", got)
	}
	marker := got[3]
	c.mustApply(t, f, delOp("a", "v4"), delOp("z", marker[len("z@"):]))
	if got := fmt.Sprint(indexEntries(t, f, id)); got != "[a@v2 z@v3]" {
		t.Fatalf("after removals: index %s", got)
	}
}

// TestLifecycleExpireApply: the removal command acts only while what the
// job saw still holds, goes through the normal paths, and yields to
// object lock.
func TestLifecycleExpireApply(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, lockedBucketOp(1))
	id := fsmtest.BucketID(1)
	until := c.now + 1000*second
	c.mustApply(t, f, lockedPut("kept", "v1", lockCompliance, until, false), fsmtest.PutOp("ns", "b", "free", "v2"))

	// Expiring a version that is no longer current does nothing.
	c.mustApply(t, f, expireOp("free", "other", cairnpb.LifecycleExpireCmd_EXPIRE_CURRENT))
	if v, err := find(t, f, "free", "v2"); err != nil || v == nil {
		t.Fatalf("free v2 after a stale expiry: %v %v", v, err)
	}
	// Expiring the current version puts a delete marker over it, locked or not.
	c.mustApply(t, f, expireOp("kept", "v1", cairnpb.LifecycleExpireCmd_EXPIRE_CURRENT),
		expireOp("free", "v2", cairnpb.LifecycleExpireCmd_EXPIRE_CURRENT))
	for _, k := range []string{"kept", "free"} {
		vs := versionsOf(t, f, id, k)
		if len(vs) != 2 || !vs[0].GetDeleteMarker() {
			t.Fatalf("%s after expiry: %v", k, vs)
		}
	}
	// The noncurrent free version goes; the COMPLIANCE one is refused.
	c.mustApply(t, f, expireOp("free", "v2", cairnpb.LifecycleExpireCmd_REMOVE_NONCURRENT))
	fsmtest.WantErr(t, c.apply(t, f, expireOp("kept", "v1", cairnpb.LifecycleExpireCmd_REMOVE_NONCURRENT)), rpcerr.ErrObjectLocked)
	if vs := versionsOf(t, f, id, "kept"); len(vs) != 2 || vs[1].GetVersionId() != "v1" {
		t.Fatalf("kept after a refused removal: %v", vs)
	}
	// The marker left alone goes; the one over a kept version does not.
	free := versionsOf(t, f, id, "free")
	if len(free) != 1 {
		t.Fatalf("free: %v", free)
	}
	kept := versionsOf(t, f, id, "kept")
	c.mustApply(t, f, expireOp("free", free[0].GetVersionId(), cairnpb.LifecycleExpireCmd_REMOVE_MARKER),
		expireOp("kept", kept[0].GetVersionId(), cairnpb.LifecycleExpireCmd_REMOVE_MARKER))
	if vs := versionsOf(t, f, id, "free"); len(vs) != 0 {
		t.Fatalf("free after marker removal: %v", vs)
	}
	if vs := versionsOf(t, f, id, "kept"); len(vs) != 2 {
		t.Fatalf("kept after a marker removal that does not hold: %v", vs)
	}
}

// TestLifecycleProgressGeneration: progress belongs to one configuration;
// a new configuration drops it and refuses the old one's.
func TestLifecycleProgressGeneration(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1))
	rules := []*cairnpb.LifecycleRule{{Id: "r", ExpirationDays: 1}}
	c.mustApply(t, f, lifecycleOp(&cairnpb.BucketLifecycle{Rules: rules}))
	gen := bucketOf(t, f).GetLifecycle().GetGeneration()
	if gen == 0 {
		t.Fatal("no generation")
	}
	progress := func(g uint64) *cairnpb.SetLifecycleProgressCmd {
		return &cairnpb.SetLifecycleProgressCmd{BucketId: fsmtest.BucketID(1), Namespace: "ns", Bucket: "b",
			Progress: &cairnpb.LifecycleProgress{Generation: g, Cursors: [][]byte{[]byte("x"), nil, nil}}}
	}
	c.mustApply(t, f, progress(gen))
	c.mustApply(t, f, lifecycleOp(&cairnpb.BucketLifecycle{Rules: rules}))
	fsmtest.WantErr(t, c.apply(t, f, progress(gen)), rpcerr.ErrInvalidArgument)
	var p *cairnpb.LifecycleProgress
	if err := f.Store.View(func(r pebble.Reader) error {
		var err error
		p, err = GetLifecycleProgress(r, bucketOf(t, f))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(p.GetCursors()) != LifecycleActions || p.GetCursors()[0] != nil {
		t.Fatalf("progress after a new configuration: %v", p)
	}
	fsmtest.WantErr(t, c.apply(t, f, lifecycleOp(&cairnpb.BucketLifecycle{Rules: []*cairnpb.LifecycleRule{{ExpirationDays: -1}}})), rpcerr.ErrInvalidArgument)
}

// TestLifecycleDates: S3's example (made 2014-01-15 10:30 UTC, Days: 3,
// expires 2014-01-19 00:00 UTC), and the cutoff agrees with the expiry
// date on both sides of it, for a scaled day too.
func TestLifecycleDates(t *testing.T) {
	made := time.Date(2014, 1, 15, 10, 30, 0, 0, time.UTC).UnixNano()
	if got := cairnpb.LifecycleExpiry(made, 3, 24*time.Hour); !got.Equal(time.Date(2014, 1, 19, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("expiry %v", got)
	}
	for _, day := range []time.Duration{24 * time.Hour, 2 * time.Second} {
		for _, m := range []int64{made, made + int64(day)/3, 7 * int64(day)} {
			at := cairnpb.LifecycleExpiry(m, 2, day).UnixNano()
			if notYet, due := m >= cairnpb.LifecycleCutoff(at-1, 2, day), m < cairnpb.LifecycleCutoff(at, 2, day); !notYet || !due {
				t.Fatalf("day %v, made %d: due at %d disagrees with the cutoff", day, m, at)
			}
		}
	}
}

func versionsOf(t *testing.T, f *FSM, id []byte, key string) []*cairnpb.ObjectVersion {
	t.Helper()
	var vs []*cairnpb.ObjectVersion
	if err := f.Store.View(func(r pebble.Reader) error {
		var err error
		vs, err = KeyVersions(r, id, key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return vs
}

func lifecycleOp(l *cairnpb.BucketLifecycle) *cairnpb.SetBucketConfigCmd {
	return fsmtest.ConfigOp("ns", "b", &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Lifecycle{Lifecycle: l}})
}
