package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func tagSetOf(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func tagString(tags []types.Tag) string {
	var parts []string
	for _, t := range tags {
		parts = append(parts, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	return strings.Join(parts, "&")
}

// tagBody is a raw request's Tagging document and its Content-MD5 header.
func tagBody(doc string) ([]byte, map[string]string) {
	sum := md5.Sum([]byte(doc))
	return []byte(doc), map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])}
}

func TestObjectTagging(t *testing.T) {
	cl, idx, _, base := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("hello"),
		Tagging: aws.String("b=two%20words&a=1&empty")}); err != nil {
		t.Fatal(err)
	}
	getTags := func(key string) string {
		t.Helper()
		out, err := cl.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		return tagString(out.TagSet)
	}
	if got := getTags("k"); got != "a=1&b=two words&empty=" {
		t.Fatalf("tags from x-amz-tagging: %q", got)
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil || aws.ToInt32(head.TagCount) != 3 {
		t.Fatalf("head tag count %v, %v", head.TagCount, err)
	}
	before, _ := idx.GetObject(ctx, "default", "bkt", "k")

	if _, err := cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
		Tagging: &types.Tagging{TagSet: tagSetOf("z", "last", "m", "ü+:/=@_.-")}}); err != nil {
		t.Fatal(err)
	}
	if got := getTags("k"); got != "m=ü+:/=@_.-&z=last" {
		t.Fatalf("tags after PutObjectTagging: %q", got)
	}
	after, _ := idx.GetObject(ctx, "default", "bkt", "k")
	if after.GetModifiedUnixNano() != before.GetModifiedUnixNano() || after.GetVersionId() != before.GetVersionId() || after.GetEtag() != before.GetEtag() {
		t.Fatalf("tagging changed the version: %v -> %v", before, after)
	}
	_, g := surfGetObject(t, cl, "bkt", "k")
	if aws.ToInt32(g.TagCount) != 2 {
		t.Fatalf("get tag count %v", g.TagCount)
	}

	if _, err := cl.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if got := getTags("k"); got != "" {
		t.Fatalf("tags after delete: %q", got)
	}
	if _, g := surfGetObject(t, cl, "bkt", "k"); g.TagCount != nil {
		t.Fatalf("untagged object has a tag count %d", aws.ToInt32(g.TagCount))
	}

	_, err = cl.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("missing")})
	if code(err) != "NoSuchKey" {
		t.Fatalf("missing key: %v", err)
	}
	_, err = cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("missing"),
		Tagging: &types.Tagging{TagSet: tagSetOf("a", "b")}})
	if code(err) != "NoSuchKey" {
		t.Fatalf("tagging a missing key: %v", err)
	}

	eleven := make([]string, 0, 22)
	for i := range 11 {
		eleven = append(eleven, fmt.Sprint("k", i), "v")
	}
	for _, tc := range []struct {
		name string
		tags []types.Tag
		code string
	}{
		{"eleven tags", tagSetOf(eleven...), "BadRequest"},
		{"duplicate keys", tagSetOf("a", "1", "a", "2"), "InvalidTag"},
		{"key too long", tagSetOf(strings.Repeat("k", 129), "v"), "InvalidTag"},
		{"value too long", tagSetOf("k", strings.Repeat("v", 257)), "InvalidTag"},
		{"key of 2-unit letters", tagSetOf(strings.Repeat("𝐀", 65), "v"), "InvalidTag"},
		{"emoji", tagSetOf("a😀", "v"), "InvalidTag"},
		{"empty key", tagSetOf("", "v"), "InvalidTag"},
		{"bad character", tagSetOf("a{b", "v"), "InvalidTag"},
		{"aws: prefix", tagSetOf("aws:x", "v"), "InvalidTag"},
	} {
		_, err := cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Tagging: &types.Tagging{TagSet: tc.tags}})
		if code(err) != tc.code {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
		}
		_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("refused"), Body: strings.NewReader("x"),
			Tagging: aws.String(urlTags(tc.tags))})
		if tc.name != "duplicate keys" && code(err) != tc.code {
			t.Errorf("%s in x-amz-tagging: got %v, want %s", tc.name, err, tc.code)
		}
	}
	if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("refused")}); err == nil {
		t.Fatal("a PutObject with bad tags stored its object")
	}
	if got := getTags("k"); got != "" {
		t.Fatalf("refused tag sets changed the tags: %q", got)
	}
	// Ten tags of maximal size are fine.
	var ten []string
	for i := range 10 {
		ten = append(ten, fmt.Sprintf("%0128d", i), strings.Repeat("v", 256))
	}
	if _, err := cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Tagging: &types.Tagging{TagSet: tagSetOf(ten...)}}); err != nil {
		t.Fatal(err)
	}

	// The header's own encoding errors.
	for _, h := range []string{"a=1&a=2", "TagSet=[{Key=string,Value=string}]", "a=%zz"} {
		st, _, body := surfDo(t, base, "PUT", "/bkt/hdr", []byte("x"), map[string]string{"x-amz-tagging": h})
		if st != http.StatusBadRequest || !strings.Contains(body, "<Code>InvalidArgument</Code>") {
			t.Errorf("x-amz-tagging %q: %d %s", h, st, body)
		}
	}

	// Raw documents: malformed XML, no TagSet, a Tag without Value, no
	// Content-MD5.
	for _, tc := range []struct{ doc, code string }{
		{"<Tagging><TagSet><Tag><Key>a</Key>", "MalformedXML"},
		{"<Tagging></Tagging>", "MalformedXML"},
		{"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>", "MalformedXML"},
		{"<NotTagging><TagSet></TagSet></NotTagging>", "MalformedXML"},
	} {
		body, hdr := tagBody(tc.doc)
		st, _, out := surfDo(t, base, "PUT", "/bkt/k?tagging", body, hdr)
		if st != http.StatusBadRequest || !strings.Contains(out, "<Code>"+tc.code+"</Code>") {
			t.Errorf("%q: %d %s", tc.doc, st, out)
		}
	}
	st, _, out := surfDo(t, base, "PUT", "/bkt/k?tagging", []byte("<Tagging><TagSet></TagSet></Tagging>"), nil)
	if st != http.StatusBadRequest || !strings.Contains(out, "Content-MD5") {
		t.Errorf("no Content-MD5: %d %s", st, out)
	}
	// An empty TagSet removes the tags.
	body, hdr := tagBody(`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet/></Tagging>`)
	if st, _, out := surfDo(t, base, "PUT", "/bkt/k?tagging", body, hdr); st != http.StatusOK {
		t.Fatalf("empty TagSet: %d %s", st, out)
	}
	if got := getTags("k"); got != "" {
		t.Fatalf("tags after an empty TagSet: %q", got)
	}
	// Versions and other methods.
	if st, _, _ := surfDo(t, base, "GET", "/bkt/k?tagging&versionId=x", nil, nil); st != http.StatusNotFound {
		t.Fatalf("tagging of a version: %d", st)
	}
	if st, _, _ := surfDo(t, base, "POST", "/bkt/k?tagging", nil, nil); st != http.StatusMethodNotAllowed {
		t.Fatalf("POST ?tagging: %d", st)
	}
}

