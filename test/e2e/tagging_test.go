package e2e

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// TestTaggingConditionalPartCopy runs object and bucket tagging,
// conditional writes and UploadPartCopy against one multi-process cluster
// (3 meta, 6 data, 1 gateway).
func TestTaggingConditionalPartCopy(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)
	mustCreateBucket(t, cl, "tags")
	t.Run("ObjectTagging", func(t *testing.T) { testObjectTagging(t, cl) })
	t.Run("TaggingHeaderAndUploader", func(t *testing.T) { testTaggingHeaderAndUploader(t, cl) })
	t.Run("TagLimits", func(t *testing.T) { testTagLimits(t, cl, c) })
	t.Run("BucketTagging", func(t *testing.T) { testBucketTagging(t, cl) })
	t.Run("CopyTaggingDirective", func(t *testing.T) { testCopyTaggingDirective(t, cl) })
	t.Run("ConditionalRace", func(t *testing.T) { testConditionalRace(t, cl) })
	t.Run("ConditionalIfMatch", func(t *testing.T) { testConditionalIfMatch(t, cl) })
	t.Run("PartCopy", func(t *testing.T) { testPartCopy(t, cl) })
}

func e2eTags(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// objectTags returns an object's tags as "k=v&k=v" in the order S3 sends
// them (by key).
func objectTags(t *testing.T, cl *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := cl.GetObjectTagging(ctxT(t, 30*time.Second), &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get tagging of %s/%s: %v", bucket, key, err)
	}
	var parts []string
	for _, tg := range out.TagSet {
		parts = append(parts, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	return strings.Join(parts, "&")
}

func testObjectTagging(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	body := pattern(1, 300<<10) // erasure coded
	mustPut(t, cl, "tags", "obj", body)
	if got := objectTags(t, cl, "tags", "obj"); got != "" {
		t.Fatalf("new object has tags %q", got)
	}
	if _, err := cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("obj"),
		Tagging: &types.Tagging{TagSet: e2eTags("project", "cairn", "Stage", "e2e test", "empty", "")}}); err != nil {
		t.Fatal(err)
	}
	if got := objectTags(t, cl, "tags", "obj"); got != "Stage=e2e test&empty=&project=cairn" {
		t.Fatalf("tags %q", got)
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("tags"), Key: aws.String("obj")})
	if err != nil || aws.ToInt32(head.TagCount) != 3 {
		t.Fatalf("head: tag count %v, %v", head.TagCount, err)
	}
	got, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("tags"), Key: aws.String("obj")})
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if aws.ToInt32(got.TagCount) != 3 {
		t.Fatalf("get: tag count %d", aws.ToInt32(got.TagCount))
	}
	// Tagging leaves the object as it was.
	mustGetEqual(t, cl, "tags", "obj", body)
	if _, err := cl.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("obj")}); err != nil {
		t.Fatal(err)
	}
	if got := objectTags(t, cl, "tags", "obj"); got != "" {
		t.Fatalf("tags after delete %q", got)
	}
	_, err = cl.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("missing")})
	wantAPIError(t, err, "NoSuchKey", 404)
}

func testTaggingHeaderAndUploader(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, 2*time.Minute)
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("small"), Body: strings.NewReader("tiny"),
		Tagging: aws.String("color=blue&size=small%20one")}); err != nil {
		t.Fatal(err)
	}
	if got := objectTags(t, cl, "tags", "small"); got != "color=blue&size=small one" {
		t.Fatalf("x-amz-tagging on PutObject: %q", got)
	}
	data := pattern(2, 2*partSize+777)
	up := manager.NewUploader(cl, func(u *manager.Uploader) { u.PartSize = partSize; u.Concurrency = 3 })
	if _, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("multipart"),
		Body: bytes.NewReader(data), Tagging: aws.String("via=uploader&parts=3")}); err != nil {
		t.Fatal(err)
	}
	if got := objectTags(t, cl, "tags", "multipart"); got != "parts=3&via=uploader" {
		t.Fatalf("x-amz-tagging through the uploader: %q", got)
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("tags"), Key: aws.String("multipart")})
	if err != nil || aws.ToInt32(head.TagCount) != 2 || !strings.HasSuffix(aws.ToString(head.ETag), `-3"`) {
		t.Fatalf("head: tag count %v etag %s, %v", head.TagCount, aws.ToString(head.ETag), err)
	}
	mustGetEqual(t, cl, "tags", "multipart", data)
}

