package fsm

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func (c *cmdLog) mustApply(t testing.TB, f *FSM, ops ...any) {
	t.Helper()
	for i, op := range ops {
		if err := c.apply(t, f, op); err != nil {
			t.Fatalf("op %d (%T): %v", i, op, err)
		}
	}
}

func createUploadOp(bucket, key string, id int) *cairnpb.CreateUploadCmd {
	return &cairnpb.CreateUploadCmd{Namespace: "ns", Bucket: bucket, Upload: &cairnpb.MultipartUpload{
		Key: key, UploadId: fsmtest.UploadID(id), ContentType: "text/plain",
		UserMetadata: map[string]string{"color": "blue"}, ChecksumAlgorithm: "CRC32",
	}}
}

func completeOp(bucket, key string, id int, version string, parts ...*cairnpb.CompletedPart) *cairnpb.CompleteUploadCmd {
	return &cairnpb.CompleteUploadCmd{Namespace: "ns", Bucket: bucket, Key: key, UploadId: fsmtest.UploadID(id), VersionId: version, Parts: parts}
}

func keysWithTag(t *testing.T, st *Store, tag string) []string {
	t.Helper()
	var out []string
	for _, e := range dumpStore(t, st) {
		if strings.HasPrefix(e.k, tag) {
			out = append(out, e.k)
		}
	}
	return out
}

