package s3api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

func newTestGateway(t *testing.T) (*s3.Client, *fakeIndex, *fakeShards, string) {
	t.Helper()
	idx, sh := newFakeIndex(6), newFakeShards()
	srv, err := New(Config{Index: idx, Shards: sh, Credentials: map[string]string{"AK": "SK"}, BlockSize: 64 << 10, InlineThreshold: 1024, MasterKey: testMasterKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cl := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AK", "SK", ""), Retryer: aws.NopRetryer{},
	})
	return cl, idx, sh, hs.URL
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestPutGetInlineAndErasureCoded(t *testing.T) {
	cl, _, sh, _ := newTestGateway(t)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 1024, 1025, 256<<10 + 3, 1 << 20} {
		body := make([]byte, n)
		rand.New(rand.NewSource(int64(n))).Read(body)
		key := "k" + strings.Repeat("x", n%7)
		before := sh.Count()
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: bytes.NewReader(body),
			ContentType: aws.String("text/plain"), Metadata: map[string]string{"color": "blue"}}); err != nil {
			t.Fatalf("put %d: %v", n, err)
		}
		if n <= 1024 && sh.Count() != before {
			t.Fatalf("%d-byte object was not inlined", n)
		}
		if n > 1024 && sh.Count() != before+6 {
			t.Fatalf("%d-byte object wrote %d shards, want 6", n, sh.Count()-before)
		}
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("get %d: %v", n, err)
		}
		got, _ := io.ReadAll(out.Body)
		if !bytes.Equal(got, body) {
			t.Fatalf("%d bytes: content differs", n)
		}
		if aws.ToString(out.ContentType) != "text/plain" || out.Metadata["color"] != "blue" {
			t.Fatalf("headers not kept: %v %v", aws.ToString(out.ContentType), out.Metadata)
		}
	}
}

func TestGetReconstructsWhenShardsAreMissing(t *testing.T) {
	cl, _, sh, _ := newTestGateway(t)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 700<<10)
	rand.New(rand.NewSource(1)).Read(body)
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	sh.SetDown("n0", true)
	sh.SetDown("n3", true)
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Range: aws.String("bytes=1000-400000")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	if !bytes.Equal(got, body[1000:400001]) {
		t.Fatal("reconstructed range differs")
	}
}

func TestErrorsAndNotImplemented(t *testing.T) {
	cl, _, _, url := newTestGateway(t)
	ctx := context.Background()
	_, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nope"), Key: aws.String("k")})
	if code(err) != "NoSuchBucket" {
		t.Fatalf("got %v", err)
	}
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")})
	if code(err) != "BucketAlreadyOwnedByYou" {
		t.Fatalf("got %v", err)
	}
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("x")})
	if code(err) != "KeyTooLongError" {
		t.Fatalf("got %v", err)
	}
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("x"),
		Metadata: map[string]string{"big": strings.Repeat("v", 2100)}})
	if code(err) != "MetadataTooLarge" {
		t.Fatalf("got %v", err)
	}
	ver, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("bkt")})
	if err != nil || ver.Status != "" {
		t.Fatalf("versioning of a bucket that never had it: %v %v", ver, err)
	}
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("hello"),
		ContentMD5: aws.String("1B2M2Y8AsgTpgAmY7PhCfg==")})
	if code(err) != "BadDigest" {
		t.Fatalf("bad MD5: got %v", err)
	}
	if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")}); err == nil {
		t.Fatal("an object with a bad digest was stored")
	}
	resp, err := http.Get(url + "/bkt/k")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("x-amz-request-id") == "" {
		t.Fatalf("anonymous: %d", resp.StatusCode)
	}
}

func TestConditionalGet(t *testing.T) {
	cl, _, _, _ := newTestGateway(t)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	put, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfMatch: aws.String(`"nope"`)}); code(err) != "PreconditionFailed" {
		t.Fatalf("If-Match: %v", err)
	}
	_, err = cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfNoneMatch: put.ETag})
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 304 {
		t.Fatalf("If-None-Match: %v", err)
	}
}

func TestParseRange(t *testing.T) {
	cases := []struct {
		h       string
		off, n  int64
		ok, bad bool
	}{
		{"bytes=0-9", 0, 10, true, false},
		{"bytes=5-", 5, 95, true, false},
		{"bytes=-10", 90, 10, true, false},
		{"bytes=-1000", 0, 100, true, false},
		{"bytes=90-200", 90, 10, true, false},
		{"bytes=100-", 0, 0, false, true},
		{"bytes=-0", 0, 0, false, true},
		{"bytes=9-3", 0, 0, false, false},
		{"bytes=0-1,4-5", 0, 0, false, false},
		{"items=0-1", 0, 0, false, false},
		{"", 0, 0, false, false},
	}
	for _, c := range cases {
		br, ok, err := parseRange(c.h, 100)
		if (err != nil) != c.bad || ok != c.ok || (ok && (br.off != c.off || br.n != c.n)) {
			t.Fatalf("%q: got %+v ok=%v err=%v", c.h, br, ok, err)
		}
	}
}

func TestValidBucketName(t *testing.T) {
	for _, good := range []string{"abc", "my-bucket.2026", strings.Repeat("a", 63), "a.b-c"} {
		if !dnsBucketName(good) {
			t.Fatalf("%q rejected", good)
		}
	}
	for _, bad := range []string{"ab", strings.Repeat("a", 64), "Abc", "a_b", "-ab", "ab-", "a..b", "192.168.1.1", "xn--abc", "abc-s3alias", "a.-b"} {
		if dnsBucketName(bad) {
			t.Fatalf("%q accepted", bad)
		}
	}
}
