package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/cairn-store/cairn/test/harness"
)

// TestMinioGoSurface drives every S3 operation Cairn serves through
// github.com/minio/minio-go/v7 against one cluster: bucket tagging,
// location and versioning, object metadata, ranges, conditionals, copies
// and server-side composition (UploadPartCopy), object tagging, both
// listing APIs, bulk deletes, parallel multipart uploads with minio-go's
// default checksums, the low-level multipart Core API, SSE-C, presigned
// requests of every method and the NotImplemented answer for what Cairn
// does not serve.
func TestMinioGoSurface(t *testing.T) {
	c := startCluster(t, harness.Options{ExtraGW: []string{"--allow-insecure-ssec"}})
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	newClient := func(region string, trailers bool) *minio.Client {
		mc, err := minio.New(u.Host, &minio.Options{
			Creds:           credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
			Secure:          false,
			Region:          region,
			TrailingHeaders: trailers,
		})
		if err != nil {
			t.Fatal(err)
		}
		return mc
	}
	mc := newClient(c.Region, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	t.Run("Buckets", func(t *testing.T) { minioBuckets(ctx, t, mc, newClient("", false), c.Region) })
	t.Run("Versioning", func(t *testing.T) { minioVersioning(ctx, t, mc, c.Region) })
	t.Run("Objects", func(t *testing.T) { minioObjects(ctx, t, mc, c.Region) })
	t.Run("Listings", func(t *testing.T) { minioListings(ctx, t, mc, c.Region) })
	t.Run("Multipart", func(t *testing.T) { minioMultipart(ctx, t, mc, newClient(c.Region, true), c.Region) })
	t.Run("SSEC", func(t *testing.T) { minioSSEC(ctx, t, mc, c.Region) })
	t.Run("Presigned", func(t *testing.T) { minioPresigned(ctx, t, mc, c.Region) })
	t.Run("NotImplemented", func(t *testing.T) { minioNotImplemented(ctx, t, mc, c.Region) })
	t.Run("Lifecycle", func(t *testing.T) { minioLifecycle(ctx, t, mc, c.Region) })
}

func minioMakeBucket(ctx context.Context, t *testing.T, mc *minio.Client, region, name string) {
	t.Helper()
	if err := mc.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatalf("make bucket %s: %v", name, err)
	}
}

func minioPut(ctx context.Context, t *testing.T, mc *minio.Client, bucket, key string, body []byte, opts minio.PutObjectOptions) minio.UploadInfo {
	t.Helper()
	info, err := mc.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), opts)
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return info
}

func minioRead(ctx context.Context, t *testing.T, mc *minio.Client, bucket, key string, opts minio.GetObjectOptions) ([]byte, error) {
	t.Helper()
	obj, err := mc.GetObject(ctx, bucket, key, opts)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

func minioMustRead(ctx context.Context, t *testing.T, mc *minio.Client, bucket, key string, opts minio.GetObjectOptions, want []byte) {
	t.Helper()
	got, err := minioRead(ctx, t, mc, bucket, key, opts)
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("get %s/%s: %d bytes differ from the %d expected", bucket, key, len(got), len(want))
	}
}