func TestMultipartCompleteBuildsLayoutAndFreesShards(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	const mib = 1 << 20
	c.mustApply(t, f,
		fsmtest.CreateBucketOp("ns", "b", 1),
		fsmtest.PutOp("ns", "b", "k", "v0", "n9"), // the version the upload replaces
		createUploadOp("b", "k", 1),
		fsmtest.PartOp("b", "k", 1, 1, 6*mib, "p1", "n1", "n2", ""),
		fsmtest.PartOp("b", "k", 1, 2, 6*mib, "p2a", "n3", "n4", "n5"),
		fsmtest.PartOp("b", "k", 1, 2, 6*mib, "p2b", "n3", "n6", "n5"), // replaces p2a
		fsmtest.PartOp("b", "k", 1, 2, 6*mib, "p2b", "n3", "n6", "n5"), // retried: frees nothing
		fsmtest.PartOp("b", "k", 1, 3, 5*mib, "p3", "n7"),
		fsmtest.PartOp("b", "k", 1, 4, 10, "p4"), // inline last part
	)
	if got, want := strings.Join(gcQueue(t, f.Store), " "), "n3/p2a.0 n4/p2a.1 n5/p2a.2"; got != want {
		t.Fatalf("GC queue after replacing part 2: %q, want %q", got, want)
	}
	// Part 3 is left out.
	c.mustApply(t, f, completeOp("b", "k", 1, "mpv", fsmtest.Listed(1, "p1"), fsmtest.Listed(2, "p2b"), fsmtest.Listed(4, "p4")))

	gc := gcQueue(t, f.Store)
	slices.Sort(gc)
	want := []string{"n3/p2a.0", "n4/p2a.1", "n5/p2a.2", "n7/p3.0", "n9/v0.0"}
	if !slices.Equal(gc, want) {
		t.Fatalf("GC queue after complete: %q, want %q", gc, want)
	}
	if k := append(keysWithTag(t, f.Store, TagUpload), keysWithTag(t, f.Store, TagPart)...); len(k) != 0 {
		t.Fatalf("upload state left behind: %q", k)
	}
	var v *cairnpb.ObjectVersion
	err := f.Store.View(func(r pebble.Reader) (err error) {
		v, err = GetObject(r, fsmtest.BucketID(1), "k", true)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	for _, base := range []string{"p1", "p2b", "p4"} {
		sum := md5.Sum([]byte(base))
		h.Write(sum[:])
	}
	if wantETag := hex.EncodeToString(h.Sum(nil)) + "-3"; v.GetEtag() != wantETag {
		t.Fatalf("etag %q, want %q", v.GetEtag(), wantETag)
	}
	if v.GetSize() != 12*mib+10 || len(v.GetParts()) != 3 || v.GetVersionId() != "mpv" || v.GetModifiedUnixNano() != c.now {
		t.Fatalf("version %v", v)
	}
	if v.GetContentType() != "text/plain" || v.GetUserMetadata()["color"] != "blue" {
		t.Fatalf("upload's headers not carried over: %v", v)
	}
	if !bytes.Equal(v.GetInlineData(), bytes.Repeat([]byte{4}, 10)) {
		t.Fatalf("inline bytes of the last part: %q", v.GetInlineData())
	}
	if p := v.GetParts()[1]; p.GetShardBase() != "p2b" || p.GetNumber() != 2 || len(p.GetShards()) != 3 {
		t.Fatalf("part 2 layout %v", p)
	}

	// Overwriting the object frees every part's shards and the inline bytes.
	c.mustApply(t, f, fsmtest.PutOp("ns", "b", "k", "v1", "n1"))
	gc = gcQueue(t, f.Store)
	for _, s := range []string{"n1/p1.0", "n2/p1.1", "n3/p2b.0", "n6/p2b.1", "n5/p2b.2"} {
		if !slices.Contains(gc, s) {
			t.Fatalf("GC queue %q lacks %s", gc, s)
		}
	}
	if k := keysWithTag(t, f.Store, tagInline); len(k) != 0 {
		t.Fatalf("inline bytes of the replaced multipart version left: %q", k)
	}
}

func TestMultipartCompleteErrorsChangeNothing(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	const mib = 1 << 20
	c.mustApply(t, f,
		fsmtest.CreateBucketOp("ns", "b", 1),
		createUploadOp("b", "k", 1),
		fsmtest.PartOp("b", "k", 1, 1, 5*mib, "p1", "n1"),
		fsmtest.PartOp("b", "k", 1, 2, 1, "p2"),
		fsmtest.PartOp("b", "k", 1, 3, 6*mib, "p3", "n2"),
	)
	before := dumpStore(t, f.Store)
	bad := &cairnpb.CompletedPart{Number: 3, Etag: fsmtest.ETag("p3"), Checksums: map[string]string{"CRC32": "wrong"}}
	cases := []struct {
		name string
		op   *cairnpb.CompleteUploadCmd
		want error
	}{
		{"out of order", completeOp("b", "k", 1, "v", fsmtest.Listed(3, "p3"), fsmtest.Listed(1, "p1")), rpcerr.ErrInvalidPartOrder},
		{"duplicate", completeOp("b", "k", 1, "v", fsmtest.Listed(1, "p1"), fsmtest.Listed(1, "p1")), rpcerr.ErrInvalidPartOrder},
		{"missing part", completeOp("b", "k", 1, "v", fsmtest.Listed(1, "p1"), fsmtest.Listed(4, "p4")), rpcerr.ErrInvalidPart},
		{"wrong etag", completeOp("b", "k", 1, "v", fsmtest.Listed(1, "p1"), fsmtest.Listed(3, "p1")), rpcerr.ErrInvalidPart},
		{"checksum mismatch", completeOp("b", "k", 1, "v", fsmtest.Listed(1, "p1"), bad), rpcerr.ErrInvalidPart},
		{"small middle part", completeOp("b", "k", 1, "v", fsmtest.Listed(1, "p1"), fsmtest.Listed(2, "p2"), fsmtest.Listed(3, "p3")), rpcerr.ErrEntityTooSmall},
		{"unknown upload", completeOp("b", "k", 2, "v", fsmtest.Listed(1, "p1")), rpcerr.ErrUploadNotFound},
		{"upload of another key", completeOp("b", "other", 1, "v", fsmtest.Listed(1, "p1")), rpcerr.ErrUploadNotFound},
		{"no parts", completeOp("b", "k", 1, "v"), rpcerr.ErrInvalidArgument},
		{"no bucket", completeOp("nope", "k", 1, "v", fsmtest.Listed(1, "p1")), rpcerr.ErrBucketNotFound},
	}
	for _, tc := range cases {
		fsmtest.WantErr(t, c.apply(t, f, tc.op), tc.want)
		if fmt.Sprint(dumpStore(t, f.Store)) != fmt.Sprint(before) {
			t.Fatalf("%s: a failed complete changed the state", tc.name)
		}
	}
	fsmtest.WantErr(t, c.apply(t, f, fsmtest.PartOp("b", "k", 2, 1, 1, "x")), rpcerr.ErrUploadNotFound)
	fsmtest.WantErr(t, c.apply(t, f, fsmtest.PartOp("b", "k", 1, 0, 1, "x")), rpcerr.ErrInvalidArgument)
	fsmtest.WantErr(t, c.apply(t, f, fsmtest.PartOp("b", "k", 1, 10001, 1, "x")), rpcerr.ErrInvalidArgument)
	// A single small part is a valid object: only parts before the last
	// have a minimum size.
	c.mustApply(t, f, completeOp("b", "k", 1, "v", fsmtest.Listed(2, "p2")))
}

func TestMultipartAbortAndBucketDelete(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f,
		fsmtest.CreateBucketOp("ns", "b", 1),
		createUploadOp("b", "k", 1),
		fsmtest.PartOp("b", "k", 1, 1, 100, "p1", "n1", "n2"),
		fsmtest.PartOp("b", "k", 1, 2, 3, "p2"),
		createUploadOp("b", "k", 2),
		fsmtest.PartOp("b", "k", 2, 1, 100, "q1", "n3"),
		&cairnpb.AbortUploadCmd{Namespace: "ns", Bucket: "b", Key: "k", UploadId: fsmtest.UploadID(1)},
	)
	if got := strings.Join(gcQueue(t, f.Store), " "); got != "n1/p1.0 n2/p1.1" {
		t.Fatalf("GC queue after abort: %q", got)
	}
	abort := &cairnpb.AbortUploadCmd{Namespace: "ns", Bucket: "b", Key: "k", UploadId: fsmtest.UploadID(1)}
	fsmtest.WantErr(t, c.apply(t, f, abort), rpcerr.ErrUploadNotFound)
	fsmtest.WantErr(t, c.apply(t, f, fsmtest.PartOp("b", "k", 1, 3, 1, "late")), rpcerr.ErrUploadNotFound)
	if n := len(keysWithTag(t, f.Store, TagPart)); n != 1 {
		t.Fatalf("%d part keys left, want 1 (of the other upload)", n)
	}
	// A bucket with an upload in progress but no objects can go; the
	// upload goes with it.
	c.mustApply(t, f, &cairnpb.DeleteBucketCmd{Namespace: "ns", Name: "b"})
	if got := strings.Join(gcQueue(t, f.Store), " "); got != "n1/p1.0 n2/p1.1 n3/q1.0" {
		t.Fatalf("GC queue after deleting the bucket: %q", got)
	}
	if k := append(keysWithTag(t, f.Store, TagUpload), keysWithTag(t, f.Store, TagPart)...); len(k) != 0 {
		t.Fatalf("upload state left behind: %q", k)
	}
}

func TestListPartsPages(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1), createUploadOp("b", "k", 1), createUploadOp("b", "k", 2))
	for _, n := range []int32{1, 2, 3, 5, 8, 13, 10000} {
		c.mustApply(t, f, fsmtest.PartOp("b", "k", 1, n, int64(n), fmt.Sprint("p", n)))
	}
	c.mustApply(t, f, fsmtest.PartOp("b", "k", 2, 4, 1, "other"))
	var got []int32
	marker := int32(0)
	for pages := 0; ; pages++ {
		var resp *cairnpb.ListPartsResponse
		err := f.Store.View(func(r pebble.Reader) (err error) {
			resp, err = ListParts(r, fsmtest.UploadID(1), marker, 3)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.GetParts() {
			got = append(got, p.GetNumber())
			if p.GetEtag() != fsmtest.ETag(fmt.Sprint("p", p.GetNumber())) || p.GetChecksums()["CRC32"] == "" || p.GetModifiedUnixNano() == 0 {
				t.Fatalf("part %v", p)
			}
		}
		if !resp.GetIsTruncated() {
			break
		}
		if pages > 5 {
			t.Fatal("listing does not end")
		}
		marker = resp.GetNextPartNumberMarker()
	}
	if fmt.Sprint(got) != "[1 2 3 5 8 13 10000]" {
		t.Fatalf("parts %v", got)
	}
}

func TestListUploadsDelimiterAndMarkers(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1), fsmtest.CreateBucketOp("ns", "other", 2),
		createUploadOp("other", "a/x", 99))
	keys := []string{"a/1", "a/2", "b", "b", "c/x/y", "c/z", "d", "e/"}
	for i, k := range keys {
		c.mustApply(t, f, createUploadOp("b", k, i+1))
	}
	list := func(p UploadListParams) *cairnpb.ListMultipartUploadsResponse {
		t.Helper()
		var resp *cairnpb.ListMultipartUploadsResponse
		err := f.Store.View(func(r pebble.Reader) (err error) {
			resp, err = ListUploads(r, fsmtest.BucketID(1), p)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	render := func(resp *cairnpb.ListMultipartUploadsResponse) string {
		var parts []string
		for _, u := range resp.GetUploads() {
			parts = append(parts, fmt.Sprintf("%s#%d", u.GetKey(), strings.TrimLeft(u.GetUploadId(), "0")[0]-'0'))
		}
		for _, cp := range resp.GetCommonPrefixes() {
			parts = append(parts, "cp:"+cp)
		}
		return strings.Join(parts, " ")
	}
	all := list(UploadListParams{ListParams: ListParams{MaxKeys: 100}})
	if got := render(all); got != "a/1#1 a/2#2 b#3 b#4 c/x/y#5 c/z#6 d#7 e/#8" {
		t.Fatalf("all uploads: %s", got)
	}
	// Paging with a delimiter: every page resumes where the last ended,
	// common prefixes included.
	var pages []string
	p := UploadListParams{ListParams: ListParams{Delimiter: "/", MaxKeys: 2}}
	for i := 0; ; i++ {
		resp := list(p)
		pages = append(pages, render(resp))
		if !resp.GetIsTruncated() {
			break
		}
		if i > 10 {
			t.Fatal("listing does not end")
		}
		p.KeyMarker, p.IDMarker = resp.GetNextKeyMarker(), resp.GetNextUploadIdMarker()
	}
	if got := strings.Join(pages, " | "); got != "b#3 cp:a/ | b#4 cp:c/ | d#7 cp:e/" {
		t.Fatalf("pages: %s", got)
	}
	// key-marker alone skips every upload of that key.
	if got := render(list(UploadListParams{ListParams: ListParams{MaxKeys: 100}, KeyMarker: "b"})); got != "c/x/y#5 c/z#6 d#7 e/#8" {
		t.Fatalf("after key b: %s", got)
	}
	if got := render(list(UploadListParams{ListParams: ListParams{Prefix: "c/", Delimiter: "/", MaxKeys: 100}})); got != "c/z#6 cp:c/x/" {
		t.Fatalf("prefix c/: %s", got)
	}
}

// The same multipart command log gives the same state whether applied one
// entry at a time or in batches, failures included.
func TestMultipartDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	c := &cmdLog{}
	c.add(t, fsmtest.CreateBucketOp("ns", "b", 1))
	for i := 0; i < 1500; i++ {
		id := 1 + rng.IntN(6)
		key := fmt.Sprintf("k%d", id%3)
		n := int32(1 + rng.IntN(5))
		switch rng.IntN(8) {
		case 0:
			c.add(t, createUploadOp("b", key, id))
		case 1, 2, 3:
			c.add(t, fsmtest.PartOp("b", key, id, n, int64(5<<20+rng.IntN(3)), fmt.Sprint("s", i), "n1", "n2"))
		case 4:
			c.add(t, fsmtest.PartOp("b", key, id, n, 7, fmt.Sprint("s", i)))
		case 5:
			// Usually fails: ETags rarely match.
			c.add(t, completeOp("b", key, id, fmt.Sprint("v", i), fsmtest.Listed(1, fmt.Sprint("s", i-1))))
		case 6:
			c.add(t, &cairnpb.AbortUploadCmd{Namespace: "ns", Bucket: "b", Key: key, UploadId: fsmtest.UploadID(id)})
		case 7:
			c.add(t, fsmtest.PutOp("ns", "b", key, fmt.Sprint("v", i), "n3"))
		}
	}
	_, resps := applyBothWays(t, c.logs, rng, 50)
	failures := len(resps) - outcomeCounts(resps)["ok"]
	if failures == 0 || failures == len(resps) {
		t.Fatalf("%d of %d commands failed", failures, len(resps))
	}
}
