package s3api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func surfGetObject(t *testing.T, cl *s3.Client, bucket, key string) ([]byte, *s3.GetObjectOutput) {
	t.Helper()
	out, err := cl.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, out
}

func TestCopyObject(t *testing.T) {
	cl, idx, sh, _ := surfGateway(t, nil)
	ctx := context.Background()
	for _, b := range []string{"src", "dst"} {
		if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, 300<<10+17)
	rand.New(rand.NewSource(5)).Read(big)
	put, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("dir/big obj"), Body: bytes.NewReader(big),
		ContentType: aws.String("application/x-big"), Metadata: map[string]string{"color": "blue"}, CacheControl: aws.String("max-age=60"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
	if err != nil {
		t.Fatal(err)
	}
	small := []byte("small and inline")
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("small"), Body: bytes.NewReader(small)}); err != nil {
		t.Fatal(err)
	}

	t.Run("COPY across buckets", func(t *testing.T) {
		before := sh.Count()
		out, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("src/dir/big%20obj"),
			Metadata: map[string]string{"ignored": "under COPY"}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.CopyObjectResult.ETag) != aws.ToString(put.ETag) || out.CopyObjectResult.LastModified == nil {
			t.Fatalf("result %+v", out.CopyObjectResult)
		}
		if aws.ToString(out.CopyObjectResult.ChecksumCRC32C) != aws.ToString(put.ChecksumCRC32C) {
			t.Fatalf("checksum %q, want %q", aws.ToString(out.CopyObjectResult.ChecksumCRC32C), aws.ToString(put.ChecksumCRC32C))
		}
		if sh.Count() != before+6 {
			t.Fatalf("%d shards written, want 6", sh.Count()-before)
		}
		got, g := surfGetObject(t, cl, "dst", "copy")
		if !bytes.Equal(got, big) {
			t.Fatal("content differs")
		}
		if aws.ToString(g.ContentType) != "application/x-big" || g.Metadata["color"] != "blue" || g.Metadata["ignored"] != "" ||
			aws.ToString(g.CacheControl) != "max-age=60" {
			t.Fatalf("metadata not copied: %v %v %v", aws.ToString(g.ContentType), g.Metadata, aws.ToString(g.CacheControl))
		}
		v, _ := idx.GetObject(ctx, "default", "dst", "copy")
		src, _ := idx.GetObject(ctx, "default", "src", "dir/big obj")
		if v.GetVersionId() == src.GetVersionId() {
			t.Fatal("the copy shares the source's version")
		}
	})

	t.Run("REPLACE, leading slash, inline", func(t *testing.T) {
		_, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("small2"), CopySource: aws.String("/src/small"),
			MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/plain"), Metadata: map[string]string{"shape": "round"},
			ContentDisposition: aws.String("attachment")})
		if err != nil {
			t.Fatal(err)
		}
		got, g := surfGetObject(t, cl, "dst", "small2")
		if !bytes.Equal(got, small) || aws.ToString(g.ContentType) != "text/plain" || g.Metadata["shape"] != "round" ||
			aws.ToString(g.ContentDisposition) != "attachment" {
			t.Fatalf("%q %v %v", got, aws.ToString(g.ContentType), g.Metadata)
		}
		v, _ := idx.GetObject(ctx, "default", "dst", "small2")
		if v.GetScheme() != nil {
			t.Fatal("small copy not inline")
		}
	})

	t.Run("onto itself", func(t *testing.T) {
		_, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("src"), Key: aws.String("small"), CopySource: aws.String("src/small")})
		if code(err) != "InvalidRequest" || !strings.Contains(err.Error(), "copy an object to itself") {
			t.Fatalf("got %v", err)
		}
		_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("src"), Key: aws.String("small"), CopySource: aws.String("src/small"),
			MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"new": "yes"}})
		if err != nil {
			t.Fatal(err)
		}
		got, g := surfGetObject(t, cl, "src", "small")
		if !bytes.Equal(got, small) || g.Metadata["new"] != "yes" {
			t.Fatalf("%q %v", got, g.Metadata)
		}
	})

	t.Run("checksum algorithm", func(t *testing.T) {
		out, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("sha"), CopySource: aws.String("src/small"),
			ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.CopyObjectResult.ChecksumSHA256) != surfSHA256B64(small) {
			t.Fatalf("sha256 %q", aws.ToString(out.CopyObjectResult.ChecksumSHA256))
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, c := range []struct {
			in   *s3.CopyObjectInput
			code string
		}{
			{&s3.CopyObjectInput{CopySource: aws.String("src/nope")}, "NoSuchKey"},
			{&s3.CopyObjectInput{CopySource: aws.String("nobucket/k")}, "NoSuchBucket"},
			{&s3.CopyObjectInput{CopySource: aws.String("src")}, "InvalidArgument"},
			{&s3.CopyObjectInput{CopySource: aws.String("src/small?versionId=3HL4kqtJlcpXroDTDmJ")}, "NoSuchVersion"},
			{&s3.CopyObjectInput{CopySource: aws.String("src/small"), MetadataDirective: "MERGE"}, "InvalidArgument"},
			{&s3.CopyObjectInput{Bucket: aws.String("nobucket"), CopySource: aws.String("src/small")}, "NoSuchBucket"},
			{&s3.CopyObjectInput{Key: aws.String(strings.Repeat("k", 1025)), CopySource: aws.String("src/small")}, "KeyTooLongError"},
		} {
			if c.in.Bucket == nil {
				c.in.Bucket = aws.String("dst")
			}
			if c.in.Key == nil {
				c.in.Key = aws.String("x")
			}
			_, err := cl.CopyObject(ctx, c.in)
			if code(err) != c.code {
				t.Errorf("%s: got %v, want %s", aws.ToString(c.in.CopySource), err, c.code)
			}
		}
		if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("x"), CopySource: aws.String("src/small?versionId=null")}); err != nil {
			t.Fatalf("versionId=null: %v", err)
		}
	})

	t.Run("larger than 5 GiB", func(t *testing.T) {
		huge := &cairnpb.ObjectVersion{Key: "huge", VersionId: "v", Size: 5<<30 + 1, Etag: "e", ModifiedUnixNano: time.Now().UnixNano(),
			Scheme: &cairnpb.ErasureScheme{Data: 4, Parity: 2, BlockSize: 64 << 10}}
		if err := idx.CommitObject(ctx, "default", "src", huge); err != nil {
			t.Fatal(err)
		}
		_, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("x"), CopySource: aws.String("src/huge")})
		if code(err) != "InvalidRequest" || !strings.Contains(err.Error(), "maximum allowable size for a copy source") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("corrupt source is not copied", func(t *testing.T) {
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("liar"), Body: bytes.NewReader(big)}); err != nil {
			t.Fatal(err)
		}
		idx.mu.Lock()
		idx.objects["src"]["liar"].Etag = "00000000000000000000000000000000"
		idx.mu.Unlock()
		before := sh.Count()
		_, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("liar"), CopySource: aws.String("src/liar")})
		if code(err) != "InternalError" {
			t.Fatalf("got %v", err)
		}
		if _, err := idx.GetObject(ctx, "default", "dst", "liar"); err == nil {
			t.Fatal("a corrupt copy was committed")
		}
		if sh.Count() != before {
			t.Fatalf("%d shards kept", sh.Count()-before)
		}
	})
}