func minioKeys(t *testing.T, ch <-chan minio.ObjectInfo) []string {
	t.Helper()
	var keys []string
	for o := range ch {
		if o.Err != nil {
			t.Fatalf("listing: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// minioEmpty removes every version and delete marker, then the bucket.
func minioEmpty(ctx context.Context, t *testing.T, mc *minio.Client, bucket string) {
	t.Helper()
	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if o.Err != nil {
				return
			}
			ch <- minio.ObjectInfo{Key: o.Key, VersionID: o.VersionID}
		}
	}()
	for e := range mc.RemoveObjects(ctx, bucket, ch, minio.RemoveObjectsOptions{}) {
		t.Fatalf("empty %s: remove %s %s: %v", bucket, e.ObjectName, e.VersionID, e.Err)
	}
	if err := mc.RemoveBucket(ctx, bucket); err != nil {
		t.Fatalf("remove bucket %s: %v", bucket, err)
	}
}

func minioCode(err error) string { return minio.ToErrorResponse(err).Code }

func minioBuckets(ctx context.Context, t *testing.T, mc, noRegion *minio.Client, region string) {
	minioMakeBucket(ctx, t, mc, region, "mc-bkt-a")
	minioMakeBucket(ctx, t, mc, region, "mc-bkt-b")
	if err := mc.MakeBucket(ctx, "mc-bkt-a", minio.MakeBucketOptions{Region: region}); !slices.Contains([]string{"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}, minioCode(err)) {
		t.Fatalf("second make bucket: %v", err)
	}
	buckets, err := mc.ListBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range buckets {
		names = append(names, b.Name)
		if b.CreationDate.IsZero() || time.Since(b.CreationDate) > time.Hour {
			t.Fatalf("bucket %s creation date %v", b.Name, b.CreationDate)
		}
	}
	if !slices.Contains(names, "mc-bkt-a") || !slices.Contains(names, "mc-bkt-b") {
		t.Fatalf("ListBuckets: %v", names)
	}
	// A client without a region asks the bucket's location (GET ?location).
	loc, err := noRegion.GetBucketLocation(ctx, "mc-bkt-a")
	if err != nil || loc != region {
		t.Fatalf("GetBucketLocation: %q %v, want %q", loc, err, region)
	}
	if ok, err := noRegion.BucketExists(ctx, "mc-bkt-b"); err != nil || !ok {
		t.Fatalf("BucketExists without a region: %v %v", ok, err)
	}
	minioPut(ctx, t, noRegion, "mc-bkt-b", "k", []byte("through the location lookup"), minio.PutObjectOptions{})
	minioMustRead(ctx, t, noRegion, "mc-bkt-b", "k", minio.GetObjectOptions{}, []byte("through the location lookup"))

	// Bucket tagging.
	if _, err := mc.GetBucketTagging(ctx, "mc-bkt-a"); minioCode(err) != "NoSuchTagSet" {
		t.Fatalf("GetBucketTagging without tags: %v", err)
	}
	bt, err := tags.MapToBucketTags(map[string]string{"team": "storage", "env": "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.SetBucketTagging(ctx, "mc-bkt-a", bt); err != nil {
		t.Fatalf("SetBucketTagging: %v", err)
	}
	got, err := mc.GetBucketTagging(ctx, "mc-bkt-a")
	if err != nil {
		t.Fatalf("GetBucketTagging: %v", err)
	}
	if m := got.ToMap(); len(m) != 2 || m["team"] != "storage" || m["env"] != "test" {
		t.Fatalf("GetBucketTagging: %v", m)
	}
	if err := mc.RemoveBucketTagging(ctx, "mc-bkt-a"); err != nil {
		t.Fatalf("RemoveBucketTagging: %v", err)
	}
	if _, err := mc.GetBucketTagging(ctx, "mc-bkt-a"); minioCode(err) != "NoSuchTagSet" {
		t.Fatalf("GetBucketTagging after removal: %v", err)
	}

	if err := mc.RemoveBucket(ctx, "mc-bkt-b"); minioCode(err) != "BucketNotEmpty" {
		t.Fatalf("removing a non-empty bucket: %v", err)
	}
	if err := mc.RemoveObject(ctx, "mc-bkt-b", "k", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"mc-bkt-a", "mc-bkt-b"} {
		if err := mc.RemoveBucket(ctx, b); err != nil {
			t.Fatalf("remove bucket %s: %v", b, err)
		}
	}
	if _, err := mc.GetBucketTagging(ctx, "mc-bkt-a"); minioCode(err) != "NoSuchBucket" {
		t.Fatalf("GetBucketTagging of a removed bucket: %v", err)
	}
}

func minioVersioning(ctx context.Context, t *testing.T, mc *minio.Client, region string) {
	const b = "mc-versions"
	minioMakeBucket(ctx, t, mc, region, b)
	if cfg, err := mc.GetBucketVersioning(ctx, b); err != nil || cfg.Status != "" {
		t.Fatalf("versioning of a new bucket: %+v %v", cfg, err)
	}
	minioPut(ctx, t, mc, b, "doc", []byte("before versioning"), minio.PutObjectOptions{})
	if err := mc.EnableVersioning(ctx, b); err != nil {
		t.Fatalf("EnableVersioning: %v", err)
	}
	if cfg, err := mc.GetBucketVersioning(ctx, b); err != nil || !cfg.Enabled() {
		t.Fatalf("after EnableVersioning: %+v %v", cfg, err)
	}
	v1 := minioPut(ctx, t, mc, b, "doc", []byte("version one"), minio.PutObjectOptions{})
	v2 := minioPut(ctx, t, mc, b, "doc", []byte("version two"), minio.PutObjectOptions{})
	if v1.VersionID == "" || v2.VersionID == "" || v1.VersionID == v2.VersionID || v1.VersionID == "null" {
		t.Fatalf("version IDs %q %q", v1.VersionID, v2.VersionID)
	}
	minioMustRead(ctx, t, mc, b, "doc", minio.GetObjectOptions{VersionID: v1.VersionID}, []byte("version one"))
	minioMustRead(ctx, t, mc, b, "doc", minio.GetObjectOptions{VersionID: "null"}, []byte("before versioning"))
	if st, err := mc.StatObject(ctx, b, "doc", minio.StatObjectOptions{VersionID: v1.VersionID}); err != nil || st.VersionID != v1.VersionID || st.Size != int64(len("version one")) {
		t.Fatalf("stat of v1: %+v %v", st, err)
	}

	// A plain delete makes a delete marker; the key then looks absent.
	if err := mc.RemoveObject(ctx, b, "doc", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.StatObject(ctx, b, "doc", minio.StatObjectOptions{}); minioCode(err) != "NoSuchKey" {
		t.Fatalf("stat behind a delete marker: %v", err)
	}
	if keys := minioKeys(t, mc.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true})); len(keys) != 0 {
		t.Fatalf("current listing shows %v behind a delete marker", keys)
	}
	type ver struct {
		id             string
		latest, marker bool
	}
	var vers []ver
	for o := range mc.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if o.Key != "doc" {
			t.Fatalf("version of %q", o.Key)
		}
		vers = append(vers, ver{o.VersionID, o.IsLatest, o.IsDeleteMarker})
	}
	if len(vers) != 4 || !vers[0].marker || !vers[0].latest || vers[1].id != v2.VersionID || vers[1].latest || vers[1].marker ||
		vers[2].id != v1.VersionID || vers[3].id != "null" {
		t.Fatalf("versions: %+v", vers)
	}
	marker := vers[0].id
	// The same listing one entry per page follows key and version-id
	// markers.
	var paged []string
	for o := range mc.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true, WithVersions: true, MaxKeys: 1}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		paged = append(paged, o.VersionID)
	}
	if fmt.Sprint(paged) != fmt.Sprint([]string{marker, v2.VersionID, v1.VersionID, "null"}) {
		t.Fatalf("paged versions: %v", paged)
	}
	// Tags of one version.
	vt, _ := tags.MapToObjectTags(map[string]string{"which": "v1"})
	if err := mc.PutObjectTagging(ctx, b, "doc", vt, minio.PutObjectTaggingOptions{VersionID: v1.VersionID}); err != nil {
		t.Fatalf("tag v1: %v", err)
	}
	if tg, err := mc.GetObjectTagging(ctx, b, "doc", minio.GetObjectTaggingOptions{VersionID: v1.VersionID}); err != nil || fmt.Sprint(tg.ToMap()) != "map[which:v1]" {
		t.Fatalf("tags of v1: %v %v", tg, err)
	}
	if tg, err := mc.GetObjectTagging(ctx, b, "doc", minio.GetObjectTaggingOptions{VersionID: v2.VersionID}); err != nil || len(tg.ToMap()) != 0 {
		t.Fatalf("tags of v2: %v %v", tg, err)
	}

	// Removing the marker by its ID brings v2 back.
	if err := mc.RemoveObject(ctx, b, "doc", minio.RemoveObjectOptions{VersionID: marker}); err != nil {
		t.Fatalf("remove delete marker: %v", err)
	}
	if st, err := mc.StatObject(ctx, b, "doc", minio.StatObjectOptions{}); err != nil || st.VersionID != v2.VersionID {
		t.Fatalf("current after removing the marker: %+v %v", st, err)
	}
	// Copying an old version restores it as a new one.
	restored, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "doc"}, minio.CopySrcOptions{Bucket: b, Object: "doc", VersionID: v1.VersionID})
	if err != nil {
		t.Fatalf("copy of v1 onto itself: %v", err)
	}
	if restored.VersionID == "" || restored.VersionID == v1.VersionID || restored.VersionID == v2.VersionID {
		t.Fatalf("restored version ID %q", restored.VersionID)
	}
	minioMustRead(ctx, t, mc, b, "doc", minio.GetObjectOptions{}, []byte("version one"))
	// Removing a version by ID deletes it for good.
	if err := mc.RemoveObject(ctx, b, "doc", minio.RemoveObjectOptions{VersionID: v2.VersionID}); err != nil {
		t.Fatal(err)
	}
	if _, err := minioRead(ctx, t, mc, b, "doc", minio.GetObjectOptions{VersionID: v2.VersionID}); minioCode(err) != "NoSuchVersion" {
		t.Fatalf("get of a removed version: %v", err)
	}

	if err := mc.SuspendVersioning(ctx, b); err != nil {
		t.Fatalf("SuspendVersioning: %v", err)
	}
	if cfg, err := mc.GetBucketVersioning(ctx, b); err != nil || !cfg.Suspended() {
		t.Fatalf("after SuspendVersioning: %+v %v", cfg, err)
	}
	if info := minioPut(ctx, t, mc, b, "doc", []byte("suspended"), minio.PutObjectOptions{}); info.VersionID != "" && info.VersionID != "null" {
		t.Fatalf("a write while suspended got version %q", info.VersionID)
	}
	minioMustRead(ctx, t, mc, b, "doc", minio.GetObjectOptions{VersionID: "null"}, []byte("suspended"))
	n := 0
	for o := range mc.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	if n != 3 { // null (suspended), restored, v1
		t.Fatalf("%d versions after suspending, want 3", n)
	}
	if err := mc.RemoveBucket(ctx, b); minioCode(err) != "BucketNotEmpty" {
		t.Fatalf("removing a bucket with versions: %v", err)
	}
	minioEmpty(ctx, t, mc, b)
}

