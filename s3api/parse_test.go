package s3api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// parseCase is one request and what it must parse to.
type parseCase struct {
	method, host, target string
	header               map[string]string
	op                   Op
	bucket, key          string
	// The parameters, when the request gives them.
	version, upload string
	part            int32
	src             copySource
}

// parseGateway is a Server that only parses: virtual-hosted style under
// s3.amazonaws.com and s3.us-west-2.amazonaws.com, as AWS's examples are
// written, namespace hosts under example.com.
func parseGateway() *Server {
	return &Server{cfg: Config{Region: "us-west-2", Domains: []string{"s3.amazonaws.com", "s3.us-west-2.amazonaws.com", "example.com"}}}
}

func checkParse(t *testing.T, s *Server, cases []parseCase) {
	t.Helper()
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "http://x"+c.target, nil)
		r.Host = c.host
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		o := s.parse(r)
		what := c.method + " " + c.host + c.target
		if o.op != c.op {
			t.Errorf("%s: %v, want %v", what, o.op, c.op)
		}
		if o.bucket != c.bucket || o.key != c.key {
			t.Errorf("%s: bucket %q key %q, want %q %q", what, o.bucket, o.key, c.bucket, c.key)
		}
		if o.versionID != c.version || o.uploadID != c.upload || o.partNumber != c.part || o.copySource != c.src {
			t.Errorf("%s: versionId %q uploadId %q partNumber %d copy source %+v, want %q %q %d %+v",
				what, o.versionID, o.uploadID, o.partNumber, o.copySource, c.version, c.upload, c.part, c.src)
		}
	}
}

