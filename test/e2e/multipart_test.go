package e2e

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

const partSize = 5 << 20

// TestMultipart runs the multipart checks against one multi-process
// cluster (3 meta, 6 data, 1 gateway).
func TestMultipart(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)
	mustCreateBucket(t, cl, "multipart")
	t.Run("Uploader", func(t *testing.T) { testMultipartUploader(t, cl) })
	t.Run("ListAndAbort", func(t *testing.T) { testMultipartListAndAbort(t, cl) })
	t.Run("Errors", func(t *testing.T) { testMultipartErrors(t, cl) })
}

// wantMultipartETag is md5 of the parts' binary md5s, then -<parts>.
func wantMultipartETag(data []byte, size int) string {
	h := md5.New()
	n := 0
	for off := 0; off < len(data); off += size {
		sum := md5.Sum(data[off:min(off+size, len(data))])
		h.Write(sum[:])
		n++
	}
	return fmt.Sprintf(`"%x-%d"`, h.Sum(nil), n)
}

func testMultipartUploader(t *testing.T, cl *s3.Client) {
	// 200 MiB in 40 full parts, 16 uploaded in parallel, and a 12,345-byte
	// last part (small enough to be kept inline in the record).
	const fullParts = 40
	data := pattern(77, fullParts*partSize+12345)
	up := manager.NewUploader(cl, func(u *manager.Uploader) {
		u.PartSize = partSize
		u.Concurrency = 16
	})
	out, err := up.Upload(ctxT(t, 3*time.Minute), &s3.PutObjectInput{
		Bucket: aws.String("multipart"), Key: aws.String("big/object.bin"), Body: bytes.NewReader(data),
		ContentType: aws.String("application/x-test"), Metadata: map[string]string{"origin": "uploader"},
	})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	want := wantMultipartETag(data, partSize)
	if aws.ToString(out.ETag) != want || !strings.HasSuffix(want, fmt.Sprintf(`-%d"`, fullParts+1)) {
		t.Fatalf("upload etag %s, want %s", aws.ToString(out.ETag), want)
	}
	mustGetEqual(t, cl, "multipart", "big/object.bin", data)

	head, err := cl.HeadObject(ctxT(t, 30*time.Second), &s3.HeadObjectInput{Bucket: aws.String("multipart"), Key: aws.String("big/object.bin")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != int64(len(data)) || aws.ToString(head.ETag) != want ||
		aws.ToString(head.ContentType) != "application/x-test" || head.Metadata["origin"] != "uploader" {
		t.Fatalf("head: length %d etag %s type %s meta %v", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag),
			aws.ToString(head.ContentType), head.Metadata)
	}

	// Ranges around part boundaries (±1), across several parts, and into
	// the inline tail.
	size := int64(len(data))
	type span struct{ off, end int64 }
	var cases []span
	for _, b := range []int64{partSize, 7 * partSize, 20 * partSize} {
		cases = append(cases, span{b - 1, b - 1}, span{b - 1, b}, span{b, b}, span{b, b + 1}, span{b - 1, b + 1}, span{b - 70000, b + 70000})
	}
	cases = append(cases, span{3 << 20, 17 << 20}, span{size - 20000, size - 1}, span{0, 0}, span{size - 1, size - 1})
	for _, sp := range cases {
		end := min(sp.end, size-1)
		got, err := get(ctxT(t, time.Minute), cl, "multipart", "big/object.bin", fmt.Sprintf("bytes=%d-%d", sp.off, end))
		if err != nil {
			t.Fatalf("range %d-%d: %v", sp.off, end, err)
		}
		if !bytes.Equal(got, data[sp.off:end+1]) {
			t.Fatalf("range %d-%d: %d bytes, content differs", sp.off, end, len(got))
		}
	}

	// One part by number.
	part, err := cl.GetObject(ctxT(t, time.Minute), &s3.GetObjectInput{Bucket: aws.String("multipart"), Key: aws.String("big/object.bin"), PartNumber: aws.Int32(fullParts + 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer part.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(part.Body); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data[fullParts*partSize:]) || aws.ToInt32(part.PartsCount) != fullParts+1 {
		t.Fatalf("last part: %d bytes, parts count %d", buf.Len(), aws.ToInt32(part.PartsCount))
	}

	// Listing shows the object with its multipart ETag; no upload is left.
	lo, err := cl.ListObjectsV2(ctxT(t, 30*time.Second), &s3.ListObjectsV2Input{Bucket: aws.String("multipart"), Prefix: aws.String("big/")})
	if err != nil || len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].ETag) != want || aws.ToInt64(lo.Contents[0].Size) != size {
		t.Fatalf("list objects: %+v %v", lo, err)
	}
	lu, err := cl.ListMultipartUploads(ctxT(t, 30*time.Second), &s3.ListMultipartUploadsInput{Bucket: aws.String("multipart"), Prefix: aws.String("big/")})
	if err != nil || len(lu.Uploads) != 0 {
		t.Fatalf("uploads left after complete: %+v %v", lu, err)
	}
}

type e2eUpload struct {
	t      *testing.T
	cl     *s3.Client
	bucket string
	key    string
	id     string
}

func newE2EUpload(t *testing.T, cl *s3.Client, key string) *e2eUpload {
	t.Helper()
	out, err := cl.CreateMultipartUpload(ctxT(t, 30*time.Second), &s3.CreateMultipartUploadInput{Bucket: aws.String("multipart"), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("create upload %s: %v", key, err)
	}
	return &e2eUpload{t: t, cl: cl, bucket: "multipart", key: key, id: aws.ToString(out.UploadId)}
}

func (u *e2eUpload) put(n int32, body []byte) (types.CompletedPart, error) {
	out, err := u.cl.UploadPart(ctxT(u.t, time.Minute), &s3.UploadPartInput{
		Bucket: aws.String(u.bucket), Key: aws.String(u.key), UploadId: aws.String(u.id), PartNumber: aws.Int32(n), Body: bytes.NewReader(body),
	})
	if err != nil {
		return types.CompletedPart{}, err
	}
	return types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32}, nil
}

func (u *e2eUpload) mustPut(n int32, body []byte) types.CompletedPart {
	u.t.Helper()
	p, err := u.put(n, body)
	if err != nil {
		u.t.Fatalf("upload part %d of %s: %v", n, u.key, err)
	}
	return p
}

func (u *e2eUpload) complete(parts ...types.CompletedPart) error {
	_, err := u.cl.CompleteMultipartUpload(ctxT(u.t, time.Minute), &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(u.bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	return err
}

func (u *e2eUpload) abort() error {
	_, err := u.cl.AbortMultipartUpload(ctxT(u.t, 30*time.Second), &s3.AbortMultipartUploadInput{
		Bucket: aws.String(u.bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
	})
	return err
}

func testMultipartListAndAbort(t *testing.T, cl *s3.Client) {
	a := newE2EUpload(t, cl, "list/a")
	b := newE2EUpload(t, cl, "list/sub/b")
	a2 := newE2EUpload(t, cl, "list/a")
	for n := int32(1); n <= 3; n++ {
		a.mustPut(n, pattern(int64(n), 1000*int(n)))
	}
	lp, err := cl.ListParts(ctxT(t, 30*time.Second), &s3.ListPartsInput{Bucket: aws.String("multipart"), Key: aws.String("list/a"), UploadId: aws.String(a.id), MaxParts: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lp.Parts) != 2 || !aws.ToBool(lp.IsTruncated) || aws.ToString(lp.NextPartNumberMarker) != "2" || aws.ToInt64(lp.Parts[1].Size) != 2000 {
		t.Fatalf("list parts: %+v", lp)
	}
	lp, err = cl.ListParts(ctxT(t, 30*time.Second), &s3.ListPartsInput{Bucket: aws.String("multipart"), Key: aws.String("list/a"), UploadId: aws.String(a.id), PartNumberMarker: aws.String("2")})
	if err != nil || len(lp.Parts) != 1 || aws.ToInt32(lp.Parts[0].PartNumber) != 3 || aws.ToBool(lp.IsTruncated) {
		t.Fatalf("list parts after 2: %+v %v", lp, err)
	}

	lu, err := cl.ListMultipartUploads(ctxT(t, 30*time.Second), &s3.ListMultipartUploadsInput{Bucket: aws.String("multipart"), Prefix: aws.String("list/"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(lu.Uploads) != 2 || aws.ToString(lu.Uploads[0].UploadId) != a.id || aws.ToString(lu.Uploads[1].UploadId) != a2.id ||
		len(lu.CommonPrefixes) != 1 || aws.ToString(lu.CommonPrefixes[0].Prefix) != "list/sub/" {
		t.Fatalf("list uploads: %+v", lu)
	}
	// Paging one at a time resumes inside a key's uploads.
	lu, err = cl.ListMultipartUploads(ctxT(t, 30*time.Second), &s3.ListMultipartUploadsInput{Bucket: aws.String("multipart"), Prefix: aws.String("list/"), MaxUploads: aws.Int32(1)})
	if err != nil || !aws.ToBool(lu.IsTruncated) || aws.ToString(lu.NextUploadIdMarker) != a.id {
		t.Fatalf("first page: %+v %v", lu, err)
	}
	lu, err = cl.ListMultipartUploads(ctxT(t, 30*time.Second), &s3.ListMultipartUploadsInput{Bucket: aws.String("multipart"), Prefix: aws.String("list/"),
		MaxUploads: aws.Int32(1), KeyMarker: lu.NextKeyMarker, UploadIdMarker: lu.NextUploadIdMarker})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != a2.id {
		t.Fatalf("second page: %+v %v", lu, err)
	}

	for _, u := range []*e2eUpload{a, b, a2} {
		if err := u.abort(); err != nil {
			t.Fatalf("abort %s: %v", u.key, err)
		}
	}
	wantAPIError(t, a.abort(), "NoSuchUpload", http.StatusNotFound)
	_, err = cl.ListParts(ctxT(t, 30*time.Second), &s3.ListPartsInput{Bucket: aws.String("multipart"), Key: aws.String("list/a"), UploadId: aws.String(a.id)})
	wantAPIError(t, err, "NoSuchUpload", http.StatusNotFound)
	lu, err = cl.ListMultipartUploads(ctxT(t, 30*time.Second), &s3.ListMultipartUploadsInput{Bucket: aws.String("multipart"), Prefix: aws.String("list/")})
	if err != nil || len(lu.Uploads) != 0 {
		t.Fatalf("uploads left after abort: %+v %v", lu, err)
	}
	_, err = cl.HeadObject(ctxT(t, 30*time.Second), &s3.HeadObjectInput{Bucket: aws.String("multipart"), Key: aws.String("list/a")})
	wantAPIError(t, err, "", http.StatusNotFound)
}

func testMultipartErrors(t *testing.T, cl *s3.Client) {
	u := newE2EUpload(t, cl, "errors/obj")
	big, small := pattern(5, partSize), pattern(6, 1000)
	p1 := u.mustPut(1, big)
	p2 := u.mustPut(2, small)
	p3 := u.mustPut(3, big)

	for _, n := range []int32{0, 10001} {
		_, err := u.put(n, small)
		wantAPIError(t, err, "InvalidArgument", http.StatusBadRequest)
	}
	ghost := &e2eUpload{t: t, cl: cl, bucket: "multipart", key: "errors/obj", id: strings.Repeat("0f", 16)}
	_, err := ghost.put(1, small)
	wantAPIError(t, err, "NoSuchUpload", http.StatusNotFound)
	wantAPIError(t, ghost.complete(p1), "NoSuchUpload", http.StatusNotFound)
	junk := &e2eUpload{t: t, cl: cl, bucket: "multipart", key: "errors/obj", id: "not-an-upload-id"}
	wantAPIError(t, junk.complete(p1), "NoSuchUpload", http.StatusNotFound)

	missing := types.CompletedPart{PartNumber: aws.Int32(4), ETag: p1.ETag}
	wrong := types.CompletedPart{PartNumber: aws.Int32(3), ETag: p2.ETag}
	wantAPIError(t, u.complete(p1, missing), "InvalidPart", http.StatusBadRequest)
	wantAPIError(t, u.complete(p1, wrong), "InvalidPart", http.StatusBadRequest)
	wantAPIError(t, u.complete(p3, p1), "InvalidPartOrder", http.StatusBadRequest)
	wantAPIError(t, u.complete(p1, p2, p3), "EntityTooSmall", http.StatusBadRequest)
	_, err = cl.HeadObject(ctxT(t, 30*time.Second), &s3.HeadObjectInput{Bucket: aws.String("multipart"), Key: aws.String("errors/obj")})
	wantAPIError(t, err, "", http.StatusNotFound)

	// The upload survived every refusal: completing it properly works, and
	// a retried completion answers the same.
	if err := u.complete(p1, p3); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if err := u.complete(p1, p3); err != nil {
		t.Fatalf("retried complete: %v", err)
	}
	mustGetEqual(t, cl, "multipart", "errors/obj", append(append([]byte(nil), big...), big...))
}