func minioObjects(ctx context.Context, t *testing.T, mc *minio.Client, region string) {
	const b, dst = "mc-objects", "mc-objects-dst"
	minioMakeBucket(ctx, t, mc, region, b)
	minioMakeBucket(ctx, t, mc, region, dst)
	body := pattern(81, 300<<10+17)
	expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	info := minioPut(ctx, t, mc, b, "meta", body, minio.PutObjectOptions{
		UserMetadata:       map[string]string{"color": "blue", "Shape": "round"},
		UserTags:           map[string]string{"project": "cairn", "tier": "gold"},
		ContentType:        "application/x-cairn",
		ContentEncoding:    "identity",
		ContentDisposition: `attachment; filename="meta.bin"`,
		ContentLanguage:    "en",
		CacheControl:       "max-age=60",
		Expires:            expires,
	})
	st, err := mc.StatObject(ctx, b, "meta", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := st.Metadata
	if st.ETag != info.ETag || st.Size != int64(len(body)) || st.ContentType != "application/x-cairn" ||
		st.UserMetadata["Color"] != "blue" || st.UserMetadata["Shape"] != "round" || st.UserTagCount != 2 ||
		h.Get("Content-Encoding") != "identity" || h.Get("Content-Disposition") != `attachment; filename="meta.bin"` ||
		h.Get("Content-Language") != "en" || h.Get("Cache-Control") != "max-age=60" || !st.Expires.Equal(expires) {
		t.Fatalf("stat: %+v", st)
	}
	if tg, err := mc.GetObjectTagging(ctx, b, "meta", minio.GetObjectTaggingOptions{}); err != nil || fmt.Sprint(tg.ToMap()) != "map[project:cairn tier:gold]" {
		t.Fatalf("tags given on PUT: %v %v", tg, err)
	}

	// Ranges: first bytes, a middle, a suffix and an open end.
	for _, r := range []struct {
		start, end int64
		want       []byte
	}{
		{0, 9, body[:10]},
		{65530, 131080, body[65530:131081]},
		{0, -1000, body[len(body)-1000:]},
		{300 << 10, 0, body[300<<10:]},
	} {
		o := minio.GetObjectOptions{}
		if err := o.SetRange(r.start, r.end); err != nil {
			t.Fatal(err)
		}
		minioMustRead(ctx, t, mc, b, "meta", o, r.want)
	}

	// Conditionals on HEAD and GET.
	cond := func(set func(o *minio.StatObjectOptions) error) error {
		o := minio.StatObjectOptions{}
		if err := set(&o); err != nil {
			t.Fatal(err)
		}
		_, err := mc.StatObject(ctx, b, "meta", o)
		return err
	}
	if err := cond(func(o *minio.StatObjectOptions) error { return o.SetMatchETag(st.ETag) }); err != nil {
		t.Fatalf("If-Match with the ETag: %v", err)
	}
	if err := cond(func(o *minio.StatObjectOptions) error { return o.SetMatchETag("0123456789abcdef0123456789abcdef") }); minioCode(err) != "PreconditionFailed" {
		t.Fatalf("If-Match with another ETag: %v", err)
	}
	if err := cond(func(o *minio.StatObjectOptions) error { return o.SetMatchETagExcept(st.ETag) }); minio.ToErrorResponse(err).StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match with the ETag: %v", err)
	}
	if err := cond(func(o *minio.StatObjectOptions) error {
		return o.SetMatchETagExcept("0123456789abcdef0123456789abcdef")
	}); err != nil {
		t.Fatalf("If-None-Match with another ETag: %v", err)
	}
	if err := cond(func(o *minio.StatObjectOptions) error { return o.SetUnmodified(st.LastModified.Add(-time.Hour)) }); minioCode(err) != "PreconditionFailed" {
		t.Fatalf("If-Unmodified-Since before the write: %v", err)
	}
	if err := cond(func(o *minio.StatObjectOptions) error { return o.SetModified(st.LastModified.Add(time.Second)) }); minio.ToErrorResponse(err).StatusCode != http.StatusNotModified {
		t.Fatalf("If-Modified-Since after the write: %v", err)
	}
	go412 := minio.GetObjectOptions{}
	_ = go412.SetMatchETag("0123456789abcdef0123456789abcdef")
	if _, err := minioRead(ctx, t, mc, b, "meta", go412); minioCode(err) != "PreconditionFailed" {
		t.Fatalf("GET with a failing If-Match: %v", err)
	}

	// CopyObject across buckets, metadata and tags replaced, with a
	// copy-source condition that holds, then one that fails.
	cp, err := mc.CopyObject(ctx, minio.CopyDestOptions{
		Bucket: dst, Object: "copied",
		ReplaceMetadata: true, UserMetadata: map[string]string{"color": "red"}, ContentType: "text/x-copy",
		ReplaceTags: true, UserTags: map[string]string{"copied": "yes"},
	}, minio.CopySrcOptions{Bucket: b, Object: "meta", MatchETag: st.ETag})
	if err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	if cp.ETag != st.ETag || cp.LastModified.IsZero() {
		t.Fatalf("copy result: %+v", cp)
	}
	cst, err := mc.StatObject(ctx, dst, "copied", minio.StatObjectOptions{})
	if err != nil || cst.ContentType != "text/x-copy" || cst.UserMetadata["Color"] != "red" || cst.UserMetadata["Shape"] != "" {
		t.Fatalf("stat of the copy: %+v %v", cst, err)
	}
	if tg, err := mc.GetObjectTagging(ctx, dst, "copied", minio.GetObjectTaggingOptions{}); err != nil || fmt.Sprint(tg.ToMap()) != "map[copied:yes]" {
		t.Fatalf("tags of the copy: %v %v", tg, err)
	}
	minioMustRead(ctx, t, mc, dst, "copied", minio.GetObjectOptions{}, body)
	// Metadata COPY (the default) keeps the source's.
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "meta-copy"}, minio.CopySrcOptions{Bucket: b, Object: "meta", NoMatchETag: "0123456789abcdef0123456789abcdef"}); err != nil {
		t.Fatalf("CopyObject with metadata COPY: %v", err)
	}
	if s, err := mc.StatObject(ctx, b, "meta-copy", minio.StatObjectOptions{}); err != nil || s.ContentType != "application/x-cairn" || s.UserMetadata["Color"] != "blue" || s.UserTagCount != 2 {
		t.Fatalf("stat of the COPY copy: %+v %v", s, err)
	}
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: dst, Object: "never"}, minio.CopySrcOptions{Bucket: b, Object: "meta", MatchETag: "0123456789abcdef0123456789abcdef"}); minioCode(err) != "PreconditionFailed" {
		t.Fatalf("CopyObject with a failing copy-source-if-match: %v", err)
	}
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: dst, Object: "never"}, minio.CopySrcOptions{Bucket: b, Object: "meta", NoMatchETag: st.ETag}); minioCode(err) != "PreconditionFailed" {
		t.Fatalf("CopyObject with a failing copy-source-if-none-match: %v", err)
	}
	if _, err := mc.StatObject(ctx, dst, "never", minio.StatObjectOptions{}); minioCode(err) != "NoSuchKey" {
		t.Fatalf("a refused copy left an object: %v", err)
	}

	// ComposeObject: a multipart upload of byte ranges copied server side
	// (UploadPartCopy), every source but the last at least 5 MiB.
	a := pattern(82, 6<<20+321)
	small := pattern(83, 70<<10)
	minioPut(ctx, t, mc, b, "compose/a", a, minio.PutObjectOptions{})
	minioPut(ctx, t, mc, dst, "compose/small", small, minio.PutObjectOptions{})
	srcs := []minio.CopySrcOptions{
		{Bucket: b, Object: "compose/a", MatchRange: true, Start: 0, End: 5<<20 + 99},
		{Bucket: b, Object: "compose/a", MatchRange: true, Start: 1 << 20, End: 6<<20 + 320},
		{Bucket: dst, Object: "compose/small"},
	}
	composed, err := mc.ComposeObject(ctx, minio.CopyDestOptions{Bucket: dst, Object: "composed", ReplaceMetadata: true, UserMetadata: map[string]string{"kind": "composed"}}, srcs...)
	if err != nil {
		t.Fatalf("ComposeObject: %v", err)
	}
	want := slices.Concat(a[:5<<20+100], a[1<<20:], small)
	if composed.Size != int64(len(want)) {
		t.Fatalf("composed size %d, want %d", composed.Size, len(want))
	}
	minioMustRead(ctx, t, mc, dst, "composed", minio.GetObjectOptions{}, want)
	if s, err := mc.StatObject(ctx, dst, "composed", minio.StatObjectOptions{}); err != nil || s.UserMetadata["Kind"] != "composed" || len(s.ETag) < 3 || s.ETag[len(s.ETag)-2:] != "-3" {
		t.Fatalf("stat of the composed object: %+v %v", s, err)
	}

	// Object tagging.
	ot, err := tags.MapToObjectTags(map[string]string{"a": "1", "b": "two words"})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.PutObjectTagging(ctx, dst, "composed", ot, minio.PutObjectTaggingOptions{}); err != nil {
		t.Fatalf("PutObjectTagging: %v", err)
	}
	if tg, err := mc.GetObjectTagging(ctx, dst, "composed", minio.GetObjectTaggingOptions{}); err != nil || fmt.Sprint(tg.ToMap()) != "map[a:1 b:two words]" {
		t.Fatalf("GetObjectTagging: %v %v", tg, err)
	}
	if err := mc.RemoveObjectTagging(ctx, dst, "composed", minio.RemoveObjectTaggingOptions{}); err != nil {
		t.Fatalf("RemoveObjectTagging: %v", err)
	}
	if tg, err := mc.GetObjectTagging(ctx, dst, "composed", minio.GetObjectTaggingOptions{}); err != nil || len(tg.ToMap()) != 0 {
		t.Fatalf("tags after RemoveObjectTagging: %v %v", tg, err)
	}
	if _, err := mc.GetObjectTagging(ctx, dst, "missing", minio.GetObjectTaggingOptions{}); minioCode(err) != "NoSuchKey" {
		t.Fatalf("tagging of a missing key: %v", err)
	}

	minioEmpty(ctx, t, mc, b)
	minioEmpty(ctx, t, mc, dst)
}

