package fsm

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func versioningOp(status string) *cairnpb.SetBucketConfigCmd {
	return fsmtest.VersioningOp("ns", "b", status)
}

func delOp(key, versionID string) *cairnpb.DeleteVersionCmd {
	return &cairnpb.DeleteVersionCmd{Namespace: "ns", Bucket: "b", Key: key, VersionId: versionID}
}

// listing renders a version listing as "key:id[*][D]" entries (* latest,
// D delete marker) and "cp:prefix" entries.
func listing(t testing.TB, f *FSM, p VersionListParams) ([]string, *cairnpb.ListObjectVersionsResponse) {
	t.Helper()
	if p.MaxKeys == 0 {
		p.MaxKeys = 1000
	}
	var resp *cairnpb.ListObjectVersionsResponse
	err := f.Store.View(func(r pebble.Reader) error {
		var err error
		resp, err = ListVersions(r, fsmtest.BucketID(1), p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range resp.GetVersions() {
		s := v.GetKey() + ":" + v.GetVersionId()
		if v.GetIsLatest() {
			s += "*"
		}
		if v.GetDeleteMarker() {
			s += "D"
		}
		out = append(out, s)
	}
	for _, cp := range resp.GetCommonPrefixes() {
		out = append(out, "cp:"+cp)
	}
	return out, resp
}

func wantList(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("listing\n got %q\nwant %q", got, want)
	}
}

func find(t testing.TB, f *FSM, key, id string) (*cairnpb.ObjectVersion, error) {
	t.Helper()
	var v *cairnpb.ObjectVersion
	err := f.Store.View(func(r pebble.Reader) error {
		var err error
		_, v, err = FindVersion(r, fsmtest.BucketID(1), key, id)
		return err
	})
	return v, err
}

func current(t testing.TB, f *FSM, key string) *cairnpb.ObjectVersion {
	t.Helper()
	var v *cairnpb.ObjectVersion
	if err := f.Store.View(func(r pebble.Reader) error {
		var err error
		v, err = GetObject(r, fsmtest.BucketID(1), key, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVersioningLifecycle walks one key through Enabled and Suspended
// versioning: versions kept, delete markers, permanent deletes with
// promotion, null versions replaced, and shards freed only when their
// version goes for good.
func TestVersioningLifecycle(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1), fsmtest.PutOp("ns", "b", "k", "v1"))
	if err := c.apply(t, f, versioningOp("Sometimes")); err == nil {
		t.Fatal("bad status accepted")
	}
	c.mustApply(t, f, versioningOp("Enabled"), fsmtest.PutOp("ns", "b", "k", "v2", "n1", "n2"), fsmtest.PutOp("ns", "b", "k", "v3"))
	if q := gcQueue(t, f.Store); len(q) != 0 {
		t.Fatalf("versioned overwrites freed shards: %v", q)
	}
	got, _ := listing(t, f, VersionListParams{})
	wantList(t, got, "k:v3*", "k:v2", "k:null")
	if v, err := find(t, f, "k", "null"); err != nil || string(v.GetInlineData()) != "inline:k" || v.GetVersionId() != "v1" {
		t.Fatalf("null version %v %v", v, err)
	}
	if cur := current(t, f, "k"); cur.GetVersionId() != "v3" || !cur.GetVersioned() || string(cur.GetInlineData()) != "inline:k" {
		t.Fatalf("current %v", cur)
	}

	// A simple delete puts a marker on top.
	c.mustApply(t, f, delOp("k", ""))
	if cur := current(t, f, "k"); cur != nil {
		t.Fatalf("current after delete: %v", cur)
	}
	got, resp := listing(t, f, VersionListParams{})
	marker := resp.GetVersions()[0].GetVersionId()
	wantList(t, got, "k:"+marker+"*D", "k:v3", "k:v2", "k:null")
	if v, err := find(t, f, "k", ""); err != nil || !v.GetDeleteMarker() {
		t.Fatalf("newest is %v %v, want the marker", v, err)
	}
	// The bucket is not empty while versions remain.
	if err := c.apply(t, f, &cairnpb.DeleteBucketCmd{Namespace: "ns", Name: "b"}); err == nil {
		t.Fatal("bucket with versions deleted")
	}

	// Removing the marker brings v3 back.
	c.mustApply(t, f, delOp("k", marker))
	if cur := current(t, f, "k"); cur.GetVersionId() != "v3" || string(cur.GetInlineData()) != "inline:k" {
		t.Fatalf("current after removing the marker: %v", cur)
	}
	// Removing v2 for good frees its shards, and only then.
	c.mustApply(t, f, delOp("k", "v2"))
	if q := gcQueue(t, f.Store); !slices.Equal(q, []string{"n1/v2.0", "n2/v2.1"}) {
		t.Fatalf("gc queue %v", q)
	}
	got, _ = listing(t, f, VersionListParams{})
	wantList(t, got, "k:v3*", "k:null")
	// Deleting a version that does not exist is no error.
	c.mustApply(t, f, delOp("k", "0123456789abcdef0123456789abcdef"))

	// Suspended: new writes are the null version, replacing the old one.
	c.mustApply(t, f, versioningOp("Suspended"), fsmtest.PutOp("ns", "b", "k", "v4", "n3"))
	got, _ = listing(t, f, VersionListParams{})
	wantList(t, got, "k:null*", "k:v3")
	if cur := current(t, f, "k"); cur.GetVersionId() != "v4" || cur.GetVersioned() {
		t.Fatalf("current %v", cur)
	}
	c.mustApply(t, f, fsmtest.PutOp("ns", "b", "k", "v5"))
	if q := gcQueue(t, f.Store); !slices.Contains(q, "n3/v4.0") {
		t.Fatalf("replaced null version not freed: %v", q)
	}
	c.mustApply(t, f, delOp("k", ""))
	got, _ = listing(t, f, VersionListParams{})
	wantList(t, got, "k:null*D", "k:v3")
	if err := c.apply(t, f, &cairnpb.SetVersionTagsCmd{Namespace: "ns", Bucket: "b", Key: "k", VersionId: "v3", Tags: map[string]string{"a": "b"}}); err != nil {
		t.Fatal(err)
	}
	if v, err := find(t, f, "k", "v3"); err != nil || v.GetTags()["a"] != "b" || string(v.GetInlineData()) != "inline:k" {
		t.Fatalf("tagged noncurrent version %v %v", v, err)
	}

	c.mustApply(t, f, delOp("k", "null"), delOp("k", "v3"), &cairnpb.DeleteBucketCmd{Namespace: "ns", Name: "b"})
	for _, e := range dumpStore(t, f.Store) {
		if strings.HasPrefix(e.k, TagObject) || strings.HasPrefix(e.k, TagNoncurrent) || strings.HasPrefix(e.k, tagInline) {
			t.Fatalf("left behind: %q", e.k)
		}
	}
}

// TestUnversionedBucketWritesNoVersions: a bucket that never had
// versioning keeps one version per key and nothing in the noncurrent
// table.
func TestUnversionedBucketWritesNoVersions(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1), fsmtest.PutOp("ns", "b", "k", "v1", "n1"), fsmtest.PutOp("ns", "b", "k", "v2"), delOp("k", ""))
	c.mustApply(t, f, fsmtest.PutOp("ns", "b", "k", "v3"), &cairnpb.DeleteObjectCmd{Namespace: "ns", Bucket: "b", Key: "k"})
	for _, e := range dumpStore(t, f.Store) {
		if strings.HasPrefix(e.k, TagNoncurrent) || strings.HasPrefix(e.k, TagObject) || strings.HasPrefix(e.k, tagInline) {
			t.Fatalf("unexpected key %q", e.k)
		}
	}
	if q := gcQueue(t, f.Store); !slices.Equal(q, []string{"n1/v1.0"}) {
		t.Fatalf("gc queue %v", q)
	}
}

// TestForEachVersionAndLocateCoverNoncurrent: background jobs see every
// version with data and can update a noncurrent one, inline bytes
// included, through the key LocateVersion returns.
func TestForEachVersionAndLocateCoverNoncurrent(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1), versioningOp("Enabled"),
		fsmtest.PutOp("ns", "b", "k", "v1", "n1"), fsmtest.PutOp("ns", "b", "k", "v2"), fsmtest.PutOp("ns", "b", "k", "v3", "n2"), delOp("k", ""),
		fsmtest.PutOp("ns", "b", "j", "v9"))
	var seen []string
	err := f.Store.View(func(r pebble.Reader) error {
		return ForEachVersion(r, nil, func(_ []byte, v *cairnpb.ObjectVersion) error {
			seen = append(seen, v.GetKey()+"/"+v.GetVersionId())
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"j/v9", "k/v1", "k/v2", "k/v3"}) {
		t.Fatalf("walked %v", seen)
	}
	// Resuming from a noncurrent key walks only what follows it.
	var resumed []string
	err = f.Store.View(func(r pebble.Reader) error {
		return ForEachVersion(r, noncurrentKeyPrefix(fsmtest.BucketID(1), "k"), func(_ []byte, v *cairnpb.ObjectVersion) error {
			resumed = append(resumed, v.GetVersionId())
			return nil
		})
	})
	if err != nil || len(resumed) != 3 {
		t.Fatalf("resumed walk %v %v", resumed, err)
	}

	// Update v2 (noncurrent, inline) the way a re-wrap job does.
	h, err := f.Store.acquire()
	if err != nil {
		t.Fatal(err)
	}
	b := h.db.NewIndexedBatch()
	key, v, err := LocateVersion(b, fsmtest.BucketID(1), "k", "v2")
	if err != nil || !strings.HasPrefix(string(key), TagNoncurrent) || string(v.GetInlineData()) != "inline:k" {
		t.Fatalf("locate v2: %q %v %v", key, v, err)
	}
	v.Encryption = &cairnpb.Encryption{KeyId: "rewrapped"}
	if err := putProto(b, key, v); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LocateVersion(b, fsmtest.BucketID(1), "k", "nope"); err == nil {
		t.Fatal("located a missing version")
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	b.Close()
	f.Store.release(h)
	if got, err := find(t, f, "k", "v2"); err != nil || got.GetEncryption().GetKeyId() != "rewrapped" || string(got.GetInlineData()) != "inline:k" {
		t.Fatalf("updated v2: %v %v", got, err)
	}
	if _, err := find(t, f, "k", "v404"); err == nil {
		t.Fatal("found a missing version")
	} else {
		fsmtest.WantErr(t, err, rpcerr.ErrObjectNotFound)
	}
}

// TestListVersionsPagesAndPrefixes pages through versions of several keys
// with key and version ID markers, and rolls keys up into common prefixes.
func TestListVersionsPagesAndPrefixes(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1), fsmtest.PutOp("ns", "b", "a", "null0"), versioningOp("Enabled"))
	for i := range 3 {
		for _, k := range []string{"a", "d/x", "d/y", "z"} {
			c.mustApply(t, f, fsmtest.PutOp("ns", "b", k, fmt.Sprintf("%s-%d", k, i)))
		}
	}
	c.mustApply(t, f, delOp("z", ""))
	all, _ := listing(t, f, VersionListParams{})
	if len(all) != 14 || all[0] != "a:a-2*" || all[3] != "a:null" || !strings.HasSuffix(all[10], "*D") || all[11] != "z:z-2" {
		t.Fatalf("full listing %q", all)
	}
	// Page by two, resuming from the markers each page returns.
	var paged []string
	p := VersionListParams{ListParams: ListParams{MaxKeys: 2}}
	for range 20 {
		got, resp := listing(t, f, p)
		paged = append(paged, got...)
		if !resp.GetIsTruncated() {
			break
		}
		p.KeyMarker, p.IDMarker = resp.GetNextKeyMarker(), resp.GetNextVersionIdMarker()
	}
	wantList(t, paged, all...)
	// A key marker alone skips every version of that key.
	got, _ := listing(t, f, VersionListParams{KeyMarker: "d/y"})
	wantList(t, got, all[10:]...)
	// Delimiter: d/ rolls up, and a page can end on it.
	got, resp := listing(t, f, VersionListParams{ListParams: ListParams{Delimiter: "/", MaxKeys: 5}})
	wantList(t, got, "a:a-2*", "a:a-1", "a:a-0", "a:null", "cp:d/")
	if !resp.GetIsTruncated() || resp.GetNextKeyMarker() != "d/" {
		t.Fatalf("page %v", resp)
	}
	got, _ = listing(t, f, VersionListParams{ListParams: ListParams{Delimiter: "/"}, KeyMarker: "d/"})
	wantList(t, got, all[10:]...)
	got, _ = listing(t, f, VersionListParams{ListParams: ListParams{Prefix: "d/"}})
	wantList(t, got, all[4:10]...)
}

// TestVersionedMultipartComplete: completing an upload in a versioned
// bucket keeps the version it replaces (shards and inline bytes), and the
// completed version is the key's newest.
func TestVersionedMultipartComplete(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1), versioningOp("Enabled"),
		fsmtest.PutOp("ns", "b", "k", "v0", "n9"), fsmtest.PutOp("ns", "b", "k", "v1"),
		createUploadOp("b", "k", 1), fsmtest.PartOp("b", "k", 1, 1, 6<<20, "p1", "n1"), fsmtest.PartOp("b", "k", 1, 2, 10, "p2"),
		completeOp("b", "k", 1, "mpv", fsmtest.Listed(1, "p1"), fsmtest.Listed(2, "p2")))
	if q := gcQueue(t, f.Store); len(q) != 0 {
		t.Fatalf("completion in a versioned bucket freed %v", q)
	}
	got, _ := listing(t, f, VersionListParams{})
	wantList(t, got, "k:mpv*", "k:v1", "k:v0")
	if v, err := find(t, f, "k", "v1"); err != nil || string(v.GetInlineData()) != "inline:k" {
		t.Fatalf("replaced inline version %v %v", v, err)
	}
	if cur := current(t, f, "k"); cur.GetVersionId() != "mpv" || len(cur.GetParts()) != 2 || len(cur.GetInlineData()) != 10 {
		t.Fatalf("current %v", cur)
	}
	// Removing the multipart version brings v1 back and frees its part.
	c.mustApply(t, f, delOp("k", "mpv"))
	if q := gcQueue(t, f.Store); !slices.Equal(q, []string{"n1/p1.0"}) {
		t.Fatalf("gc queue %v", q)
	}
	if cur := current(t, f, "k"); cur.GetVersionId() != "v1" || string(cur.GetInlineData()) != "inline:k" {
		t.Fatalf("current %v", cur)
	}
}