func testTagLimits(t *testing.T, cl *s3.Client, c *harness.Cluster) {
	ctx := ctxT(t, time.Minute)
	mustPut(t, cl, "tags", "limits", []byte("limits"))
	if _, err := cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("limits"),
		Tagging: &types.Tagging{TagSet: e2eTags("keep", "me")}}); err != nil {
		t.Fatal(err)
	}
	var eleven []string
	var header []string
	for i := range 11 {
		eleven = append(eleven, fmt.Sprint("k", i), "v")
		header = append(header, fmt.Sprintf("k%d=v", i))
	}
	// S3 answers BadRequest here (its documentation says InvalidTag).
	_, err := cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("limits"),
		Tagging: &types.Tagging{TagSet: e2eTags(eleven...)}})
	wantAPIError(t, err, "BadRequest", 400)
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("eleven"), Body: strings.NewReader("x"),
		Tagging: aws.String(strings.Join(header, "&"))})
	wantAPIError(t, err, "BadRequest", 400)
	_, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("tags"), Key: aws.String("eleven")})
	wantAPIError(t, err, "", 404)

	_, err = cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("limits"),
		Tagging: &types.Tagging{TagSet: e2eTags("dup", "1", "dup", "2")}})
	wantAPIError(t, err, "InvalidTag", 400)
	_, err = cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("limits"),
		Tagging: &types.Tagging{TagSet: e2eTags(strings.Repeat("k", 129), "v")}})
	wantAPIError(t, err, "InvalidTag", 400)
	if got := objectTags(t, cl, "tags", "limits"); got != "keep=me" {
		t.Fatalf("refused tag sets changed the tags: %q", got)
	}

	// Malformed XML, sent raw with the Content-MD5 S3 requires.
	doc := []byte("<Tagging><TagSet><Tag><Key>a</Key></TagSet>")
	req, err := http.NewRequest("PUT", c.Endpoint+"/tags/limits?tagging", bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-MD5", contentMD5(doc))
	signV4(t, c, req, doc)
	if st, body := httpStatus(t, req); st != 400 || !strings.Contains(string(body), "<Code>MalformedXML</Code>") {
		t.Fatalf("malformed tagging XML: %d %s", st, body)
	}
}

func testBucketTagging(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	mustCreateBucket(t, cl, "tagged-bucket")
	_, err := cl.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tagged-bucket")})
	wantAPIError(t, err, "NoSuchTagSet", 404)
	if _, err := cl.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("tagged-bucket"),
		Tagging: &types.Tagging{TagSet: e2eTags("team", "storage", "cost-center", "42")}}); err != nil {
		t.Fatal(err)
	}
	out, err := cl.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tagged-bucket")})
	if err != nil || len(out.TagSet) != 2 || aws.ToString(out.TagSet[0].Key) != "cost-center" || aws.ToString(out.TagSet[1].Value) != "storage" {
		t.Fatalf("bucket tags %+v, %v", out, err)
	}
	if _, err := cl.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String("tagged-bucket")}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tagged-bucket")})
	wantAPIError(t, err, "NoSuchTagSet", 404)
}

func testCopyTaggingDirective(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("copy-src"),
		Body: bytes.NewReader(pattern(3, 100<<10)), Tagging: aws.String("origin=source")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("tags"), Key: aws.String("copy-default"),
		CopySource: aws.String("tags/copy-src")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("tags"), Key: aws.String("copy-copy"),
		CopySource: aws.String("tags/copy-src"), TaggingDirective: types.TaggingDirectiveCopy, Tagging: aws.String("ignored=yes")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("tags"), Key: aws.String("copy-replace"),
		CopySource: aws.String("tags/copy-src"), TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("origin=copy&new=1")}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"copy-default": "origin=source", "copy-copy": "origin=source", "copy-replace": "new=1&origin=copy"} {
		if got := objectTags(t, cl, "tags", key); got != want {
			t.Errorf("%s: tags %q, want %q", key, got, want)
		}
	}
}