// TestParseAWSExamples parses the requests of the Amazon S3 API
// Reference (docs.aws.amazon.com/AmazonS3/latest/API/API_<operation>.html):
// each operation's Request Syntax with its placeholders, and the sample
// requests of its Examples section. Headers are those that matter.
func TestParseAWSExamples(t *testing.T) {
	const (
		uploadA = "VCVsb2FkIElEIGZvciBlbZZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZR"
		uploadB = "AAAsb2FkIElEIGZvciBlbHZpbmcncyWeeS1tb3ZpZS5tMnRzIRRwbG9hZA"
		uploadC = "XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA"
		uploadD = "VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZ"
		version = "3/L4kqtJlcpXroDTDmpUMLUo"
	)
	md5 := map[string]string{"Content-MD5": "zhi+TmIAhD2U3GfoYayyTQ=="}
	checkParse(t, parseGateway(), []parseCase{
		// ListBuckets.
		{method: "GET", host: "s3.amazonaws.com", target: "/?bucket-region=BucketRegion&continuation-token=ContinuationToken&max-buckets=MaxBuckets&prefix=Prefix", op: OpListBuckets},
		{method: "GET", host: "s3.us-west-2.amazonaws.com", target: "/", op: OpListBuckets},
		// CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation.
		{method: "PUT", host: "amzn-s3-demo-bucket.s3.amazonaws.com", target: "/", header: map[string]string{"x-amz-acl": "private"}, op: OpCreateBucket, bucket: "amzn-s3-demo-bucket"},
		{method: "HEAD", host: "Bucket.s3.amazonaws.com", target: "/", op: OpHeadBucket, bucket: "bucket"},
		{method: "DELETE", host: "quotes.s3.us-west-2.amazonaws.com", target: "/", op: OpDeleteBucket, bucket: "quotes"},
		{method: "GET", host: "myBucket.s3.amazonaws.com", target: "/?location", op: OpGetBucketLocation, bucket: "mybucket"},
		// ListObjectsV2.
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/?list-type=2&continuation-token=ContinuationToken&delimiter=Delimiter&encoding-type=EncodingType&fetch-owner=FetchOwner&max-keys=MaxKeys&prefix=Prefix&start-after=StartAfter", op: OpListObjectsV2, bucket: "bucket"},
		{method: "GET", host: "quotes.s3.us-west-2.amazonaws.com", target: "/?list-type=2&max-keys=3&prefix=E&start-after=ExampleGuide.pdf", op: OpListObjectsV2, bucket: "quotes"},
		// ListObjects.
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/?delimiter=Delimiter&encoding-type=EncodingType&marker=Marker&max-keys=MaxKeys&prefix=Prefix", op: OpListObjects, bucket: "bucket"},
		{method: "GET", host: "quotes.s3.amazonaws.com", target: "/?prefix=N&marker=Ned&max-keys=40", op: OpListObjects, bucket: "quotes"},
		// ListObjectVersions.
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/?versions&delimiter=Delimiter&encoding-type=EncodingType&key-marker=KeyMarker&max-keys=MaxKeys&prefix=Prefix&version-id-marker=VersionIdMarker", op: OpListObjectVersions, bucket: "bucket"},
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/?versions&key-marker=key2", op: OpListObjectVersions, bucket: "bucket"},
		// ListMultipartUploads.
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/?uploads&delimiter=Delimiter&encoding-type=EncodingType&key-marker=KeyMarker&max-uploads=MaxUploads&prefix=Prefix&upload-id-marker=UploadIdMarker", op: OpListMultipartUploads, bucket: "bucket"},
		{method: "GET", host: "example-bucket.s3.us-west-2.amazonaws.com", target: "/?uploads&max-uploads=3", op: OpListMultipartUploads, bucket: "example-bucket"},
		// DeleteObjects.
		{method: "POST", host: "bucketname.s3.amazonaws.com", target: "/?delete", header: md5, op: OpDeleteObjects, bucket: "bucketname"},
		// Bucket tagging.
		{method: "GET", host: "examplebucket.s3.amazonaws.com", target: "/?tagging", op: OpGetBucketTagging, bucket: "examplebucket"},
		{method: "PUT", host: "examplebucket.s3.amazonaws.com", target: "/?tagging", header: md5, op: OpPutBucketTagging, bucket: "examplebucket"},
		{method: "DELETE", host: "examplebucket.s3.amazonaws.com", target: "/?tagging", op: OpDeleteBucketTagging, bucket: "examplebucket"},
		// Versioning.
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/?versioning", op: OpGetBucketVersioning, bucket: "bucket"},
		{method: "PUT", host: "bucket.s3.amazonaws.com", target: "/?versioning", header: map[string]string{"Content-MD5": md5["Content-MD5"], "x-amz-mfa": "20899872 301749"}, op: OpPutBucketVersioning, bucket: "bucket"},
		// PutObject (the Go SDK adds x-id).
		{method: "PUT", host: "myBucket.s3.us-west-2.amazonaws.com", target: "/my-image.jpg", header: map[string]string{"Content-Type": "text/plain"}, op: OpPutObject, bucket: "mybucket", key: "my-image.jpg"},
		{method: "PUT", host: "bucket.s3.amazonaws.com", target: "/photos/2006/February/sample.jpg?x-id=PutObject", op: OpPutObject, bucket: "bucket", key: "photos/2006/February/sample.jpg"},
		// CopyObject.
		{method: "PUT", host: "bucket.s3.amazonaws.com", target: "/my-second-image.jpg", header: map[string]string{"x-amz-copy-source": "/bucket/my-image.jpg"},
			op: OpCopyObject, bucket: "bucket", key: "my-second-image.jpg", src: copySource{bucket: "bucket", key: "my-image.jpg"}},
		{method: "PUT", host: "bucket.s3.amazonaws.com", target: "/my-second-image.jpg", header: map[string]string{"x-amz-copy-source": "/bucket/my-image.jpg?versionId=" + version},
			op: OpCopyObject, bucket: "bucket", key: "my-second-image.jpg", src: copySource{bucket: "bucket", key: "my-image.jpg", versionID: version}},
		// GetObject.
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/my-image.jpg", op: OpGetObject, bucket: "bucket", key: "my-image.jpg"},
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/myObject?versionId=" + version, op: OpGetObject, bucket: "bucket", key: "myObject", version: version},
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/Junk3.txt?response-cache-control=No-cache&response-content-disposition=attachment%3B%20filename%3Dtesting.txt&response-content-encoding=x-gzip&response-content-language=mi%2C%20en&response-expires=Thu%2C%2001%20Dec%201994%2016:00:00%20GMT",
			op: OpGetObject, bucket: "bucket", key: "Junk3.txt"},
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/example-object?partNumber=3", op: OpGetObject, bucket: "bucket", key: "example-object", part: 3},
		// HeadObject.
		{method: "HEAD", host: "bucket.s3.amazonaws.com", target: "/my-image.jpg", op: OpHeadObject, bucket: "bucket", key: "my-image.jpg"},
		{method: "HEAD", host: "bucket.s3.amazonaws.com", target: "/my-image.jpg?versionId=3HL4kqCxf3vjVBH40Nrjfkd", op: OpHeadObject, bucket: "bucket", key: "my-image.jpg", version: "3HL4kqCxf3vjVBH40Nrjfkd"},
		// DeleteObject.
		{method: "DELETE", host: "bucket.s3.amazonaws.com", target: "/my-second-image.jpg", op: OpDeleteObject, bucket: "bucket", key: "my-second-image.jpg"},
		{method: "DELETE", host: "bucket.s3.amazonaws.com", target: "/my-third-image.jpg?versionId=UIORUnfndfiufdisojhr398493jfdkjFJjkndnqUifhnw89493jJFJ",
			op: OpDeleteObject, bucket: "bucket", key: "my-third-image.jpg", version: "UIORUnfndfiufdisojhr398493jfdkjFJjkndnqUifhnw89493jJFJ"},
		// Object tagging.
		{method: "GET", host: "examplebucket.s3.amazonaws.com", target: "/example-object?tagging", op: OpGetObjectTagging, bucket: "examplebucket", key: "example-object"},
		{method: "GET", host: "examplebucket.s3.amazonaws.com", target: "/exampleobject?tagging&versionId=ydlaNkwWm0SfKJR.T1b1fIdPRbldTYRI",
			op: OpGetObjectTagging, bucket: "examplebucket", key: "exampleobject", version: "ydlaNkwWm0SfKJR.T1b1fIdPRbldTYRI"},
		{method: "PUT", host: "examplebucket.s3.amazonaws.com", target: "/object-key?tagging", header: md5, op: OpPutObjectTagging, bucket: "examplebucket", key: "object-key"},
		{method: "DELETE", host: "examplebucket.s3.amazonaws.com", target: "/exampleobject?tagging", op: OpDeleteObjectTagging, bucket: "examplebucket", key: "exampleobject"},
		// Multipart uploads.
		{method: "POST", host: "example-bucket.s3.us-west-2.amazonaws.com", target: "/example-object?uploads", op: OpCreateMultipartUpload, bucket: "example-bucket", key: "example-object"},
		{method: "PUT", host: "example-bucket.s3.us-west-2.amazonaws.com", target: "/my-movie.m2ts?partNumber=1&uploadId=" + uploadA, header: md5,
			op: OpUploadPart, bucket: "example-bucket", key: "my-movie.m2ts", upload: uploadA, part: 1},
		{method: "PUT", host: "target-bucket.s3.us-west-2.amazonaws.com", target: "/newobject?partNumber=2&uploadId=" + uploadA,
			header: map[string]string{"x-amz-copy-source": "/source-bucket/sourceobject", "x-amz-copy-source-range": "bytes=500-6291456"},
			op:     OpUploadPartCopy, bucket: "target-bucket", key: "newobject", upload: uploadA, part: 2, src: copySource{bucket: "source-bucket", key: "sourceobject"}},
		{method: "PUT", host: "target-bucket.s3.us-west-2.amazonaws.com", target: "/newobject?partNumber=2&uploadId=" + uploadA,
			header: map[string]string{"x-amz-copy-source": "/source-bucket/sourceobject?versionId=" + version},
			op:     OpUploadPartCopy, bucket: "target-bucket", key: "newobject", upload: uploadA, part: 2, src: copySource{bucket: "source-bucket", key: "sourceobject", versionID: version}},
		{method: "POST", host: "example-bucket.s3.us-west-2.amazonaws.com", target: "/example-object?uploadId=" + uploadB, op: OpCompleteMultipartUpload, bucket: "example-bucket", key: "example-object", upload: uploadB},
		{method: "GET", host: "example-bucket.s3.us-west-2.amazonaws.com", target: "/example-object?uploadId=" + uploadC + "&max-parts=2&part-number-marker=1",
			op: OpListParts, bucket: "example-bucket", key: "example-object", upload: uploadC},
		{method: "DELETE", host: "example-bucket.s3.us-west-2.amazonaws.com", target: "/example-object?uploadId=" + uploadD, op: OpAbortMultipartUpload, bucket: "example-bucket", key: "example-object", upload: uploadD},
		// Operations Cairn does not implement.
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/?acl", op: OpGetBucketAcl, bucket: "bucket"},
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/my-image.jpg?acl", op: OpGetObjectAcl, bucket: "bucket", key: "my-image.jpg"},
		{method: "PUT", host: "examplebucket.s3.amazonaws.com", target: "/?lifecycle", header: md5, op: OpPutBucketLifecycleConfiguration, bucket: "examplebucket"},
		{method: "DELETE", host: "examplebucket.s3.amazonaws.com", target: "/?lifecycle", op: OpDeleteBucketLifecycle, bucket: "examplebucket"},
		{method: "GET", host: "examplebucket.s3.amazonaws.com", target: "/?analytics&id=list1", op: OpGetBucketAnalyticsConfiguration, bucket: "examplebucket"},
		{method: "GET", host: "examplebucket.s3.amazonaws.com", target: "/?analytics&continuation-token=ContinuationToken", op: OpListBucketAnalyticsConfigurations, bucket: "examplebucket"},
		{method: "PUT", host: "examplebucket.s3.amazonaws.com", target: "/?metrics&id=EntireBucket", op: OpPutBucketMetricsConfiguration, bucket: "examplebucket"},
		{method: "GET", host: "examplebucket.s3.amazonaws.com", target: "/?object-lock", op: OpGetObjectLockConfiguration, bucket: "examplebucket"},
		{method: "POST", host: "examplebucket.s3.amazonaws.com", target: "/exampleobject.csv?select&select-type=2", op: OpSelectObjectContent, bucket: "examplebucket", key: "exampleobject.csv"},
		{method: "POST", host: "bucket.s3.amazonaws.com", target: "/object-one.csv?restore", op: OpRestoreObject, bucket: "bucket", key: "object-one.csv"},
		{method: "GET", host: "bucket.s3.amazonaws.com", target: "/Key?attributes&versionId=VersionId", op: OpGetObjectAttributes, bucket: "bucket", key: "Key", version: "VersionId"},
		{method: "PUT", host: "bucket.s3.amazonaws.com", target: "/Key?retention&versionId=VersionId", op: OpPutObjectRetention, bucket: "bucket", key: "Key", version: "VersionId"},
	})
}

