package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// Behaviours S3 clients were seen to trip over (issue 14, "Fix every
// behaviour listed under Why"), each checked the way AWS answers, with
// real clients against the surface cluster.

// testListBucketsPages: MaxBuckets bounds a page, the continuation token
// resumes after it, Prefix filters and is echoed, a bad max-buckets is
// InvalidArgument, and a request without paging parameters gets every
// bucket and no token.
func testListBucketsPages(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	want := []string{"page-a", "page-b", "page-c", "page-d", "page-e"}
	for _, b := range want {
		mustCreateBucket(t, cl, b)
	}
	var got []string
	var token *string
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatalf("ListBuckets never stopped paging: %v", got)
		}
		out, err := cl.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(2), Prefix: aws.String("page-"), ContinuationToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Prefix) != "page-" {
			t.Fatalf("Prefix echoed as %q", aws.ToString(out.Prefix))
		}
		if len(out.Buckets) > 2 {
			t.Fatalf("page of %d buckets for MaxBuckets 2", len(out.Buckets))
		}
		for _, b := range out.Buckets {
			got = append(got, aws.ToString(b.Name))
			if aws.ToString(b.BucketRegion) != "eu-west-1" {
				t.Fatalf("bucket %s in region %q", aws.ToString(b.Name), aws.ToString(b.BucketRegion))
			}
		}
		token = out.ContinuationToken
		if aws.ToString(token) == "" {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("paged ListBuckets: %v, want %v", got, want)
	}
	all, err := cl.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Buckets) < len(want) || all.ContinuationToken != nil {
		t.Fatalf("unpaged ListBuckets: %d buckets, token %v", len(all.Buckets), all.ContinuationToken)
	}
	_, err = cl.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(10001)})
	wantAPIError(t, err, "InvalidArgument", http.StatusBadRequest)
	_, err = cl.ListBuckets(ctx, &s3.ListBucketsInput{ContinuationToken: aws.String("***")})
	wantAPIError(t, err, "InvalidArgument", http.StatusBadRequest)
}