func minioListings(ctx context.Context, t *testing.T, mc *minio.Client, region string) {
	const b = "mc-listings"
	minioMakeBucket(ctx, t, mc, region, b)
	all := []string{"list/a", "list/b", "list/c/d", "list/c/e", "list/f", "other", "spaces and+plus/ü"}
	for i, k := range all {
		minioPut(ctx, t, mc, b, k, pattern(int64(90+i), 10+i), minio.PutObjectOptions{})
	}
	for _, v1 := range []bool{false, true} {
		// MaxKeys 1 makes every page one entry, so continuation tokens
		// (V2) and markers (V1) are followed.
		got := minioKeys(t, mc.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true, UseV1: v1, MaxKeys: 1}))
		if fmt.Sprint(got) != fmt.Sprint(all) {
			t.Fatalf("v1=%v recursive: %q", v1, got)
		}
		got = minioKeys(t, mc.ListObjects(ctx, b, minio.ListObjectsOptions{Prefix: "list/", UseV1: v1, MaxKeys: 1}))
		if fmt.Sprint(got) != "[list/a list/b list/c/ list/f]" {
			t.Fatalf("v1=%v delimited: %q", v1, got)
		}
		got = minioKeys(t, mc.ListObjects(ctx, b, minio.ListObjectsOptions{Prefix: "spaces", UseV1: v1}))
		if fmt.Sprint(got) != "[spaces and+plus/]" {
			t.Fatalf("v1=%v prefix needing encoding: %q", v1, got)
		}
	}
	got := minioKeys(t, mc.ListObjects(ctx, b, minio.ListObjectsOptions{Prefix: "list/", Recursive: true, StartAfter: "list/b"}))
	if fmt.Sprint(got) != "[list/c/d list/c/e list/f]" {
		t.Fatalf("start-after: %q", got)
	}
	// Listings carry sizes and ETags; WithMetadata asks for metadata.
	for o := range mc.ListObjects(ctx, b, minio.ListObjectsOptions{Prefix: "list/a", WithMetadata: true}) {
		if o.Err != nil || o.Size != 10 || o.ETag == "" || o.LastModified.IsZero() {
			t.Fatalf("listed entry: %+v", o)
		}
	}

	// Bulk removal through the errors channel: the keys (and a missing
	// one, which S3 reports deleted), then a batch where one key is too
	// long, which is reported on the channel for that key alone. A
	// malformed version ID is InvalidArgument for its key, which
	// minio-go drops from the channel; the object must stay.
	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for _, k := range append(slices.Clone(all[:5]), "never-existed") {
			ch <- minio.ObjectInfo{Key: k}
		}
	}()
	for e := range mc.RemoveObjects(ctx, b, ch, minio.RemoveObjectsOptions{}) {
		t.Fatalf("RemoveObjects: %s: %v", e.ObjectName, e.Err)
	}
	long := string(bytes.Repeat([]byte("k"), 1025))
	ch = make(chan minio.ObjectInfo, 3)
	ch <- minio.ObjectInfo{Key: "other"}
	ch <- minio.ObjectInfo{Key: long}
	ch <- minio.ObjectInfo{Key: "spaces and+plus/ü", VersionID: "not-a-version"}
	close(ch)
	var failed []string
	for e := range mc.RemoveObjects(ctx, b, ch, minio.RemoveObjectsOptions{}) {
		if e.Err == nil {
			t.Fatalf("error entry without an error: %+v", e)
		}
		failed = append(failed, fmt.Sprintf("%d:%s", len(e.ObjectName), minioCode(e.Err)))
	}
	if fmt.Sprint(failed) != "[1025:KeyTooLongError]" {
		t.Fatalf("RemoveObjects errors: %q", failed)
	}
	if got := minioKeys(t, mc.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true})); fmt.Sprint(got) != "[spaces and+plus/ü]" {
		t.Fatalf("left after bulk removal: %q", got)
	}
	minioEmpty(ctx, t, mc, b)
}