// TestParseServiceModelBindings parses the HTTP bindings of the S3
// service model (the Smithy model the SDKs are generated from): the
// SDKs add x-id=<operation> to requests whose path and subresource alone
// do not name the operation, and newer operations bring subresources of
// their own. Path style, as the model writes them.
func TestParseServiceModelBindings(t *testing.T) {
	copySrc := map[string]string{"x-amz-copy-source": "/src/a"}
	checkParse(t, parseGateway(), []parseCase{
		{method: "GET", target: "/?x-id=ListBuckets", op: OpListBuckets},
		{method: "GET", target: "/b/k?x-id=GetObject", op: OpGetObject, bucket: "b", key: "k"},
		{method: "PUT", target: "/b/k?x-id=PutObject", op: OpPutObject, bucket: "b", key: "k"},
		{method: "PUT", target: "/b/k?x-id=CopyObject", header: copySrc, op: OpCopyObject, bucket: "b", key: "k", src: copySource{bucket: "src", key: "a"}},
		{method: "DELETE", target: "/b/k?x-id=DeleteObject", op: OpDeleteObject, bucket: "b", key: "k"},
		{method: "PUT", target: "/b/k?x-id=UploadPart&partNumber=1&uploadId=u", op: OpUploadPart, bucket: "b", key: "k", upload: "u", part: 1},
		{method: "PUT", target: "/b/k?x-id=UploadPartCopy&partNumber=1&uploadId=u", header: copySrc, op: OpUploadPartCopy, bucket: "b", key: "k", upload: "u", part: 1, src: copySource{bucket: "src", key: "a"}},
		{method: "GET", target: "/b/k?x-id=ListParts&uploadId=u", op: OpListParts, bucket: "b", key: "k", upload: "u"},
		{method: "DELETE", target: "/b/k?x-id=AbortMultipartUpload&uploadId=u", op: OpAbortMultipartUpload, bucket: "b", key: "k", upload: "u"},
		{method: "GET", target: "/b?analytics&x-id=GetBucketAnalyticsConfiguration&id=a", op: OpGetBucketAnalyticsConfiguration, bucket: "b"},
		{method: "GET", target: "/b?analytics&x-id=ListBucketAnalyticsConfigurations", op: OpListBucketAnalyticsConfigurations, bucket: "b"},
		{method: "GET", target: "/b?intelligent-tiering&x-id=GetBucketIntelligentTieringConfiguration&id=a", op: OpGetBucketIntelligentTieringConfiguration, bucket: "b"},
		{method: "GET", target: "/b?inventory&x-id=ListBucketInventoryConfigurations", op: OpListBucketInventoryConfigurations, bucket: "b"},
		{method: "GET", target: "/b?metrics&x-id=GetBucketMetricsConfiguration&id=a", op: OpGetBucketMetricsConfiguration, bucket: "b"},
		{method: "GET", target: "/b?session", header: map[string]string{"x-amz-create-session-mode": "ReadOnly"}, op: OpCreateSession, bucket: "b"},
		{method: "POST", target: "/b?metadataConfiguration", op: OpCreateBucketMetadataConfiguration, bucket: "b"},
		{method: "DELETE", target: "/b?metadataConfiguration", op: OpDeleteBucketMetadataConfiguration, bucket: "b"},
		{method: "POST", target: "/b?metadataTable", op: OpCreateBucketMetadataTableConfiguration, bucket: "b"},
		{method: "DELETE", target: "/b?metadataTable", op: OpDeleteBucketMetadataTableConfiguration, bucket: "b"},
		{method: "PUT", target: "/b?metadataInventoryTable", op: OpUpdateBucketMetadataInventoryTableConfiguration, bucket: "b"},
		{method: "PUT", target: "/b?metadataJournalTable", op: OpUpdateBucketMetadataJournalTableConfiguration, bucket: "b"},
		{method: "PUT", target: "/b/k?renameObject", header: map[string]string{"x-amz-rename-source": "/b/old"}, op: OpRenameObject, bucket: "b", key: "k"},
	})
}