// testMetadataBeyondASCII: metadata that is not US-ASCII comes back RFC
// 2047 encoded, whether it was sent as raw UTF-8 (the Go SDK) or encoded
// (boto3, whose headers are Latin-1), and the encoded form decodes to
// what was sent.
func testMetadataBeyondASCII(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	mustCreateBucket(t, cl, "meta-utf8")
	const encoded = "=?UTF-8?B?SGVsbG8gV29ybGTDqQ==?=" // "Hello Worldé"
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("meta-utf8"), Key: aws.String("raw"),
		Body: bytes.NewReader([]byte("x")), Metadata: map[string]string{"greeting": "Hello Worldé", "plain": "ascii stays"}}); err != nil {
		t.Fatal(err)
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("meta-utf8"), Key: aws.String("raw")})
	if err != nil {
		t.Fatal(err)
	}
	if head.Metadata["greeting"] != encoded || head.Metadata["plain"] != "ascii stays" {
		t.Fatalf("metadata came back as %q", head.Metadata)
	}

	py := requireBoto3(t)
	out := runBoto3(t, py, c, `
import json, os, email.header
import boto3
from botocore.config import Config
s3 = boto3.client("s3", region_name=os.environ["REGION"], endpoint_url=os.environ["EP"], aws_access_key_id=os.environ["AK"],
                  aws_secret_access_key=os.environ["SK"], config=Config(s3={"addressing_style": "path"}))
s3.put_object(Bucket="meta-utf8", Key="boto", Body=b"x", Metadata={"greeting": os.environ["ENCODED"]})
got = s3.head_object(Bucket="meta-utf8", Key="boto")["Metadata"]["greeting"]
text, charset = email.header.decode_header(got)[0]
print(json.dumps({"sent_back": got, "decoded": text.decode(charset)}))
`, "ENCODED="+encoded)
	var res struct {
		SentBack string `json:"sent_back"`
		Decoded  string `json:"decoded"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	if res.SentBack != encoded || res.Decoded != "Hello Worldé" {
		t.Fatalf("boto3 got %q back, decoding to %q", res.SentBack, res.Decoded)
	}
}

// testRepeatedHeadersJoined: a header sent twice is kept as one list
// joined with ", ", as AWS answers it.
func testRepeatedHeadersJoined(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	mustCreateBucket(t, cl, "joined")
	body := []byte("compressed twice, in theory")
	req, err := http.NewRequest(http.MethodPut, c.Endpoint+"/joined/k", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Add("Content-Encoding", "gzip")
	req.Header.Add("Content-Encoding", "br")
	req.Header.Add("X-Amz-Meta-Tag", "one")
	req.Header.Add("X-Amz-Meta-Tag", "two")
	signV4(t, c, req, body)
	if status, msg := httpStatus(t, req); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, msg)
	}
	head, err := cl.HeadObject(ctxT(t, time.Minute), &s3.HeadObjectInput{Bucket: aws.String("joined"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentEncoding) != "gzip, br" || head.Metadata["tag"] != "one, two" {
		t.Fatalf("Content-Encoding %q, x-amz-meta-tag %q", aws.ToString(head.ContentEncoding), head.Metadata["tag"])
	}
}

// testEmptyContinuationTokenEchoed: ListObjectsV2 echoes the token it was
// given, even an empty one.
func testEmptyContinuationTokenEchoed(t *testing.T, cl *s3.Client) {
	mustCreateBucket(t, cl, "echo")
	mustPut(t, cl, "echo", "a", []byte("a"))
	out, err := cl.ListObjectsV2(ctxT(t, time.Minute), &s3.ListObjectsV2Input{Bucket: aws.String("echo"), ContinuationToken: aws.String("")})
	if err != nil {
		t.Fatal(err)
	}
	if out.ContinuationToken == nil || *out.ContinuationToken != "" || aws.ToInt32(out.KeyCount) != 1 {
		t.Fatalf("ContinuationToken %v, KeyCount %d", out.ContinuationToken, aws.ToInt32(out.KeyCount))
	}
}

// testSuspendedWritesHaveNoVersionID: with versioning suspended, PUT and
// CompleteMultipartUpload write the null version and, as AWS, name no
// version; the object reads back as version "null".
func testSuspendedWritesHaveNoVersionID(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	mustCreateBucket(t, cl, "suspended")
	for _, status := range []types.BucketVersioningStatus{types.BucketVersioningStatusEnabled, types.BucketVersioningStatusSuspended} {
		if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("suspended"),
			VersioningConfiguration: &types.VersioningConfiguration{Status: status}}); err != nil {
			t.Fatal(err)
		}
	}
	put, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("suspended"), Key: aws.String("k"), Body: bytes.NewReader([]byte("null one"))})
	if err != nil {
		t.Fatal(err)
	}
	if put.VersionId != nil {
		t.Fatalf("PUT in a suspended bucket named version %q", *put.VersionId)
	}
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("suspended"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("suspended"), Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("only part"))})
	if err != nil {
		t.Fatal(err)
	}
	done, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("suspended"), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
	if err != nil {
		t.Fatal(err)
	}
	if done.VersionId != nil {
		t.Fatalf("CompleteMultipartUpload in a suspended bucket named version %q", *done.VersionId)
	}
	for _, key := range []string{"k", "mp"} {
		got, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("suspended"), Key: aws.String(key), VersionId: aws.String("null")})
		if err != nil {
			t.Fatalf("%s as version null: %v", key, err)
		}
		if aws.ToString(got.VersionId) != "null" {
			t.Fatalf("%s: version %q, want null", key, aws.ToString(got.VersionId))
		}
	}
}

// testACLsBucketOwnerEnforced: ACL calls are answered as AWS answers them
// for a BucketOwnerEnforced bucket: reads show the owner's FULL_CONTROL,
// private ACLs are accepted, and anything that would grant more is
// refused with AWS's code, storing nothing.
func testACLsBucketOwnerEnforced(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	mustCreateBucket(t, cl, "acl")
	mustPut(t, cl, "acl", "k", []byte("private"))
	acl, err := cl.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("acl")})
	if err != nil {
		t.Fatal(err)
	}
	if len(acl.Grants) != 1 || acl.Grants[0].Permission != types.PermissionFullControl ||
		aws.ToString(acl.Grants[0].Grantee.ID) != aws.ToString(acl.Owner.ID) || aws.ToString(acl.Owner.ID) == "" {
		t.Fatalf("bucket ACL: owner %v, grants %+v", aws.ToString(acl.Owner.ID), acl.Grants)
	}
	oacl, err := cl.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String("acl"), Key: aws.String("k")})
	if err != nil || len(oacl.Grants) != 1 || oacl.Grants[0].Permission != types.PermissionFullControl {
		t.Fatalf("object ACL: %+v %v", oacl, err)
	}
	_, err = cl.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String("acl"), Key: aws.String("absent")})
	wantAPIError(t, err, "NoSuchKey", http.StatusNotFound)
	if _, err := cl.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("acl"), ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatalf("private bucket ACL: %v", err)
	}
	if _, err := cl.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String("acl"), Key: aws.String("k"), AccessControlPolicy: &types.AccessControlPolicy{
		Owner:  acl.Owner,
		Grants: []types.Grant{{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: acl.Owner.ID}, Permission: types.PermissionFullControl}},
	}}); err != nil {
		t.Fatalf("owner-only object ACL in XML: %v", err)
	}
	_, err = cl.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("acl"), ACL: types.BucketCannedACLPublicRead})
	wantAPIError(t, err, "AccessControlListNotSupported", http.StatusBadRequest)
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("acl"), Key: aws.String("public"), Body: bytes.NewReader([]byte("x")), ACL: types.ObjectCannedACLPublicRead})
	wantAPIError(t, err, "AccessControlListNotSupported", http.StatusBadRequest)
	if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("acl"), Key: aws.String("public")}); err == nil {
		t.Fatal("a PUT refused for its ACL stored the object")
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("acl"), Key: aws.String("owned"), Body: bytes.NewReader([]byte("x")), ACL: types.ObjectCannedACLBucketOwnerFullControl}); err != nil {
		t.Fatalf("PUT with bucket-owner-full-control: %v", err)
	}
	_, err = cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("acl-public"), ACL: types.BucketCannedACLPublicRead})
	wantAPIError(t, err, "InvalidBucketAclWithObjectOwnership", http.StatusBadRequest)
	own, err := cl.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("acl")})
	if err != nil || own.OwnershipControls == nil || len(own.OwnershipControls.Rules) != 1 ||
		own.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipBucketOwnerEnforced {
		t.Fatalf("ownership controls: %+v %v", own, err)
	}
}

// testObjectAttributes: GetObjectAttributes of a 3-part multipart object
// uploaded with CRC32C lists each part with its checksum, a page at a
// time, and the object's size, ETag and composite checksum.
func testObjectAttributes(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, 2*time.Minute)
	mustCreateBucket(t, cl, "attrs")
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("attrs"), Key: aws.String("mp"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{5 << 20, 5 << 20, 1000}
	var done []types.CompletedPart
	var total int64
	for i, n := range sizes {
		part, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("attrs"), Key: aws.String("mp"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(pattern(int64(70+i), n)), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: part.ETag, ChecksumCRC32C: part.ChecksumCRC32C})
		total += int64(n)
	}
	fin, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("attrs"), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(err)
	}
	all := []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesChecksum, types.ObjectAttributesObjectParts,
		types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize}
	first, err := cl.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("mp"),
		ObjectAttributes: all, MaxParts: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if `"`+aws.ToString(first.ETag)+`"` != aws.ToString(fin.ETag) || aws.ToInt64(first.ObjectSize) != total || first.StorageClass != types.StorageClassStandard {
		t.Fatalf("attributes: etag %q (completed %q), size %d, class %q", aws.ToString(first.ETag), aws.ToString(fin.ETag), aws.ToInt64(first.ObjectSize), first.StorageClass)
	}
	if first.Checksum == nil || aws.ToString(first.Checksum.ChecksumCRC32C) != aws.ToString(fin.ChecksumCRC32C) {
		t.Fatalf("object checksum %+v, completed with %q", first.Checksum, aws.ToString(fin.ChecksumCRC32C))
	}
	op := first.ObjectParts
	if op == nil || aws.ToInt32(op.TotalPartsCount) != 3 || !aws.ToBool(op.IsTruncated) || len(op.Parts) != 2 || aws.ToString(op.NextPartNumberMarker) != "2" {
		t.Fatalf("first page of parts: %+v", op)
	}
	second, err := cl.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("mp"),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectParts}, PartNumberMarker: op.NextPartNumberMarker})
	if err != nil {
		t.Fatal(err)
	}
	parts := append(op.Parts, second.ObjectParts.Parts...)
	if len(parts) != 3 || aws.ToBool(second.ObjectParts.IsTruncated) {
		t.Fatalf("parts: %+v", second.ObjectParts)
	}
	for i, p := range parts {
		if aws.ToInt32(p.PartNumber) != int32(i+1) || aws.ToInt64(p.Size) != int64(sizes[i]) || aws.ToString(p.ChecksumCRC32C) != aws.ToString(done[i].ChecksumCRC32C) {
			t.Fatalf("part %d: number %d, size %d, crc32c %q (uploaded with %q)", i+1, aws.ToInt32(p.PartNumber), aws.ToInt64(p.Size),
				aws.ToString(p.ChecksumCRC32C), aws.ToString(done[i].ChecksumCRC32C))
		}
	}
	_, err = cl.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("absent"), ObjectAttributes: all})
	wantAPIError(t, err, "NoSuchKey", http.StatusNotFound)
}

// testCors: a bucket's CORS rules answer an unauthenticated preflight,
// and a signed request from an allowed origin gets the CORS headers, on
// its errors too.
func testCors(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	mustCreateBucket(t, cl, "web")
	if _, err := cl.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{"https://app.example"}, AllowedMethods: []string{"GET", "PUT"},
			AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(60)}},
	}}); err != nil {
		t.Fatal(err)
	}
	preflight := func(bucket, origin string) *http.Response {
		req, err := http.NewRequest(http.MethodOptions, c.Endpoint+"/"+bucket+"/k", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "PUT")
		req.Header.Set("Access-Control-Request-Headers", "authorization, x-amz-date, x-amz-content-sha256")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := preflight("web", "https://app.example")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "authorization, x-amz-date, x-amz-content-sha256" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	for _, p := range [][2]string{{"web", "https://evil.example"}, {"no-such-bucket", "https://app.example"}} {
		if resp := preflight(p[0], p[1]); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight %v: %d %v", p, resp.StatusCode, resp.Header)
		}
	}
	body := []byte("from the browser")
	req, err := http.NewRequest(http.MethodPut, c.Endpoint+"/web/k", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://app.example")
	signV4(t, c, req, body)
	put, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	put.Body.Close()
	if put.StatusCode != http.StatusOK || put.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || put.Header.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Fatalf("PUT from the allowed origin: %d %v", put.StatusCode, put.Header)
	}
	req, err = http.NewRequest(http.MethodGet, c.Endpoint+"/web/k", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://app.example") // unsigned: refused, still with the CORS headers
	denied, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	denied.Body.Close()
	if denied.StatusCode != http.StatusForbidden || denied.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("unsigned GET from the allowed origin: %d %v", denied.StatusCode, denied.Header)
	}
}

// testConditionalForms: every conditional form AWS documents, against a
// real cluster: each answers 412 (or NoSuchKey) or succeeds as AWS does,
// a refused delete deletes nothing, and of 20 writers racing with the
// same If-Match exactly one wins.
func testConditionalForms(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, 2*time.Minute)
	mustCreateBucket(t, cl, "cond")
	b := aws.String("cond")
	const other = `"0123456789abcdef0123456789abcdef"`
	put := func(key string, body []byte, ifMatch, ifNoneMatch *string) (*s3.PutObjectOutput, error) {
		return cl.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(key), Body: bytes.NewReader(body), IfMatch: ifMatch, IfNoneMatch: ifNoneMatch})
	}
	_, err := put("k", []byte("v0"), aws.String("*"), nil)
	wantAPIError(t, err, "NoSuchKey", http.StatusNotFound)
	first, err := put("k", pattern(1, 100<<10), nil, aws.String(other)) // nothing to match: written
	if err != nil {
		t.Fatal(err)
	}
	_, err = put("k", []byte("v2"), nil, first.ETag)
	wantAPIError(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	if _, err := put("k", []byte("v2"), aws.String("*"), aws.String(other)); err != nil {
		t.Fatalf("If-Match * with If-None-Match of another ETag: %v", err)
	}

	// CopyObject: the conditions are the destination's.
	_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: aws.String("k"), CopySource: aws.String("cond/k"),
		MetadataDirective: types.MetadataDirectiveReplace, IfNoneMatch: aws.String("*")})
	wantAPIError(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: aws.String("copy"), CopySource: aws.String("cond/k"),
		IfNoneMatch: aws.String("*")}); err != nil {
		t.Fatalf("copy onto a new key with If-None-Match *: %v", err)
	}

	// CompleteMultipartUpload with If-Match *: the key must exist.
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("absent")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("absent"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("p")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("absent"), UploadId: up.UploadId, IfMatch: aws.String("*"),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
	wantAPIError(t, err, "NoSuchKey", http.StatusNotFound)

	// DeleteObject and DeleteObjects: a wrong ETag deletes nothing.
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("k"), IfMatch: aws.String(other)})
	wantAPIError(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	mustGetEqual(t, cl, "cond", "k", []byte("v2"))
	out, err := cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("k"), ETag: aws.String(other)}, {Key: aws.String("copy"), ETag: aws.String("*")},
	}}})
	if err != nil || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "k" || aws.ToString(out.Errors[0].Code) != "PreconditionFailed" ||
		len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "copy" {
		t.Fatalf("DeleteObjects with ETags: %+v %v", out, err)
	}
	mustGetEqual(t, cl, "cond", "k", []byte("v2"))

	// 20 writers race with the same If-Match: one wins.
	const writers = 20
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			_, errs[i] = put("k", pattern(int64(200+i), 64<<10), head.ETag, nil)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantAPIError(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	}
	if won != 1 {
		t.Fatalf("%d of %d If-Match writers won", won, writers)
	}
	if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("k"), IfMatch: head.ETag}); err == nil {
		t.Fatal("a delete conditioned on a replaced ETag went through")
	}
}

// boto3PostForm builds forms with boto3's generate_presigned_post and
// posts them as a browser would (multipart/form-data, the file last):
// one that uploads, one expired, one past its content-length-range.
const boto3PostForm = `
import json, os
import boto3, urllib3
from botocore.config import Config
s3 = boto3.client("s3", region_name=os.environ["REGION"], endpoint_url=os.environ["EP"], aws_access_key_id=os.environ["AK"],
                  aws_secret_access_key=os.environ["SK"], config=Config(s3={"addressing_style": "path"}))
http = urllib3.PoolManager()
def form(expires, limit, body):
    p = s3.generate_presigned_post("form", "uploads/${filename}", Fields={"Content-Type": "text/plain"},
        Conditions=[["starts-with", "$key", "uploads/"], {"Content-Type": "text/plain"}, ["content-length-range", 1, limit]], ExpiresIn=expires)
    fields = dict(p["fields"])
    fields["file"] = ("hello.txt", body, "text/plain")
    r = http.request("POST", p["url"], fields=fields)
    return {"status": r.status, "body": r.data.decode()}
print(json.dumps({"ok": form(300, 1 << 20, b"hello from a form"), "expired": form(-60, 1 << 20, b"late"), "large": form(300, 4, b"too long")}))
`

// testPostForm: a browser-form upload built by boto3 stores the file; an
// expired form and one past its size limit get AWS's errors and store
// nothing.
func testPostForm(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	py := requireBoto3(t)
	mustCreateBucket(t, cl, "form")
	out := runBoto3(t, py, c, boto3PostForm)
	var res map[string]struct {
		Status int
		Body   string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	if res["ok"].Status != http.StatusNoContent {
		t.Fatalf("form upload: %+v", res["ok"])
	}
	mustGetEqual(t, cl, "form", "uploads/hello.txt", []byte("hello from a form"))
	if r := res["expired"]; r.Status != http.StatusForbidden || !strings.Contains(r.Body, "Policy expired") {
		t.Fatalf("expired form: %+v", r)
	}
	if r := res["large"]; r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "EntityTooLarge") {
		t.Fatalf("form past its content-length-range: %+v", r)
	}
	head, err := cl.HeadObject(ctxT(t, time.Minute), &s3.HeadObjectInput{Bucket: aws.String("form"), Key: aws.String("uploads/hello.txt")})
	if err != nil || aws.ToString(head.ContentType) != "text/plain" || aws.ToInt64(head.ContentLength) != int64(len("hello from a form")) {
		t.Fatalf("stored form upload: %+v %v", head, err)
	}
}
