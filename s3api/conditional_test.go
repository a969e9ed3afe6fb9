package s3api

import (
	"bytes"
	"context"
	"math/rand"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestConditionalPut(t *testing.T) {
	cl, _, sh, base := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, body []byte, ifMatch, ifNoneMatch string) (*s3.PutObjectOutput, error) {
		in := &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: bytes.NewReader(body)}
		if ifMatch != "" {
			in.IfMatch = aws.String(ifMatch)
		}
		if ifNoneMatch != "" {
			in.IfNoneMatch = aws.String(ifNoneMatch)
		}
		return cl.PutObject(ctx, in)
	}
	small := []byte("small")
	big := make([]byte, 200<<10)
	rand.New(rand.NewSource(3)).Read(big)
	for _, body := range [][]byte{small, big} {
		key := map[int]string{len(small): "small", len(big): "big"}[len(body)]
		first, err := put(key, body, "", "*")
		if err != nil {
			t.Fatalf("%s: If-None-Match on a new key: %v", key, err)
		}
		shards := sh.Count()
		_, err = put(key, body, "", "*")
		if code(err) != "PreconditionFailed" {
			t.Fatalf("%s: If-None-Match on an existing key: %v", key, err)
		}
		_, err = put(key, body, `"0123456789abcdef0123456789abcdef"`, "")
		if code(err) != "PreconditionFailed" {
			t.Fatalf("%s: If-Match mismatch: %v", key, err)
		}
		if sh.Count() != shards {
			t.Fatalf("%s: refused writes left %d shards", key, sh.Count()-shards)
		}
		if _, err := put(key, body, aws.ToString(first.ETag), ""); err != nil {
			t.Fatalf("%s: If-Match of the current ETag: %v", key, err)
		}
		_, err = put(key+"-absent", body, aws.ToString(first.ETag), "")
		if code(err) != "NoSuchKey" {
			t.Fatalf("%s: If-Match on a missing key: %v", key, err)
		}
	}
	// The other forms, in order against one key: absent, then written.
	const other = `"0123456789abcdef0123456789abcdef"`
	etag := `"9dd4e461268c8034f5c8564e155c67a6"` // MD5 of "x"
	for _, c := range []struct {
		hdr    map[string]string
		status int
		code   string
	}{
		{map[string]string{"If-Match": "*"}, http.StatusNotFound, "NoSuchKey"},
		{map[string]string{"If-None-Match": other}, http.StatusOK, ""}, // absent: nothing to match
		{map[string]string{"If-None-Match": etag}, http.StatusPreconditionFailed, "PreconditionFailed"},
		{map[string]string{"If-None-Match": other}, http.StatusOK, ""},
		{map[string]string{"If-Match": "*"}, http.StatusOK, ""},
		{map[string]string{"If-Match": etag, "If-None-Match": "*"}, http.StatusPreconditionFailed, "PreconditionFailed"},
		{map[string]string{"If-Match": etag, "If-None-Match": other}, http.StatusOK, ""},
		{map[string]string{"If-Match": `""`}, http.StatusBadRequest, "InvalidArgument"},
	} {
		st, _, body := surfDo(t, base, "PUT", "/bkt/hdr", []byte("x"), c.hdr)
		if st != c.status || !strings.Contains(body, c.code) {
			t.Errorf("%v: %d %s, want %d %s", c.hdr, st, body, c.status, c.code)
		}
	}
}