// TestParseRefusesAndDisagreements covers requests that are no S3
// operation, and those the gateway's three former classifiers (route,
// requiredAccess, the metrics' s3Op) disagreed on. Path style.
func TestParseRefusesAndDisagreements(t *testing.T) {
	checkParse(t, parseGateway(), []parseCase{
		// Route and authorization served GetBucketVersioning; the metrics
		// counted ListMultipartUploads.
		{method: "GET", target: "/b?versioning&uploads", op: OpGetBucketVersioning, bucket: "b"},
		{method: "GET", target: "/b?versions&uploads", op: OpListObjectVersions, bucket: "b"},
		// Route refused these with 405; the metrics counted DeleteObjects.
		{method: "POST", target: "/b?delete&uploads", op: OpOther, bucket: "b"},
		{method: "POST", target: "/b?delete&tagging", op: OpOther, bucket: "b"},
		// An unimplemented subresource is its own operation, refused with
		// 501 and never authorized as the plain request (PUT /b would be
		// CreateBucket).
		{method: "PUT", target: "/b?lifecycle", op: OpPutBucketLifecycleConfiguration, bucket: "b"},
		{method: "PUT", target: "/b?tagging&lifecycle", op: OpPutBucketLifecycleConfiguration, bucket: "b"},
		{method: "GET", target: "/b?cors&acl", op: OpGetBucketAcl, bucket: "b"},
		// Subresources the gateway did not know passed for the plain
		// request: DeleteBucket, PutObject (an empty body over the
		// object), CreateBucket, ListObjects.
		{method: "DELETE", target: "/b?metadataTable", op: OpDeleteBucketMetadataTableConfiguration, bucket: "b"},
		{method: "PUT", target: "/b/k?renameObject", op: OpRenameObject, bucket: "b", key: "k"},
		{method: "PUT", target: "/b?metadataInventoryTable", op: OpUpdateBucketMetadataInventoryTableConfiguration, bucket: "b"},
		{method: "GET", target: "/b?session", op: OpCreateSession, bucket: "b"},
		{method: "DELETE", target: "/b?acl", op: OpNotImplemented, bucket: "b"},
		{method: "GET", target: "/?acl", op: OpNotImplemented},
		{method: "POST", target: "/b?delete&acl", op: OpNotImplemented, bucket: "b"},
		// ?location is GetBucketLocation or nothing; it used to pass for
		// CreateBucket, HeadBucket and DeleteBucket.
		{method: "DELETE", target: "/b?location", op: OpOther, bucket: "b"},
		{method: "PUT", target: "/b?location", op: OpOther, bucket: "b"},
		{method: "GET", target: "/b?location&list-type=2", op: OpGetBucketLocation, bucket: "b"},
		// ?delete anywhere but POST /b.
		{method: "GET", target: "/b?delete", op: OpOther, bucket: "b"},
		{method: "POST", target: "/b/k?delete", op: OpOther, bucket: "b", key: "k"},
		{method: "POST", target: "/?delete", op: OpOther},
		{method: "GET", target: "/b?delete&acl", op: OpOther, bucket: "b"},
		// No operation for the method.
		{method: "PATCH", target: "/b/k", op: OpOther, bucket: "b", key: "k"},
		{method: "PUT", target: "/", op: OpOther},
		{method: "GET", target: "/b?uploadId=u", op: OpOther, bucket: "b", upload: "u"},
		{method: "HEAD", target: "/b/k?uploadId=u", op: OpOther, bucket: "b", key: "k", upload: "u"},
		{method: "PUT", target: "/b?uploads", op: OpOther, bucket: "b"},
		{method: "GET", target: "/b/k?uploads", op: OpOther, bucket: "b", key: "k"},
		{method: "POST", target: "/b/k?tagging", op: OpOther, bucket: "b", key: "k"},
		{method: "PUT", target: "/b?versions", op: OpOther, bucket: "b"},
		{method: "POST", target: "/b", op: OpPostObject, bucket: "b"},
		// Bucket subresources mean nothing on objects, nor any on the
		// service.
		{method: "GET", target: "/b/k?versioning", op: OpGetObject, bucket: "b", key: "k"},
		{method: "DELETE", target: "/b/k?location", op: OpDeleteObject, bucket: "b", key: "k"},
		{method: "GET", target: "/?tagging", op: OpListBuckets},
		// Precedence between served subresources.
		{method: "GET", target: "/b?tagging&versioning", op: OpGetBucketTagging, bucket: "b"},
		{method: "POST", target: "/b/k?uploads&uploadId=u", op: OpCreateMultipartUpload, bucket: "b", key: "k", upload: "u"},
		{method: "PUT", target: "/b/k?partNumber=1", op: OpPutObject, bucket: "b", key: "k", part: 1},
		// Bad parameters still parse; the handlers refuse them.
		{method: "PUT", target: "/b/k?partNumber=0&uploadId=u", op: OpUploadPart, bucket: "b", key: "k", upload: "u"},
		{method: "PUT", target: "/b/k", header: map[string]string{"x-amz-copy-source": "nokey"}, op: OpCopyObject, bucket: "b", key: "k"},
		// A namespace host names the namespace, and the bucket comes from
		// the path: the metrics used to take the host for a bucket and
		// count GetObject.
		{method: "GET", host: "acme.compat.objectstorage.us-west-2.example.com", target: "/b", op: OpListObjects, bucket: "b"},
	})
}

