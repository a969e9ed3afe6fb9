package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// mpDo sends a SigV4-signed raw request to the test gateway.
func mpDo(t *testing.T, base, method, path string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mpBody(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

type mpUpload struct {
	t      *testing.T
	cl     *s3.Client
	bucket string
	key    string
	id     string
}

func startUpload(t *testing.T, cl *s3.Client, bucket, key string) *mpUpload {
	t.Helper()
	out, err := cl.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), ContentType: aws.String("text/x-parts"),
		Metadata: map[string]string{"color": "green"}, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	})
	if err != nil {
		t.Fatalf("create upload: %v", err)
	}
	return &mpUpload{t: t, cl: cl, bucket: bucket, key: key, id: aws.ToString(out.UploadId)}
}

func (u *mpUpload) put(n int32, body []byte) (*s3.UploadPartOutput, error) {
	return u.cl.UploadPart(context.Background(), &s3.UploadPartInput{
		Bucket: aws.String(u.bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
		PartNumber: aws.Int32(n), Body: bytes.NewReader(body), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	})
}

func (u *mpUpload) mustPut(n int32, body []byte) types.CompletedPart {
	u.t.Helper()
	out, err := u.put(n, body)
	if err != nil {
		u.t.Fatalf("upload part %d: %v", n, err)
	}
	sum := md5.Sum(body)
	if got, want := aws.ToString(out.ETag), `"`+hex.EncodeToString(sum[:])+`"`; got != want {
		u.t.Fatalf("part %d etag %s, want %s", n, got, want)
	}
	if aws.ToString(out.ChecksumCRC32) == "" {
		u.t.Fatalf("part %d: no CRC32 echoed", n)
	}
	return types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32}
}

func (u *mpUpload) complete(parts ...types.CompletedPart) (*s3.CompleteMultipartUploadOutput, error) {
	return u.cl.CompleteMultipartUpload(context.Background(), &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(u.bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
}

func multipartETagOf(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		sum := md5.Sum(p)
		h.Write(sum[:])
	}
	return fmt.Sprintf(`"%x-%d"`, h.Sum(nil), len(parts))
}

func TestMultipartUploadRoundTrip(t *testing.T) {
	cl, idx, _, _ := newTestGateway(t)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	u := startUpload(t, cl, "bkt", "dir/obj")
	p1, p2, p3 := mpBody(1, 5<<20+3), mpBody(2, 5<<20), mpBody(3, 700) // part 3 is inlined (threshold 1 KiB)
	c1 := u.mustPut(1, p1)
	u.mustPut(2, mpBody(9, 6<<20)) // replaced below
	c2 := u.mustPut(2, p2)
	c3 := u.mustPut(3, p3)
	if got := idx.freedShards(); len(got) != 6 {
		t.Fatalf("replacing part 2 freed %q, want its 6 shards", got)
	}

	// ListParts pages.
	lp, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("bkt"), Key: aws.String("dir/obj"), UploadId: aws.String(u.id), MaxParts: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lp.Parts) != 2 || !aws.ToBool(lp.IsTruncated) || aws.ToString(lp.NextPartNumberMarker) != "2" ||
		aws.ToInt64(lp.Parts[0].Size) != int64(len(p1)) || aws.ToString(lp.Parts[1].ETag) != aws.ToString(c2.ETag) ||
		aws.ToString(lp.Parts[0].ChecksumCRC32) != aws.ToString(c1.ChecksumCRC32) || lp.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32 {
		t.Fatalf("list parts page 1: %+v", lp)
	}
	lp, err = cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("bkt"), Key: aws.String("dir/obj"), UploadId: aws.String(u.id), PartNumberMarker: aws.String("2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(lp.Parts) != 1 || aws.ToBool(lp.IsTruncated) || aws.ToInt32(lp.Parts[0].PartNumber) != 3 {
		t.Fatalf("list parts page 2: %+v", lp)
	}
	lu, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("bkt")})
	if err != nil {
		t.Fatal(err)
	}
	if len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != u.id || aws.ToString(lu.Uploads[0].Key) != "dir/obj" {
		t.Fatalf("list uploads: %+v", lu)
	}

	done, err := u.complete(c1, c2, c3)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(done.ETag), multipartETagOf(p1, p2, p3); got != want {
		t.Fatalf("multipart etag %s, want %s", got, want)
	}
	if aws.ToString(done.Key) != "dir/obj" || aws.ToString(done.Bucket) != "bkt" || !strings.HasSuffix(aws.ToString(done.Location), "/bkt/dir/obj") {
		t.Fatalf("complete result %+v", done)
	}
	whole := slices.Concat(p1, p2, p3)
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/obj")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	if !bytes.Equal(got, whole) || aws.ToString(out.ETag) != aws.ToString(done.ETag) ||
		aws.ToString(out.ContentType) != "text/x-parts" || out.Metadata["color"] != "green" {
		t.Fatalf("GET: %d bytes (want %d), etag %s, type %s, meta %v", len(got), len(whole), aws.ToString(out.ETag), aws.ToString(out.ContentType), out.Metadata)
	}
	// Ranges across part boundaries, inside one part and into the inline
	// tail.
	b1, b2 := int64(len(p1)), int64(len(p1)+len(p2))
	for _, r := range [][2]int64{{b1 - 1, b1}, {b1, b1 + 1}, {b1 - 300, b2 + 10}, {b2 - 1, b2 + 699}, {10, 20}, {b2 + 5, b2 + 5}, {0, int64(len(whole)) - 1}} {
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/obj"), Range: aws.String(fmt.Sprintf("bytes=%d-%d", r[0], r[1]))})
		if err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		got, _ := io.ReadAll(out.Body)
		if !bytes.Equal(got, whole[r[0]:r[1]+1]) {
			t.Fatalf("range %v: %d bytes differ", r, len(got))
		}
	}
	// One part by number.
	for n, want := range [][]byte{p1, p2, p3} {
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/obj"), PartNumber: aws.Int32(int32(n + 1))})
		if err != nil {
			t.Fatalf("part %d: %v", n+1, err)
		}
		got, _ := io.ReadAll(out.Body)
		if !bytes.Equal(got, want) || aws.ToInt32(out.PartsCount) != 3 {
			t.Fatalf("part %d: %d bytes, parts count %d", n+1, len(got), aws.ToInt32(out.PartsCount))
		}
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/obj"), PartNumber: aws.Int32(2)})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(p2)) || aws.ToInt32(head.PartsCount) != 3 {
		t.Fatalf("head part 2: %+v %v", head, err)
	}
	_, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/obj"), PartNumber: aws.Int32(4)})
	if status := httpStatusOf(err); status != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("head part 4: %v", err)
	}
	lu, err = cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("bkt")})
	if err != nil || len(lu.Uploads) != 0 {
		t.Fatalf("completed upload still listed: %+v %v", lu, err)
	}
}