// crc32cB64 is the base64 CRC-32C of b.
func crc32cB64(b []byte) string {
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	return base64.StdEncoding.EncodeToString(s[:])
}

func minioMultipart(ctx context.Context, t *testing.T, mc, mct *minio.Client, region string) {
	const b = "mc-multipart"
	minioMakeBucket(ctx, t, mc, region, b)

	// 64 MiB in 16 MiB parts, four uploaded at a time, with minio-go's
	// default checksums.
	const partSize = 16 << 20
	big := pattern(101, 64<<20)
	start := time.Now()
	info := minioPut(ctx, t, mc, b, "big", big, minio.PutObjectOptions{PartSize: partSize, NumThreads: 4, ContentType: "application/x-big"})
	t.Logf("64 MiB parallel multipart upload: %v", time.Since(start))
	if info.Size != int64(len(big)) || len(info.ETag) < 3 || info.ETag[len(info.ETag)-2:] != "-4" {
		t.Fatalf("multipart upload: %+v", info)
	}
	st, err := mc.StatObject(ctx, b, "big", minio.StatObjectOptions{})
	if err != nil || st.ETag != info.ETag || st.Size != int64(len(big)) || st.ContentType != "application/x-big" {
		t.Fatalf("stat: %+v %v", st, err)
	}

	// With trailing headers on (as the mc CLI sets them), minio-go sends
	// a CRC32C trailer with every part and asks for a COMPOSITE object
	// checksum; with Checksum set to a full-object CRC it asks for
	// FULL_OBJECT.
	start = time.Now()
	crcInfo := minioPut(ctx, t, mct, b, "big-crc", big, minio.PutObjectOptions{PartSize: partSize, NumThreads: 4})
	t.Logf("64 MiB parallel multipart upload with CRC32C trailers: %v", time.Since(start))
	if crcInfo.ETag != info.ETag {
		t.Fatalf("ETag %q with checksums, %q without", crcInfo.ETag, info.ETag)
	}
	var partSums []byte
	for i := 0; i < len(big); i += partSize {
		s, _ := base64.StdEncoding.DecodeString(crc32cB64(big[i : i+partSize]))
		partSums = append(partSums, s...)
	}
	if st, err := mc.StatObject(ctx, b, "big-crc", minio.StatObjectOptions{Checksum: true}); err != nil || st.ChecksumCRC32C != crc32cB64(partSums)+"-4" || st.ChecksumMode != "COMPOSITE" {
		t.Fatalf("composite CRC32C: %q %q %v, want %q", st.ChecksumCRC32C, st.ChecksumMode, err, crc32cB64(partSums)+"-4")
	}
	minioMustRead(ctx, t, mc, b, "big-crc", minio.GetObjectOptions{}, big)
	mid := big[:20<<20+3]
	minioPut(ctx, t, mct, b, "full-crc", mid, minio.PutObjectOptions{PartSize: 5 << 20, NumThreads: 3, Checksum: minio.ChecksumFullObjectCRC32C})
	if st, err := mc.StatObject(ctx, b, "full-crc", minio.StatObjectOptions{Checksum: true}); err != nil || st.ChecksumCRC32C != crc32cB64(mid) || st.ChecksumMode != "FULL_OBJECT" {
		t.Fatalf("full-object CRC32C: %q %q %v, want %q", st.ChecksumCRC32C, st.ChecksumMode, err, crc32cB64(mid))
	}
	minioMustRead(ctx, t, mc, b, "full-crc", minio.GetObjectOptions{}, mid)
	// Single PUTs with a CRC32C trailer, unsigned payload
	// (STREAMING-UNSIGNED-PAYLOAD-TRAILER) and signed chunks
	// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER).
	for key, unsigned := range map[string]bool{"single-unsigned": true, "single-signed": false} {
		one := mid[:1<<20+7]
		minioPut(ctx, t, mct, b, key, one, minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C, DisableContentSha256: unsigned})
		if st, err := mc.StatObject(ctx, b, key, minio.StatObjectOptions{Checksum: true}); err != nil || st.ChecksumCRC32C != crc32cB64(one) {
			t.Fatalf("%s CRC32C: %q %v, want %q", key, st.ChecksumCRC32C, err, crc32cB64(one))
		}
		minioMustRead(ctx, t, mc, b, key, minio.GetObjectOptions{}, one)
	}
	minioMustRead(ctx, t, mc, b, "big", minio.GetObjectOptions{}, big)
	o := minio.GetObjectOptions{}
	_ = o.SetRange(partSize-10, 3*partSize+10)
	minioMustRead(ctx, t, mc, b, "big", o, big[partSize-10:3*partSize+11])
	pn := minio.GetObjectOptions{PartNumber: 2}
	minioMustRead(ctx, t, mc, b, "big", pn, big[partSize:2*partSize])

	// The low-level API: an upload completed by hand, one abandoned and
	// removed with RemoveIncompleteUpload, one aborted.
	core := minio.Core{Client: mc}
	p1, p2 := pattern(102, 5<<20), pattern(103, 1000)
	id, err := core.NewMultipartUpload(ctx, b, "core/done", minio.PutObjectOptions{ContentType: "text/x-core", UserMetadata: map[string]string{"via": "core"}})
	if err != nil {
		t.Fatalf("NewMultipartUpload: %v", err)
	}
	var parts []minio.CompletePart
	for n, p := range [][]byte{p1, p2} {
		op, err := core.PutObjectPart(ctx, b, "core/done", id, n+1, bytes.NewReader(p), int64(len(p)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatalf("PutObjectPart %d: %v", n+1, err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: n + 1, ETag: op.ETag})
	}
	lp, err := core.ListObjectParts(ctx, b, "core/done", id, 0, 1000)
	if err != nil || len(lp.ObjectParts) != 2 || lp.ObjectParts[0].Size != 5<<20 || lp.ObjectParts[1].Size != 1000 ||
		strings.Trim(lp.ObjectParts[1].ETag, `"`) != strings.Trim(parts[1].ETag, `"`) {
		t.Fatalf("ListObjectParts: %+v %v", lp, err)
	}
	abandonID, err := core.NewMultipartUpload(ctx, b, "core/abandoned", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.PutObjectPart(ctx, b, "core/abandoned", abandonID, 1, bytes.NewReader(p2), int64(len(p2)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	abortID, err := core.NewMultipartUpload(ctx, b, "core/aborted", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uploads := map[string]string{}
	for u := range mc.ListIncompleteUploads(ctx, b, "core/", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		uploads[u.Key] = u.UploadID
	}
	if len(uploads) != 3 || uploads["core/done"] != id || uploads["core/abandoned"] != abandonID || uploads["core/aborted"] != abortID {
		t.Fatalf("ListIncompleteUploads: %v", uploads)
	}
	lmu, err := core.ListMultipartUploads(ctx, b, "core/", "", "", "/", 1000)
	if err != nil || len(lmu.Uploads) != 3 {
		t.Fatalf("ListMultipartUploads: %+v %v", lmu, err)
	}
	if err := core.AbortMultipartUpload(ctx, b, "core/aborted", abortID); err != nil {
		t.Fatalf("AbortMultipartUpload: %v", err)
	}
	if _, err := core.ListObjectParts(ctx, b, "core/aborted", abortID, 0, 1000); minioCode(err) != "NoSuchUpload" {
		t.Fatalf("parts of an aborted upload: %v", err)
	}
	if err := mc.RemoveIncompleteUpload(ctx, b, "core/abandoned"); err != nil {
		t.Fatalf("RemoveIncompleteUpload: %v", err)
	}
	done, err := core.CompleteMultipartUpload(ctx, b, "core/done", id, parts, minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if done.ETag[len(done.ETag)-2:] != "-2" {
		t.Fatalf("completed ETag %q", done.ETag)
	}
	minioMustRead(ctx, t, mc, b, "core/done", minio.GetObjectOptions{}, slices.Concat(p1, p2))
	if s, err := mc.StatObject(ctx, b, "core/done", minio.StatObjectOptions{}); err != nil || s.ContentType != "text/x-core" || s.UserMetadata["Via"] != "core" {
		t.Fatalf("stat of the completed object: %+v %v", s, err)
	}
	var left []string
	for u := range mc.ListIncompleteUploads(ctx, b, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		left = append(left, u.Key)
	}
	if len(left) != 0 {
		t.Fatalf("uploads left: %v", left)
	}
	minioEmpty(ctx, t, mc, b)
}

func minioSSEC(ctx context.Context, t *testing.T, mc *minio.Client, region string) {
	const b = "mc-ssec"
	minioMakeBucket(ctx, t, mc, region, b)
	k1, err := encrypt.NewSSEC(pattern(111, 32))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := encrypt.NewSSEC(pattern(112, 32))
	if err != nil {
		t.Fatal(err)
	}
	small := pattern(113, 200<<10)
	large := pattern(114, 11<<20+5)
	minioPut(ctx, t, mc, b, "small", small, minio.PutObjectOptions{ServerSideEncryption: k1})
	if info := minioPut(ctx, t, mc, b, "large", large, minio.PutObjectOptions{ServerSideEncryption: k1, PartSize: 5 << 20}); info.ETag[len(info.ETag)-2:] != "-3" {
		t.Fatalf("SSE-C multipart ETag %q", info.ETag)
	}
	for key, want := range map[string][]byte{"small": small, "large": large} {
		minioMustRead(ctx, t, mc, b, key, minio.GetObjectOptions{ServerSideEncryption: k1}, want)
		st, err := mc.StatObject(ctx, b, key, minio.StatObjectOptions{ServerSideEncryption: k1})
		if err != nil || st.Size != int64(len(want)) || st.Metadata.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") != "AES256" {
			t.Fatalf("stat %s with its key: %+v %v", key, st, err)
		}
		if _, err := mc.StatObject(ctx, b, key, minio.StatObjectOptions{}); minio.ToErrorResponse(err).StatusCode != http.StatusBadRequest {
			t.Fatalf("stat %s without the key: %v", key, err)
		}
		if _, err := mc.StatObject(ctx, b, key, minio.StatObjectOptions{ServerSideEncryption: k2}); minio.ToErrorResponse(err).StatusCode != http.StatusForbidden {
			t.Fatalf("stat %s with another key: %v", key, err)
		}
		if _, err := minioRead(ctx, t, mc, b, key, minio.GetObjectOptions{ServerSideEncryption: k2}); minioCode(err) != "AccessDenied" {
			t.Fatalf("get %s with another key: %v", key, err)
		}
		o := minio.GetObjectOptions{ServerSideEncryption: k1}
		_ = o.SetRange(0, -777)
		minioMustRead(ctx, t, mc, b, key, o, want[len(want)-777:])
	}
	// Copies: re-keyed, decrypted to plain, and encrypted from plain.
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "rekeyed", Encryption: k2}, minio.CopySrcOptions{Bucket: b, Object: "large", Encryption: k1}); err != nil {
		t.Fatalf("copy k1 -> k2: %v", err)
	}
	minioMustRead(ctx, t, mc, b, "rekeyed", minio.GetObjectOptions{ServerSideEncryption: k2}, large)
	if _, err := minioRead(ctx, t, mc, b, "rekeyed", minio.GetObjectOptions{ServerSideEncryption: k1}); minioCode(err) != "AccessDenied" {
		t.Fatalf("the re-keyed copy opened with the old key: %v", err)
	}
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "plain"}, minio.CopySrcOptions{Bucket: b, Object: "small", Encryption: k1}); err != nil {
		t.Fatalf("copy k1 -> plain: %v", err)
	}
	minioMustRead(ctx, t, mc, b, "plain", minio.GetObjectOptions{}, small)
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "from-plain", Encryption: k2}, minio.CopySrcOptions{Bucket: b, Object: "plain"}); err != nil {
		t.Fatalf("copy plain -> k2: %v", err)
	}
	minioMustRead(ctx, t, mc, b, "from-plain", minio.GetObjectOptions{ServerSideEncryption: k2}, small)
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "never"}, minio.CopySrcOptions{Bucket: b, Object: "small", Encryption: k2}); minioCode(err) != "AccessDenied" {
		t.Fatalf("copy with the wrong source key: %v", err)
	}
	minioEmpty(ctx, t, mc, b)
}