// urlTags writes tags as x-amz-tagging.
func urlTags(tags []types.Tag) string {
	var parts []string
	for _, t := range tags {
		parts = append(parts, urlEscape(aws.ToString(t.Key))+"="+urlEscape(aws.ToString(t.Value)))
	}
	return strings.Join(parts, "&")
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func TestBucketTagging(t *testing.T) {
	cl, _, _, _ := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	_, err := cl.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("bkt")})
	if code(err) != "NoSuchTagSet" {
		t.Fatalf("untagged bucket: %v", err)
	}
	if _, err := cl.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("bkt"),
		Tagging: &types.Tagging{TagSet: tagSetOf("team", "storage", "env", "prod")}}); err != nil {
		t.Fatal(err)
	}
	out, err := cl.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("bkt")})
	if err != nil || tagString(out.TagSet) != "env=prod&team=storage" {
		t.Fatalf("bucket tags %q, %v", tagString(out.TagSet), err)
	}
	var many []string
	for i := range 51 {
		many = append(many, fmt.Sprint("k", i), "v")
	}
	_, err = cl.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("bkt"), Tagging: &types.Tagging{TagSet: tagSetOf(many...)}})
	if code(err) != "InvalidTag" {
		t.Fatalf("51 bucket tags: %v", err)
	}
	if _, err := cl.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("bkt"), Tagging: &types.Tagging{TagSet: tagSetOf(many[:100]...)}}); err != nil {
		t.Fatalf("50 bucket tags: %v", err)
	}
	if _, err := cl.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("bkt")})
	if code(err) != "NoSuchTagSet" {
		t.Fatalf("after delete: %v", err)
	}
	_, err = cl.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("nope")})
	if code(err) != "NoSuchBucket" {
		t.Fatalf("missing bucket: %v", err)
	}
}

func TestTaggingOnMultipartAndCopy(t *testing.T) {
	cl, _, _, _ := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	cr, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), Tagging: aws.String("from=upload")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part one"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	tags := func(key string) string {
		t.Helper()
		out, err := cl.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		return tagString(out.TagSet)
	}
	if got := tags("mp"); got != "from=upload" {
		t.Fatalf("multipart object tags %q", got)
	}
	_, err = cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp2"), Tagging: aws.String("aws:no=1")})
	if code(err) != "InvalidTag" {
		t.Fatalf("bad tags on CreateMultipartUpload: %v", err)
	}

	// COPY (the default) keeps the source's tags, REPLACE takes the
	// header's (none when it is absent).
	if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copied"), CopySource: aws.String("bkt/mp"),
		Tagging: aws.String("ignored=under-copy")}); err != nil {
		t.Fatal(err)
	}
	if got := tags("copied"); got != "from=upload" {
		t.Fatalf("COPY tags %q", got)
	}
	if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("replaced"), CopySource: aws.String("bkt/mp"),
		TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("new=1&other=2")}); err != nil {
		t.Fatal(err)
	}
	if got := tags("replaced"); got != "new=1&other=2" {
		t.Fatalf("REPLACE tags %q", got)
	}
	if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("bare"), CopySource: aws.String("bkt/mp"),
		TaggingDirective: types.TaggingDirectiveReplace}); err != nil {
		t.Fatal(err)
	}
	if got := tags("bare"); got != "" {
		t.Fatalf("REPLACE without x-amz-tagging: %q", got)
	}
	_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("x"), CopySource: aws.String("bkt/mp"),
		TaggingDirective: "SOMETIMES"})
	if code(err) != "InvalidArgument" {
		t.Fatalf("unknown directive: %v", err)
	}
}