func httpStatusOf(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestMultipartErrors(t *testing.T) {
	cl, idx, sh, base := newTestGateway(t)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	u := startUpload(t, cl, "bkt", "k")
	big, small := mpBody(1, 5<<20), mpBody(2, 2000)
	c1 := u.mustPut(1, big)
	c2 := u.mustPut(2, small)
	c3 := u.mustPut(3, big)
	shards := sh.Count()

	for _, n := range []int32{0, 10001} {
		_, err := u.put(n, small)
		if code(err) != "InvalidArgument" {
			t.Fatalf("part number %d: %v", n, err)
		}
	}
	ghost := &mpUpload{t: t, cl: cl, bucket: "bkt", key: "k", id: strings.Repeat("ab", 16)}
	if _, err := ghost.put(1, small); code(err) != "NoSuchUpload" {
		t.Fatalf("part of an unknown upload: %v", err)
	}
	if _, err := ghost.complete(c1); code(err) != "NoSuchUpload" {
		t.Fatalf("complete of an unknown upload: %v", err)
	}
	other := &mpUpload{t: t, cl: cl, bucket: "bkt", key: "other-key", id: u.id}
	if _, err := other.put(1, small); code(err) != "NoSuchUpload" {
		t.Fatalf("part for another key: %v", err)
	}
	if sh.Count() != shards {
		t.Fatalf("refused parts stored %d shards", sh.Count()-shards)
	}
	missing := types.CompletedPart{PartNumber: aws.Int32(4), ETag: c1.ETag}
	wrongETag := types.CompletedPart{PartNumber: aws.Int32(3), ETag: c2.ETag}
	for name, tc := range map[string]struct {
		parts []types.CompletedPart
		code  string
	}{
		"missing part": {[]types.CompletedPart{c1, missing}, "InvalidPart"},
		"wrong etag":   {[]types.CompletedPart{c1, wrongETag}, "InvalidPart"},
		"out of order": {[]types.CompletedPart{c3, c1}, "InvalidPartOrder"},
		"too small":    {[]types.CompletedPart{c1, c2, c3}, "EntityTooSmall"},
	} {
		if _, err := u.complete(tc.parts...); code(err) != tc.code {
			t.Fatalf("%s: got %v, want %s", name, err, tc.code)
		}
	}
	for _, body := range []string{"garbage", "<CompleteMultipartUpload></CompleteMultipartUpload>", "<Other/>",
		"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part></CompleteMultipartUpload>"} {
		status, resp := mpDo(t, base, http.MethodPost, "/bkt/k?uploadId="+u.id, []byte(body))
		if status != http.StatusBadRequest || !strings.Contains(resp, "<Code>MalformedXML</Code>") {
			t.Fatalf("complete with %q: %d %s", body, status, resp)
		}
	}
	if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")}); err == nil {
		t.Fatal("a failed complete stored an object")
	}
	// Abort frees every part; the upload is gone for every operation.
	if _, err := cl.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("k"), UploadId: aws.String(u.id)}); err != nil {
		t.Fatal(err)
	}
	if n := len(idx.freedShards()); n != 18 {
		t.Fatalf("abort freed %d shards, want 18 (three erasure-coded parts)", n)
	}
	if _, err := cl.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("k"), UploadId: aws.String(u.id)}); code(err) != "NoSuchUpload" {
		t.Fatalf("second abort: %v", err)
	}
	if _, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("bkt"), Key: aws.String("k"), UploadId: aws.String(u.id)}); code(err) != "NoSuchUpload" {
		t.Fatalf("list parts after abort: %v", err)
	}
	if _, err := u.complete(c1, c3); code(err) != "NoSuchUpload" {
		t.Fatalf("complete after abort: %v", err)
	}
	if _, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("nope"), Key: aws.String("k")}); code(err) != "NoSuchBucket" {
		t.Fatalf("create in a missing bucket: %v", err)
	}
	if status, _ := mpDo(t, base, http.MethodPut, "/bkt?uploads", nil); status != http.StatusMethodNotAllowed {
		t.Fatalf("PUT ?uploads on a bucket: %d", status)
	}
}

