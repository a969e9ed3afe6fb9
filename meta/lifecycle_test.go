package meta

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// indexEntries returns the expiry index of bucket id as "key@version".
func indexEntries(t *testing.T, f *fsm, id []byte) []string {
	t.Helper()
	var out []string
	base := lifecycleIndexPrefix(id)
	err := f.store.view(func(r pebble.Reader) error {
		return scan(r, base, func(k, _ []byte) (bool, error) {
			e, ok := splitLifecycleKey(k, len(base))
			if !ok {
				t.Fatalf("malformed index key %q", k)
			}
			out = append(out, e.key+"@"+e.versionID)
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
	c.mustApply(t, f, createBucketOp("ns", "b", 1))
	id := testBucketID(1)
	c.mustApply(t, f, putOp("ns", "b", "a", "v1"), putOp("ns", "b", "a", "v2"), putOp("ns", "b", "z", "v3"))
	if got := fmt.Sprint(indexEntries(t, f, id)); got != "[a@v2 z@v3]" {
		t.Fatalf("unversioned: index %s", got)
	}
	// The retried commit of v4 (at a later time) leaves one entry.
	c.mustApply(t, f, versioningOp(versioningEnabled), putOp("ns", "b", "a", "v4"), putOp("ns", "b", "a", "v4"),
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
	id := testBucketID(1)
	until := c.now + 1000*second
	c.mustApply(t, f, lockedPut("kept", "v1", lockCompliance, until, false), putOp("ns", "b", "free", "v2"))

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
	wantErr(t, c.apply(t, f, expireOp("kept", "v1", cairnpb.LifecycleExpireCmd_REMOVE_NONCURRENT)), rpcerr.ErrObjectLocked)
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
	c.mustApply(t, f, createBucketOp("ns", "b", 1))
	rules := []*cairnpb.LifecycleRule{{Id: "r", ExpirationDays: 1}}
	c.mustApply(t, f, &cairnpb.SetBucketLifecycleCmd{Namespace: "ns", Name: "b", Lifecycle: &cairnpb.BucketLifecycle{Rules: rules}})
	gen := bucketOf(t, f).GetLifecycle().GetGeneration()
	if gen == 0 {
		t.Fatal("no generation")
	}
	progress := func(g uint64) *cairnpb.SetLifecycleProgressCmd {
		return &cairnpb.SetLifecycleProgressCmd{BucketId: testBucketID(1), Namespace: "ns", Bucket: "b",
			Progress: &cairnpb.LifecycleProgress{Generation: g, Cursors: [][]byte{[]byte("x"), nil, nil}}}
	}
	c.mustApply(t, f, progress(gen))
	c.mustApply(t, f, &cairnpb.SetBucketLifecycleCmd{Namespace: "ns", Name: "b", Lifecycle: &cairnpb.BucketLifecycle{Rules: rules}})
	wantErr(t, c.apply(t, f, progress(gen)), rpcerr.ErrInvalidArgument)
	var p *cairnpb.LifecycleProgress
	if err := f.store.view(func(r pebble.Reader) error {
		var err error
		p, err = getLifecycleProgress(r, bucketOf(t, f))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(p.GetCursors()) != lifecycleActions || p.GetCursors()[0] != nil {
		t.Fatalf("progress after a new configuration: %v", p)
	}
	wantErr(t, c.apply(t, f, &cairnpb.SetBucketLifecycleCmd{Namespace: "ns", Name: "b",
		Lifecycle: &cairnpb.BucketLifecycle{Rules: []*cairnpb.LifecycleRule{{ExpirationDays: -1}}}}), rpcerr.ErrInvalidArgument)
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

func versionsOf(t *testing.T, f *fsm, id []byte, key string) []*cairnpb.ObjectVersion {
	t.Helper()
	var vs []*cairnpb.ObjectVersion
	if err := f.store.view(func(r pebble.Reader) error {
		var err error
		vs, err = keyVersions(r, id, key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestLifecycleScanMemory: a walk of the expiry index over many keys
// (100 000; CAIRN_LIFECYCLE_SCAN_KEYS=1000000 for a million) holds one
// batch at a time: the heap in use during the walk stays within a bound
// that does not grow with the number of keys. The rule selects nothing
// (its size bound is above every object), so every key's versions are
// read and nothing is proposed.
func TestLifecycleScanMemory(t *testing.T) {
	keys := 100_000
	if s := os.Getenv("CAIRN_LIFECYCLE_SCAN_KEYS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		keys = n
	}
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, createBucketOp("ns", "b", 1))
	id := testBucketID(1)
	h, err := f.store.acquire()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	const chunk = 20_000
	for i := 0; i < keys; i += chunk {
		b := h.db.NewBatch()
		for j := i; j < min(i+chunk, keys); j++ {
			v := &cairnpb.ObjectVersion{BucketId: id, Key: fmt.Sprintf("logs/%09d", j), VersionId: fmt.Sprintf("v%09d", j),
				Size: 100, ModifiedUnixNano: int64(j+1) * int64(time.Millisecond)}
			if err := putProto(b, objectKey(id, v.GetKey()), v); err != nil {
				t.Fatal(err)
			}
			if err := indexForLifecycle(b, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	f.store.release(h)
	t.Logf("wrote %d keys in %v", keys, time.Since(start))

	n := &node{store: f.store, cfg: Config{LifecycleDay: time.Second}}
	bk := bucketOf(t, f)
	bk.Lifecycle = &cairnpb.BucketLifecycle{Rules: []*cairnpb.LifecycleRule{{Id: "r", ExpirationDays: 1,
		Filter: &cairnpb.LifecycleFilter{Prefix: "logs/", SizeGreaterThan: 1 << 40}}}}
	p := &cairnpb.LifecycleProgress{Cursors: make([][]byte, lifecycleActions)}

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before, mallocs := ms.HeapInuse, ms.Mallocs
	var peak uint64
	walked := 0
	start = time.Now()
	now := time.Now().UnixNano() // every key is older than a day of 1 s
	err = n.lifecycleWalk(context.Background(), leaderjob.NewPacer(-1), bk, p, now, time.Second, func() error {
		walked++
		if walked%10_000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapInuse)
	t.Logf("walked %d keys in %v (%.0f keys/s): heap in use %.1f MiB before, peak %.1f MiB (+%.1f MiB); %.1f allocations per key",
		walked, elapsed, float64(walked)/elapsed.Seconds(), float64(before)/(1<<20), float64(peak)/(1<<20),
		(float64(peak)-float64(before))/(1<<20), float64(ms.Mallocs-mallocs)/float64(max(walked, 1)))
	if walked != keys {
		t.Fatalf("walked %d keys, want %d", walked, keys)
	}
	if got := n.lifecycle.scanned.Load(); got != int64(keys) {
		t.Fatalf("scanned %d, want %d", got, keys)
	}
	// One batch of entries and one key's versions at a time, plus what
	// Pebble caches: far below what holding every key would take
	// (100 000 keys of ~60 bytes each are already 6 MiB, a million 60).
	const bound = 24 << 20
	if peak > before+bound {
		t.Fatalf("heap grew by %d bytes during the walk, bound %d", peak-before, bound)
	}
	if want := fmt.Sprintf("%09d", keys-1); string(p.Cursors[actExpire][len(p.Cursors[actExpire])-len(want):]) != want {
		t.Fatalf("cursor %q does not end at the last key", p.Cursors[actExpire])
	}
}