func minioPresigned(ctx context.Context, t *testing.T, mc *minio.Client, region string) {
	const b = "mc-presigned"
	minioMakeBucket(ctx, t, mc, region, b)
	body := pattern(121, 40<<10)

	// PUT with a signed Content-Type header.
	putURL, err := mc.PresignHeader(ctx, http.MethodPut, b, "obj", time.Hour, nil, http.Header{"Content-Type": {"text/x-presigned"}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, putURL.String(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/x-presigned")
	if status, msg := httpStatus(t, req); status != http.StatusOK {
		t.Fatalf("presigned PUT: %d %s", status, msg)
	}
	// The signed header must be sent as signed.
	req, _ = http.NewRequestWithContext(ctx, http.MethodPut, putURL.String(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/x-other")
	if status, msg := httpStatus(t, req); status != http.StatusForbidden {
		t.Fatalf("presigned PUT with another Content-Type: %d %s", status, msg)
	}
	plainPut, err := mc.PresignedPutObject(ctx, b, "obj2", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPut, plainPut.String(), bytes.NewReader(body[:100]))
	if status, msg := httpStatus(t, req); status != http.StatusOK {
		t.Fatalf("PresignedPutObject: %d %s", status, msg)
	}
	minioMustRead(ctx, t, mc, b, "obj2", minio.GetObjectOptions{}, body[:100])

	// GET with response header overrides.
	getURL, err := mc.PresignedGetObject(ctx, b, "obj", time.Hour, url.Values{"response-content-disposition": {`attachment; filename="x.txt"`}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(getURL.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) || resp.Header.Get("Content-Type") != "text/x-presigned" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="x.txt"` {
		t.Fatalf("presigned GET: %d %v", resp.StatusCode, resp.Header)
	}

	headURL, err := mc.PresignedHeadObject(ctx, b, "obj", time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Head(headURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(body)) {
		t.Fatalf("presigned HEAD: %d length %d", resp.StatusCode, resp.ContentLength)
	}
	// A URL signed for HEAD does not GET.
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, headURL.String(), nil)
	if status, _ := httpStatus(t, req); status != http.StatusForbidden {
		t.Fatalf("GET with a HEAD signature: %d", status)
	}

	for _, key := range []string{"obj", "obj2"} {
		delURL, err := mc.Presign(ctx, http.MethodDelete, b, key, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		req, _ = http.NewRequestWithContext(ctx, http.MethodDelete, delURL.String(), nil)
		if status, msg := httpStatus(t, req); status != http.StatusNoContent {
			t.Fatalf("presigned DELETE %s: %d %s", key, status, msg)
		}
	}
	if keys := minioKeys(t, mc.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true})); len(keys) != 0 {
		t.Fatalf("left after presigned deletes: %v", keys)
	}
	// An expired URL is refused.
	short, err := mc.PresignedGetObject(ctx, b, "obj", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, short.String(), nil)
	if status, _ := httpStatus(t, req); status != http.StatusForbidden {
		t.Fatalf("expired presigned GET: %d", status)
	}
	minioEmpty(ctx, t, mc, b)
}

func minioNotImplemented(ctx context.Context, t *testing.T, mc *minio.Client, region string) {
	const b = "mc-unsupported"
	minioMakeBucket(ctx, t, mc, region, b)
	codes := map[string]string{}
	_, err := mc.GetBucketEncryption(ctx, b)
	codes["GetBucketEncryption"] = minioCode(err)
	_, err = mc.GetBucketReplication(ctx, b)
	codes["GetBucketReplication"] = minioCode(err)
	var names []string
	for n, code := range codes {
		if code != "NotImplemented" {
			names = append(names, n+"="+code)
		}
	}
	sort.Strings(names)
	if len(names) != 0 {
		t.Fatalf("not answered NotImplemented: %v", names)
	}
	// Bucket policies are served: one without statements is malformed.
	if code := minioCode(mc.SetBucketPolicy(ctx, b, `{"Version":"2012-10-17","Statement":[]}`)); code != "MalformedPolicy" {
		t.Fatalf("SetBucketPolicy without statements: %s", code)
	}
	// Object lock is served: a bucket without it says so, as S3 does.
	if _, _, _, _, err = mc.GetObjectLockConfig(ctx, b); minioCode(err) != "ObjectLockConfigurationNotFoundError" {
		t.Fatalf("GetObjectLockConfig of a bucket without object lock: %v", err)
	}
	if err := mc.RemoveBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
}