func TestListMultipartUploadsDelimiter(t *testing.T) {
	cl, _, _, _ := newTestGateway(t)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a/1", "a/2", "b", "c"} {
		startUpload(t, cl, "bkt", k)
	}
	out, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("bkt"), Delimiter: aws.String("/"), MaxUploads: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.CommonPrefixes) != 1 || aws.ToString(out.CommonPrefixes[0].Prefix) != "a/" || len(out.Uploads) != 1 ||
		aws.ToString(out.Uploads[0].Key) != "b" || !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextKeyMarker) != "b" {
		t.Fatalf("list uploads: %+v", out)
	}
	out, err = cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("bkt"), Prefix: aws.String("a/"), KeyMarker: aws.String("a/1")})
	if err != nil || len(out.Uploads) != 1 || aws.ToString(out.Uploads[0].Key) != "a/2" {
		t.Fatalf("after a/1: %+v %v", out, err)
	}
}

// abortingIndex aborts the upload just before a part is recorded, as a
// concurrent AbortMultipartUpload would.
type abortingIndex struct{ *fakeIndex }

func (a abortingIndex) CommitPart(ctx context.Context, ns, bucket, key, id string, p *cairnpb.UploadedPart) error {
	if err := a.fakeIndex.AbortMultipartUpload(ctx, ns, bucket, key, id); err != nil {
		return err
	}
	return a.fakeIndex.CommitPart(ctx, ns, bucket, key, id, p)
}

// TestUploadPartRacingAbortIsRefused: a part whose upload is aborted while
// its data is written is refused; its shards stay on the data nodes until
// meta's orphan reconciliation reclaims them, since a gateway may not delete
// shards (docs/security.md).
func TestUploadPartRacingAbortIsRefused(t *testing.T) {
	idx, sh := newFakeIndex(6), newFakeShards()
	srv, err := New(Config{Index: abortingIndex{idx}, Shards: sh, Credentials: map[string]string{"AK": "SK"}, BlockSize: 64 << 10, InlineThreshold: 1024, MasterKey: testMasterKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cl := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AK", "SK", ""), Retryer: aws.NopRetryer{},
	})
	if _, err := cl.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	u := startUpload(t, cl, "bkt", "k")
	if _, err := u.put(1, mpBody(1, 300<<10)); code(err) != "NoSuchUpload" {
		t.Fatalf("part of an upload aborted meanwhile: %v", err)
	}
	if n := sh.Count(); n != 6 {
		t.Fatalf("%d shards on the data nodes, want the refused part's 6 left for reconciliation", n)
	}
}