func TestCopyConditions(t *testing.T) {
	cl, _, _, _ := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cbk")}); err != nil {
		t.Fatal(err)
	}
	put, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cbk"), Key: aws.String("src"), Body: strings.NewReader("conditional")})
	if err != nil {
		t.Fatal(err)
	}
	etag := aws.ToString(put.ETag)
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	for _, c := range []struct {
		name string
		in   s3.CopyObjectInput
		ok   bool
	}{
		{"if-match", s3.CopyObjectInput{CopySourceIfMatch: aws.String(etag)}, true},
		{"if-match unquoted", s3.CopyObjectInput{CopySourceIfMatch: aws.String(strings.Trim(etag, `"`))}, true},
		{"if-match other", s3.CopyObjectInput{CopySourceIfMatch: aws.String(`"0123"`)}, false},
		{"if-none-match", s3.CopyObjectInput{CopySourceIfNoneMatch: aws.String(etag)}, false},
		{"if-none-match star", s3.CopyObjectInput{CopySourceIfNoneMatch: aws.String("*")}, false},
		{"if-none-match other", s3.CopyObjectInput{CopySourceIfNoneMatch: aws.String(`"0123"`)}, true},
		{"if-modified-since past", s3.CopyObjectInput{CopySourceIfModifiedSince: &past}, true},
		{"if-modified-since future", s3.CopyObjectInput{CopySourceIfModifiedSince: &future}, false},
		{"if-unmodified-since future", s3.CopyObjectInput{CopySourceIfUnmodifiedSince: &future}, true},
		{"if-unmodified-since past", s3.CopyObjectInput{CopySourceIfUnmodifiedSince: &past}, false},
		{"if-match wins over if-unmodified-since", s3.CopyObjectInput{CopySourceIfMatch: aws.String(etag), CopySourceIfUnmodifiedSince: &past}, true},
		{"if-none-match wins over if-modified-since", s3.CopyObjectInput{CopySourceIfNoneMatch: aws.String(`"0123"`), CopySourceIfModifiedSince: &future}, true},
	} {
		in := c.in
		in.Bucket, in.Key, in.CopySource = aws.String("cbk"), aws.String("dst"), aws.String("cbk/src")
		_, err := cl.CopyObject(ctx, &in)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok {
			var re interface{ HTTPStatusCode() int }
			if code(err) != "PreconditionFailed" || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusPreconditionFailed {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	}
}