func testConditionalRace(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, 2*time.Minute)
	const writers = 8
	bodies := make([][]byte, writers)
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		bodies[i] = pattern(int64(100+i), 64<<10) // erasure coded
		wg.Go(func() {
			<-start
			_, errs[i] = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("race"),
				Body: bytes.NewReader(bodies[i]), IfNoneMatch: aws.String("*")})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("writers %d and %d both won", winner, i)
			}
			winner = i
			continue
		}
		wantAPIError(t, err, "PreconditionFailed", 412)
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	mustGetEqual(t, cl, "tags", "race", bodies[winner])
	_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("race"),
		Body: strings.NewReader("late"), IfNoneMatch: aws.String("*")})
	wantAPIError(t, err, "PreconditionFailed", 412)
}

func testConditionalIfMatch(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	first, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("ifmatch"), Body: strings.NewReader("one")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("ifmatch"), Body: strings.NewReader("two"),
		IfMatch: aws.String(`"00000000000000000000000000000000"`)})
	wantAPIError(t, err, "PreconditionFailed", 412)
	mustGetEqual(t, cl, "tags", "ifmatch", []byte("one"))
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("ifmatch"), Body: strings.NewReader("three"),
		IfMatch: first.ETag}); err != nil {
		t.Fatal(err)
	}
	mustGetEqual(t, cl, "tags", "ifmatch", []byte("three"))
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("ifmatch-missing"), Body: strings.NewReader("x"),
		IfMatch: first.ETag})
	wantAPIError(t, err, "NoSuchKey", 404)
}

func testPartCopy(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, 2*time.Minute)
	a := pattern(4, partSize+300<<10)
	b := pattern(5, partSize+123)
	mustPut(t, cl, "tags", "part-src-a", a)
	mustPut(t, cl, "tags", "part-src-b", b)
	cr, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("tags"), Key: aws.String("assembled")})
	if err != nil {
		t.Fatal(err)
	}
	type piece struct {
		source     string
		data       []byte
		first, end int // the range [first, end)
	}
	pieces := []piece{
		{"tags/part-src-a", a, 100, 100 + partSize},
		{"tags/part-src-b", b, 0, len(b)}, // whole source, no range header
		{"tags/part-src-a", a, 7, 70007},
	}
	var want []byte
	var parts []types.CompletedPart
	for i, p := range pieces {
		in := &s3.UploadPartCopyInput{Bucket: aws.String("tags"), Key: aws.String("assembled"), UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), CopySource: aws.String(p.source)}
		if p.first != 0 || p.end != len(p.data) {
			in.CopySourceRange = aws.String(fmt.Sprintf("bytes=%d-%d", p.first, p.end-1))
		}
		out, err := cl.UploadPartCopy(ctx, in)
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		want = append(want, p.data[p.first:p.end]...)
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag})
	}
	_, err = cl.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("tags"), Key: aws.String("assembled"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(9), CopySource: aws.String("tags/part-src-b"), CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", len(b)))})
	wantAPIError(t, err, "InvalidArgument", 400)
	_, err = cl.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("tags"), Key: aws.String("assembled"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(9), CopySource: aws.String("tags/part-src-b"), CopySourceRange: aws.String("bytes=10-")})
	wantAPIError(t, err, "InvalidArgument", 400)
	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("tags"), Key: aws.String("assembled"),
		UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	mustGetEqual(t, cl, "tags", "assembled", want)
	rng, err := get(ctx, cl, "tags", "assembled", fmt.Sprintf("bytes=%d-%d", partSize-5, partSize+5))
	if err != nil || !bytes.Equal(rng, want[partSize-5:partSize+6]) {
		t.Fatalf("range across the copied parts: %v", err)
	}
}

func contentMD5(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}