// DeleteObject with If-Match deletes only when the current version
// matches ("*": when there is one); DeleteObjects does the same per entry
// with its ETag element.
func TestConditionalDelete(t *testing.T) {
	cl, _, _, _ := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	put, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("keep me")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfMatch: aws.String(`"0123456789abcdef0123456789abcdef"`)})
	if code(err) != "PreconditionFailed" {
		t.Fatalf("If-Match with another ETag: %v", err)
	}
	if got, _ := surfGetObject(t, cl, "bkt", "k"); string(got) != "keep me" {
		t.Fatalf("a refused delete left %q", got)
	}
	_, err = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("absent"), IfMatch: aws.String("*")})
	if code(err) != "NoSuchKey" {
		t.Fatalf("If-Match: * on a missing key: %v", err)
	}
	if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfMatch: put.ETag}); err != nil {
		t.Fatalf("If-Match with the ETag: %v", err)
	}
	if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")}); err == nil {
		t.Fatal("the object outlived a delete whose condition held")
	}

	a, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a"), Body: strings.NewReader("a")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("b"), Body: strings.NewReader("b")}); err != nil {
		t.Fatal(err)
	}
	out, err := cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("a"), ETag: a.ETag},
		{Key: aws.String("b"), ETag: aws.String(`"0123456789abcdef0123456789abcdef"`)},
		{Key: aws.String("gone"), ETag: aws.String("*")},
		{Key: aws.String("also-gone")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	for _, d := range out.Deleted {
		deleted[aws.ToString(d.Key)] = true
	}
	failed := map[string]string{}
	for _, e := range out.Errors {
		failed[aws.ToString(e.Key)] = aws.ToString(e.Code)
	}
	if !deleted["a"] || !deleted["also-gone"] || failed["b"] != "PreconditionFailed" || failed["gone"] != "NoSuchKey" || len(deleted)+len(failed) != 4 {
		t.Fatalf("deleted %v, errors %v", deleted, failed)
	}
	if got, _ := surfGetObject(t, cl, "bkt", "b"); string(got) != "b" {
		t.Fatalf("b after a refused delete: %q", got)
	}
}

// Eight PUTs of one new key with If-None-Match: * race through the
// gateway: one wins, the others are 412 and leave no shards behind.
func TestConditionalPutRace(t *testing.T) {
	cl, _, sh, _ := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	bodies := make([][]byte, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range bodies {
		bodies[i] = bytes.Repeat([]byte{byte(i)}, 100<<10)
		wg.Go(func() {
			_, errs[i] = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("race"),
				Body: bytes.NewReader(bodies[i]), IfNoneMatch: aws.String("*")})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case code(err) != "PreconditionFailed":
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	if got, _ := surfGetObject(t, cl, "bkt", "race"); !bytes.Equal(got, bodies[winner]) {
		t.Fatal("the object is not the winner's")
	}
	// The losers' shards stay for meta's orphan reconciliation: a gateway
	// deletes none (docs/security.md).
	if n := sh.Count(); n < 6 || n%6 != 0 {
		t.Fatalf("%d shards on the data nodes, want whole sets of 6", n)
	}
}

func TestConditionalComplete(t *testing.T) {
	cl, _, _, _ := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("old")}); err != nil {
		t.Fatal(err)
	}
	cr, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("k"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("new")})
	if err != nil {
		t.Fatal(err)
	}
	complete := func(ifMatch, ifNoneMatch *string) error {
		_, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("k"), UploadId: cr.UploadId,
			IfMatch: ifMatch, IfNoneMatch: ifNoneMatch,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
		return err
	}
	if err := complete(nil, aws.String("*")); code(err) != "PreconditionFailed" {
		t.Fatalf("If-None-Match over an existing key: %v", err)
	}
	if err := complete(aws.String(`"deadbeefdeadbeefdeadbeefdeadbeef"`), nil); code(err) != "PreconditionFailed" {
		t.Fatalf("If-Match mismatch: %v", err)
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if err := complete(nil, head.ETag); code(err) != "PreconditionFailed" {
		t.Fatalf("If-None-Match of the current ETag: %v", err)
	}
	// The upload outlived the refusals.
	if _, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("bkt"), Key: aws.String("k"), UploadId: cr.UploadId}); err != nil {
		t.Fatal(err)
	}
	if err := complete(aws.String("*"), aws.String(`"deadbeefdeadbeefdeadbeefdeadbeef"`)); err != nil {
		t.Fatalf("If-Match: * and If-None-Match of another ETag: %v", err)
	}
	if got, _ := surfGetObject(t, cl, "bkt", "k"); string(got) != "new" {
		t.Fatalf("object %q", got)
	}
}
