package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func TestDeleteObjectsWithSDK(t *testing.T) {
	cl, idx, _, _ := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"small", "big", "keep"} {
		body := bytes.Repeat([]byte(k), 100)
		if k == "big" {
			body = bytes.Repeat([]byte("x"), 200<<10)
		}
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	// The SDK sends a CRC32 of the body by default.
	out, err := cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("small")}, {Key: aws.String("big")}, {Key: aws.String("never-existed")},
		{Key: aws.String("v"), VersionId: aws.String("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")},
		{Key: aws.String("a <&> b")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, d := range out.Deleted {
		deleted = append(deleted, aws.ToString(d.Key))
	}
	if strings.Join(deleted, "|") != "small|big|never-existed|a <&> b" {
		t.Fatalf("deleted %q", deleted)
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "v" || aws.ToString(out.Errors[0].Code) != "InvalidArgument" {
		t.Fatalf("errors %+v", out.Errors)
	}
	for _, k := range []string{"small", "big"} {
		if _, err := idx.GetObject(ctx, "default", "bkt", k); err == nil {
			t.Fatalf("%s still there", k)
		}
	}
	if _, err := idx.GetObject(ctx, "default", "bkt", "keep"); err != nil {
		t.Fatal("keep was deleted")
	}

	// Quiet: only errors are listed.
	out, err = cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Quiet: aws.Bool(true),
		Objects: []types.ObjectIdentifier{{Key: aws.String("keep")}, {Key: aws.String(strings.Repeat("k", 1025))}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 0 || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "KeyTooLongError" {
		t.Fatalf("quiet: %+v %+v", out.Deleted, out.Errors)
	}
	if _, err := idx.GetObject(ctx, "default", "bkt", "keep"); err == nil {
		t.Fatal("keep survived")
	}

	_, err = cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("nobkt"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("k")}}}})
	if code(err) != "NoSuchBucket" {
		t.Fatalf("missing bucket: %v", err)
	}
}

func surfDeleteBody(keys ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	for _, k := range keys {
		fmt.Fprintf(&b, "<Object><Key>%s</Key></Object>", k)
	}
	b.WriteString("</Delete>")
	return []byte(b.String())
}

func surfMD5(b []byte) string { s := md5.Sum(b); return base64.StdEncoding.EncodeToString(s[:]) }

func surfSHA256B64(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func TestDeleteObjectsDigestAndXMLRules(t *testing.T) {
	cl, _, _, url := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	body := surfDeleteBody("a", "b")
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprint("k", i)
	}
	thousand := surfDeleteBody(many[:1000]...)
	tooMany := surfDeleteBody(many...)
	for _, c := range []struct {
		name   string
		body   []byte
		hdr    map[string]string
		status int
		want   string
	}{
		{"no digest", body, nil, 400, "<Code>InvalidRequest</Code><Message>Missing required header for this request: Content-MD5</Message>"},
		{"only the algorithm named", body, map[string]string{"x-amz-sdk-checksum-algorithm": "CRC32"}, 400, "Missing required header for this request: Content-MD5"},
		{"Content-MD5", body, map[string]string{"Content-MD5": surfMD5(body)}, 200, "<Deleted><Key>a</Key></Deleted><Deleted><Key>b</Key></Deleted>"},
		{"wrong Content-MD5", body, map[string]string{"Content-MD5": surfMD5([]byte("x"))}, 400, "<Code>BadDigest</Code>"},
		{"malformed Content-MD5", body, map[string]string{"Content-MD5": "abc"}, 400, "<Code>InvalidDigest</Code>"},
		{"sha256 checksum", body, map[string]string{"x-amz-checksum-sha256": surfSHA256B64(body)}, 200, "<Deleted><Key>a</Key></Deleted>"},
		{"wrong sha256 checksum", body, map[string]string{"x-amz-checksum-sha256": surfSHA256B64([]byte("x"))}, 400, "<Code>BadDigest</Code>"},
		{"1000 keys", thousand, map[string]string{"Content-MD5": surfMD5(thousand)}, 200, "<Deleted><Key>k999</Key></Deleted></DeleteResult>"},
		{"1001 keys", tooMany, map[string]string{"Content-MD5": surfMD5(tooMany)}, 400, "<Code>MalformedXML</Code>"},
		{"no keys", surfDeleteBody(), map[string]string{"Content-MD5": surfMD5(surfDeleteBody())}, 400, "<Code>MalformedXML</Code>"},
		{"empty key", surfDeleteBody(""), map[string]string{"Content-MD5": surfMD5(surfDeleteBody(""))}, 400, "<Code>MalformedXML</Code>"},
		{"not XML", []byte("hello"), map[string]string{"Content-MD5": surfMD5([]byte("hello"))}, 400, "<Code>MalformedXML</Code>"},
		{"other root", []byte("<Remove/>"), map[string]string{"Content-MD5": surfMD5([]byte("<Remove/>"))}, 400, "<Code>MalformedXML</Code>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, _, got := surfDo(t, url, "POST", "/bkt?delete", c.body, c.hdr)
			if st != c.status || !strings.Contains(got, c.want) {
				t.Fatalf("%d %s", st, got)
			}
		})
	}
	quietBody := []byte(`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>`)
	st, _, got := surfDo(t, url, "POST", "/bkt?delete=", quietBody, map[string]string{"Content-MD5": surfMD5(quietBody)})
	if st != 200 || strings.Contains(got, "Deleted") {
		t.Fatalf("quiet: %d %s", st, got)
	}
}

