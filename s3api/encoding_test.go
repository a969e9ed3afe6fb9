package s3api

import (
	"context"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestNamesThatAreNotUTF8AreRefused(t *testing.T) {
	cl, _, _, addr := limitedGateway(t, Limits{})
	ctx := context.Background()
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("keep"), Body: strings.NewReader("kept")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what, method, path string
		hdr                map[string]string
		code, msg          string
	}{
		{"PutObject key", http.MethodPut, "/bkt/%AE%8A-", nil, "InvalidURI", "parse the specified URI."},
		{"GetObject key", http.MethodGet, "/bkt/a%FFb", nil, "InvalidURI", ""},
		{"HeadObject key", http.MethodHead, "/bkt/%C3", nil, "", ""},
		{"CreateMultipartUpload key", http.MethodPost, "/bkt/%FF?uploads", nil, "InvalidURI", ""},
		{"UploadPart uploadId", http.MethodPut, "/bkt/k?partNumber=1&uploadId=%FF", nil, "InvalidURI", ""},
		{"PutObjectTagging key", http.MethodPut, "/bkt/%FE?tagging", nil, "InvalidURI", ""},
		{"ListObjectsV2 prefix", http.MethodGet, "/bkt?list-type=2&prefix=%FF", nil, "InvalidURI", ""},
		{"ListObjectsV2 start-after", http.MethodGet, "/bkt?list-type=2&start-after=a%80", nil, "InvalidURI", ""},
		{"ListObjects marker", http.MethodGet, "/bkt?marker=%FF", nil, "InvalidURI", ""},
		{"ListObjects delimiter", http.MethodGet, "/bkt?delimiter=%FF", nil, "InvalidURI", ""},
		{"ListMultipartUploads key-marker", http.MethodGet, "/bkt?uploads&key-marker=%FF", nil, "InvalidURI", ""},
		{"ListObjectVersions version-id-marker", http.MethodGet, "/bkt?versions&key-marker=a&version-id-marker=%FF", nil, "InvalidURI", ""},
		{"CopyObject source", http.MethodPut, "/bkt/dst", map[string]string{"x-amz-copy-source": "/bkt/%FF"}, "InvalidArgument", "Invalid copy source encoding."},
		{"UploadPartCopy source", http.MethodPut, "/bkt/dst?partNumber=1&uploadId=x", map[string]string{"x-amz-copy-source": "bkt/keep?versionId=%FF"}, "InvalidArgument", "Invalid copy source encoding."},
		{"user metadata", http.MethodPut, "/bkt/meta", map[string]string{"x-amz-meta-note": "caf\xe9"}, "InvalidArgument", "x-amz-meta-note"},
	} {
		st, _, body := surfDo(t, "http://"+addr, c.method, c.path, nil, c.hdr)
		if c.method == http.MethodHead { // the status only
			body = "<Code></Code>"
		}
		if st != http.StatusBadRequest || !strings.Contains(body, "<Code>"+c.code+"</Code>") || !strings.Contains(strings.ToLower(body), strings.ToLower(c.msg)) {
			t.Errorf("%s: %d %s, want 400 %s %q", c.what, st, body, c.code, c.msg)
		}
	}
	out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	if err != nil || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "keep" {
		t.Fatalf("the bucket changed: %v %v", out, err)
	}
}

// Metadata that is not printable US-ASCII goes out RFC 2047 encoded in
// words a decoder puts back together, whatever its length; ASCII goes out
// as it is.
func TestMetadataHeaderEncoding(t *testing.T) {
	var dec mime.WordDecoder
	for _, v := range []string{"plain ascii", "Hello Worldé", strings.Repeat("ünïcødé ", 40), "tab\tok", "bell\x07"} {
		enc := metadataHeader(v)
		if v == "plain ascii" || v == "tab\tok" {
			if enc != v {
				t.Errorf("%q encoded as %q", v, enc)
			}
			continue
		}
		for _, w := range strings.Fields(enc) {
			if len(w) > 75 || !strings.HasPrefix(w, "=?UTF-8?B?") {
				t.Errorf("encoded word %q", w)
			}
		}
		got, err := dec.DecodeHeader(enc)
		if err != nil || got != v {
			t.Errorf("%q: encoded %q decodes to %q (%v)", v, enc, got, err)
		}
	}
}

// ListObjects and ListObjectsV2 with encoding-type=url encode every name
// they echo or list (Prefix, Delimiter, StartAfter or Marker, Key,
// CommonPrefixes) as S3 does: %20 for a space, UTF-8 percent-encoded,
// '/' kept; without it, names go out as they are.
func TestListEncodingTypeURL(t *testing.T) {
	cl, _, _, addr := limitedGateway(t, Limits{})
	ctx := context.Background()
	for _, k := range []string{"a b/ü+1.txt", "a b/sub dir/x", "a b/zz"} {
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/bkt?list-type=2&encoding-type=url&prefix=a%20b%2F&delimiter=%2F&start-after=a%20b%2Fa%20",
			[]string{"<Prefix>a%20b/</Prefix>", "<Delimiter>/</Delimiter>", "<StartAfter>a%20b/a%20</StartAfter>",
				"<Key>a%20b/%C3%BC%2B1.txt</Key>", "<Prefix>a%20b/sub%20dir/</Prefix>", "<Key>a%20b/zz</Key>", "<EncodingType>url</EncodingType>"}},
		{"/bkt?encoding-type=url&prefix=a%20b%2F&marker=a%20b%2F%20",
			[]string{"<Prefix>a%20b/</Prefix>", "<Marker>a%20b/%20</Marker>", "<Key>a%20b/%C3%BC%2B1.txt</Key>", "<Key>a%20b/sub%20dir/x</Key>"}},
		{"/bkt?list-type=2&prefix=a%20b%2F",
			[]string{"<Prefix>a b/</Prefix>", "<Key>a b/ü+1.txt</Key>"}},
	} {
		st, _, body := surfDo(t, "http://"+addr, http.MethodGet, c.path, nil, nil)
		if st != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path, st, body)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %s in\n%s", c.path, w, body)
			}
		}
	}
}

// A bucket created path-style may have any name OCI allows (mixed case,
// underscores, as the seeds' own PresignedBlog), and is used like any
// other; names outside OCI's rule are refused with InvalidBucketName.
func TestPathStyleBucketsFollowOCINames(t *testing.T) {
	cl, _, _, addr := limitedGateway(t, Limits{})
	ctx := context.Background()
	for _, name := range []string{"PresignedBlog", "my_bucket", "ab", "x", "192.168.1.1", strings.Repeat("b", 256)} {
		if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(name), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
			t.Fatalf("put into %q: %v", name, err)
		}
	}
	out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("PresignedBlog")})
	if err != nil || len(out.Contents) != 1 {
		t.Fatalf("list PresignedBlog: %v %v", out, err)
	}
	for _, path := range []string{"/Bad%20Bucket", "/star*", "/%C3%BCber", "/" + strings.Repeat("b", 257)} {
		st, _, body := surfDo(t, "http://"+addr, http.MethodPut, path, nil, nil)
		if st != http.StatusBadRequest || !strings.Contains(body, "<Code>InvalidBucketName</Code>") {
			t.Errorf("create %s: %d %s, want 400 InvalidBucketName", path, st, body)
		}
	}
}