// TestParseParameters: the parsed parameters the handlers use.
func TestParseParameters(t *testing.T) {
	s := parseGateway()
	parse := func(method, target string, header map[string]string) operation {
		r := httptest.NewRequest(method, "http://x"+target, nil)
		for k, v := range header {
			r.Header.Set(k, v)
		}
		return s.parse(r)
	}
	o := parse("GET", "/b/k?versionId=", nil)
	if _, named, err := o.version(); !named || err == nil {
		t.Errorf("empty versionId: named %v err %v", named, err)
	}
	o = parse("GET", "/b/k", nil)
	if id, named, err := o.version(); id != "" || named || err != nil {
		t.Errorf("no versionId: %q %v %v", id, named, err)
	}
	o = parse("PUT", "/b/k?uploadId=u&partNumber=10001", nil)
	if _, err := o.part(); err == nil {
		t.Error("partNumber 10001 accepted")
	}
	o = parse("PUT", "/b/k?uploadId=u", nil)
	if _, err := o.part(); err == nil || o.hasPartNumber {
		t.Errorf("missing partNumber: %v %v", err, o.hasPartNumber)
	}
	o = parse("PUT", "/b/k", map[string]string{"x-amz-copy-source": "/src/a%20b/c?versionId=v"})
	if src, err := o.source(); err != nil || src != (copySource{"src", "a b/c", "v"}) {
		t.Errorf("copy source: %+v %v", src, err)
	}
	o = parse("PUT", "/b/k", map[string]string{"x-amz-copy-source": "/src/k?versionId="})
	if _, err := o.source(); err == nil {
		t.Error("copy source with an empty versionId accepted")
	}
	o = parse("GET", "/b?list-type=2&prefix=a%2Fb&x-id=ListObjectsV2", nil)
	if o.query.Get("prefix") != "a/b" || o.sub != "" {
		t.Errorf("query %v sub %q", o.query, o.sub)
	}
	o = parse("GET", "/b?tagging&acl", nil)
	if o.sub != "acl" || !o.subs.has(subTagging) {
		t.Errorf("sub %q subs %v", o.sub, o.subs)
	}
}

// TestUnimplementedSubresourcesChangeNothing: requests that used to pass
// for CreateBucket, DeleteBucket and PutObject are refused with 501 and
// leave everything as it was.
func TestUnimplementedSubresourcesChangeNothing(t *testing.T) {
	cl, _, _, base := newTestGateway(t)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("empty")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("kept")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodPut, "/new?website"},
		{http.MethodPut, "/new?metadataInventoryTable"},
		{http.MethodDelete, "/empty?metadataTable"},
		{http.MethodDelete, "/empty?metadataConfiguration"},
		{http.MethodPut, "/bkt/k?renameObject"},
	} {
		if st, _, body := surfDo(t, base, c.method, c.path, nil, nil); st != http.StatusNotImplemented {
			t.Errorf("%s %s: %d %s, want 501", c.method, c.path, st, body)
		}
	}
	if _, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("new")}); err == nil {
		t.Error("bucket new was created")
	}
	if _, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("empty")}); err != nil {
		t.Errorf("bucket empty is gone: %v", err)
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(got) != "kept" {
		t.Errorf("object now holds %q", got)
	}
}