func TestPostRouting(t *testing.T) {
	_, _, _, url := surfGateway(t, nil)
	body := surfDeleteBody("a")
	md := map[string]string{"Content-MD5": surfMD5(body)}
	for _, c := range []struct {
		method, path string
		hdr          map[string]string
		status       int
		code         string
	}{
		{"GET", "/bkt?delete", nil, 405, "MethodNotAllowed"},
		{"POST", "/bkt/key?delete", md, 405, "MethodNotAllowed"},
		{"POST", "/?delete", md, 405, "MethodNotAllowed"},
		{"POST", "/bkt", nil, 405, "MethodNotAllowed"},
		// A form without a file part (post_test.go has the real forms).
		{"POST", "/bkt", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, 400, "InvalidArgument"},
		{"POST", "/", nil, 405, "MethodNotAllowed"},
		{"GET", "/bkt?website", nil, 501, "NotImplemented"},
	} {
		st, _, got := surfDo(t, url, c.method, c.path, body, c.hdr)
		if st != c.status || !strings.Contains(got, "<Code>"+c.code+"</Code>") {
			t.Errorf("%s %s: %d %s", c.method, c.path, st, got)
		}
	}
}

// slowDeletes counts concurrent DeleteVersion calls (DeleteObjects deletes
// through it).
type slowDeletes struct {
	*fakeIndex
	mu        sync.Mutex
	inFlight  int
	maxFlight int
	calls     atomic.Int64
}

func (s *slowDeletes) DeleteVersion(ctx context.Context, ns, bucket, key, versionID string, cond *cairnpb.WriteCondition, bypass bool) (*cairnpb.DeleteVersionResponse, error) {
	s.mu.Lock()
	s.inFlight++
	s.maxFlight = max(s.maxFlight, s.inFlight)
	s.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
	s.calls.Add(1)
	return s.fakeIndex.DeleteVersion(ctx, ns, bucket, key, versionID, cond, bypass)
}

func TestDeleteObjectsParallelismIsBounded(t *testing.T) {
	slow := &slowDeletes{fakeIndex: newFakeIndex(6)}
	cl, _, _, _ := surfGateway(t, func(c *Config) { c.Index = slow })
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	var ids []types.ObjectIdentifier
	for i := range 200 {
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(fmt.Sprint("k", i))})
	}
	out, err := cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: ids}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 200 || slow.calls.Load() != 200 {
		t.Fatalf("%d deleted, %d calls", len(out.Deleted), slow.calls.Load())
	}
	if slow.maxFlight > deleteParallelism || slow.maxFlight < 2 {
		t.Fatalf("max %d calls in flight", slow.maxFlight)
	}
	for i, d := range out.Deleted {
		if aws.ToString(d.Key) != fmt.Sprint("k", i) {
			t.Fatalf("order: %d is %s", i, aws.ToString(d.Key))
		}
	}
}
