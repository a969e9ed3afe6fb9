package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// surfaceDomain is the virtual-host domain the surface cluster serves.
const surfaceDomain = "s3.cairn.test"

// TestSurface checks the gateway-only S3 surface against one multi-process
// cluster serving eu-west-1 (us-east-1 scopes are accepted too) with
// virtual-hosted-style requests enabled: DeleteObjects, CopyObject,
// presigned URLs (SigV4 and SigV2), virtual hosting, and boto3.
func TestSurface(t *testing.T) {
	c := startCluster(t, harness.Options{Region: "eu-west-1", ExtraGW: []string{"--domain", surfaceDomain}})
	cl := client(c)
	t.Run("DeleteObjects", func(t *testing.T) { testDeleteObjects(t, c, cl) })
	t.Run("CopyObject", func(t *testing.T) { testCopyObject(t, cl) })
	t.Run("PresignV4", func(t *testing.T) { testPresignV4(t, cl) })
	t.Run("SigV2Presign", func(t *testing.T) { testSigV2Presign(t, c, cl) })
	t.Run("VHost", func(t *testing.T) { testVirtualHost(t, c) })
	t.Run("Boto3", func(t *testing.T) { testBoto3(t, c, cl) })
	t.Run("ListBucketsPages", func(t *testing.T) { testListBucketsPages(t, cl) })
	t.Run("MetadataBeyondASCII", func(t *testing.T) { testMetadataBeyondASCII(t, c, cl) })
	t.Run("RepeatedHeadersJoined", func(t *testing.T) { testRepeatedHeadersJoined(t, c, cl) })
	t.Run("EmptyContinuationTokenEchoed", func(t *testing.T) { testEmptyContinuationTokenEchoed(t, cl) })
	t.Run("SuspendedWritesHaveNoVersionID", func(t *testing.T) { testSuspendedWritesHaveNoVersionID(t, cl) })
	t.Run("ACLsBucketOwnerEnforced", func(t *testing.T) { testACLsBucketOwnerEnforced(t, cl) })
	t.Run("ObjectAttributes", func(t *testing.T) { testObjectAttributes(t, cl) })
	t.Run("Cors", func(t *testing.T) { testCors(t, c, cl) })
	t.Run("ConditionalForms", func(t *testing.T) { testConditionalForms(t, cl) })
	t.Run("PostForm", func(t *testing.T) { testPostForm(t, c, cl) })
	t.Run("BucketPolicy", func(t *testing.T) { testBucketPolicy(t, c, cl) })
}

// signV4 signs req for the cluster with the SDK's signer, as S3 signs
// (the path as sent, no second escaping).
func signV4(t *testing.T, c *harness.Cluster, req *http.Request, body []byte) {
	t.Helper()
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey}
	if err := signer.SignHTTP(context.Background(), creds, req, hash, "s3", c.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func testDeleteObjects(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	ctx := ctxT(t, 2*time.Minute)
	mustCreateBucket(t, cl, "surf-delete")
	var ids []types.ObjectIdentifier
	for i := range 6 {
		key := fmt.Sprintf("obj/%d", i)
		mustPut(t, cl, "surf-delete", key, pattern(int64(100+i), i*40<<10)) // inline and erasure coded
		if i < 5 {
			ids = append(ids, types.ObjectIdentifier{Key: aws.String(key)})
		}
	}
	ids = append(ids, types.ObjectIdentifier{Key: aws.String("never/existed")})
	// The SDK's default checksum behaviour sends a CRC32 of the body.
	out, err := cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("surf-delete"), Delete: &types.Delete{Objects: ids}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 6 || len(out.Errors) != 0 {
		t.Fatalf("deleted %d, errors %+v", len(out.Deleted), out.Errors)
	}
	list, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("surf-delete")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "obj/5" {
		t.Fatalf("left: %+v", list.Contents)
	}
	out, err = cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("surf-delete"),
		Delete: &types.Delete{Quiet: aws.Bool(true), Objects: []types.ObjectIdentifier{{Key: aws.String("obj/5")}}}})
	if err != nil || len(out.Deleted) != 0 || len(out.Errors) != 0 {
		t.Fatalf("quiet: %v %+v", err, out)
	}
	_, err = get(ctx, cl, "surf-delete", "obj/5", "")
	wantAPIError(t, err, "NoSuchKey", http.StatusNotFound)

	// Without Content-MD5 or a checksum, S3 refuses the request.
	body := []byte("<Delete><Object><Key>x</Key></Object></Delete>")
	req, _ := http.NewRequest(http.MethodPost, c.Endpoint+"/surf-delete?delete", bytes.NewReader(body))
	signV4(t, c, req, body)
	status, resp := httpStatus(t, req)
	if status != http.StatusBadRequest || !strings.Contains(string(resp), "Missing required header for this request: Content-MD5") {
		t.Fatalf("no digest: %d %s", status, resp)
	}
}

func testCopyObject(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, 2*time.Minute)
	mustCreateBucket(t, cl, "surf-copy-src")
	mustCreateBucket(t, cl, "surf-copy-dst")
	data := pattern(11, 6<<20+3)
	put, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("surf-copy-src"), Key: aws.String("big object"), Body: bytes.NewReader(data),
		ContentType: aws.String("application/x-surface"), Metadata: map[string]string{"origin": "source"}, CacheControl: aws.String("max-age=9")})
	if err != nil {
		t.Fatal(err)
	}

	out, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("surf-copy-dst"), Key: aws.String("copied"),
		CopySource: aws.String(url.PathEscape("surf-copy-src") + "/" + url.PathEscape("big object"))})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.CopyObjectResult.ETag) != aws.ToString(put.ETag) {
		t.Fatalf("etag %s, want %s", aws.ToString(out.CopyObjectResult.ETag), aws.ToString(put.ETag))
	}
	mustGetEqual(t, cl, "surf-copy-dst", "copied", data)
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("surf-copy-dst"), Key: aws.String("copied")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != "application/x-surface" || head.Metadata["origin"] != "source" || aws.ToString(head.CacheControl) != "max-age=9" {
		t.Fatalf("COPY lost metadata: %v %v %v", aws.ToString(head.ContentType), head.Metadata, aws.ToString(head.CacheControl))
	}

	_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("surf-copy-dst"), Key: aws.String("replaced"),
		CopySource: aws.String("/surf-copy-dst/copied"), MetadataDirective: types.MetadataDirectiveReplace,
		ContentType: aws.String("text/x-new"), Metadata: map[string]string{"origin": "replaced"}})
	if err != nil {
		t.Fatal(err)
	}
	mustGetEqual(t, cl, "surf-copy-dst", "replaced", data)
	head, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("surf-copy-dst"), Key: aws.String("replaced")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != "text/x-new" || head.Metadata["origin"] != "replaced" || head.CacheControl != nil {
		t.Fatalf("REPLACE: %v %v %v", aws.ToString(head.ContentType), head.Metadata, aws.ToString(head.CacheControl))
	}

	_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("surf-copy-dst"), Key: aws.String("copied"), CopySource: aws.String("surf-copy-dst/copied")})
	wantAPIError(t, err, "InvalidRequest", http.StatusBadRequest)
	_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("surf-copy-dst"), Key: aws.String("x"), CopySource: aws.String("surf-copy-src/big object"),
		CopySourceIfMatch: aws.String(`"0123456789abcdef0123456789abcdef"`)})
	wantAPIError(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("surf-copy-dst"), Key: aws.String("x"), CopySource: aws.String("surf-copy-src/missing")})
	wantAPIError(t, err, "NoSuchKey", http.StatusNotFound)
}

func testPresignV4(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, 2*time.Minute)
	mustCreateBucket(t, cl, "surf-presign")
	pc := s3.NewPresignClient(cl)
	data := pattern(21, 300<<10)

	put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("surf-presign"), Key: aws.String("p/obj")}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(put.Method, put.URL, bytes.NewReader(data))
	for k, vs := range put.SignedHeader {
		if !strings.EqualFold(k, "Host") {
			req.Header[k] = vs
		}
	}
	if status, body := httpStatus(t, req); status != http.StatusOK {
		t.Fatalf("presigned PUT: %d %s", status, body)
	}
	mustGetEqual(t, cl, "surf-presign", "p/obj", data)

	g, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("surf-presign"), Key: aws.String("p/obj")}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodGet, g.URL, nil)
	if status, body := httpStatus(t, req); status != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("presigned GET: %d, %d bytes", status, len(body))
	}

	// One signature character changed.
	u, _ := url.Parse(g.URL)
	q := u.Query()
	sig := []byte(q.Get("X-Amz-Signature"))
	sig[7] = map[bool]byte{true: '1', false: '0'}[sig[7] == '0']
	q.Set("X-Amz-Signature", string(sig))
	u.RawQuery = q.Encode()
	req, _ = http.NewRequest(http.MethodGet, u.String(), nil)
	if status, body := httpStatus(t, req); status != http.StatusForbidden || !strings.Contains(string(body), "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("tampered: %d %s", status, body)
	}

	short, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("surf-presign"), Key: aws.String("p/obj")}, s3.WithPresignExpires(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	req, _ = http.NewRequest(http.MethodGet, short.URL, nil)
	if status, body := httpStatus(t, req); status != http.StatusForbidden || !strings.Contains(string(body), "<Message>Request has expired</Message>") {
		t.Fatalf("expired: %d %s", status, body)
	}
}

// sigV2URL presigns a GET per the Signature Version 2 spec:
// base64(HMAC-SHA1(secret, "GET\n\n\n<expires>\n<resource>")).
func sigV2URL(endpoint, access, secret, path, subresources string, expires int64) string {
	mac := hmac.New(sha1.New, []byte(secret))
	resource := path
	if subresources != "" {
		resource += "?" + subresources
	}
	fmt.Fprintf(mac, "GET\n\n\n%d\n%s", expires, resource)
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	q := url.Values{"AWSAccessKeyId": {access}, "Expires": {fmt.Sprint(expires)}, "Signature": {sig}}
	sep := "?"
	if subresources != "" {
		sep = "?" + subresources + "&"
	}
	return endpoint + path + sep + q.Encode()
}

func testSigV2Presign(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	mustCreateBucket(t, cl, "surf-sigv2")
	data := pattern(31, 100<<10)
	mustPut(t, cl, "surf-sigv2", "dir/obj v2", data)
	path := "/surf-sigv2/dir/obj%20v2"
	later := time.Now().Add(5 * time.Minute).Unix()

	req, _ := http.NewRequest(http.MethodGet, sigV2URL(c.Endpoint, c.AccessKey, c.SecretKey, path, "", later), nil)
	if status, body := httpStatus(t, req); status != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("SigV2 presigned GET: %d %.200s", status, body)
	}
	// The response-* overrides are signed sub-resources.
	req, _ = http.NewRequest(http.MethodGet, sigV2URL(c.Endpoint, c.AccessKey, c.SecretKey, path, "response-content-type=text/x-v2", later), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/x-v2" {
		t.Fatalf("override: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	good := sigV2URL(c.Endpoint, c.AccessKey, c.SecretKey, path, "", later)
	i := strings.Index(good, "Signature=") + len("Signature=")
	tampered := good[:i] + map[bool]string{true: "B", false: "A"}[good[i] == 'A'] + good[i+1:]
	req, _ = http.NewRequest(http.MethodGet, tampered, nil)
	if status, body := httpStatus(t, req); status != http.StatusForbidden || !strings.Contains(string(body), "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("tampered: %d %s", status, body)
	}
	req, _ = http.NewRequest(http.MethodGet, sigV2URL(c.Endpoint, c.AccessKey, c.SecretKey, path, "", time.Now().Add(-time.Minute).Unix()), nil)
	if status, body := httpStatus(t, req); status != http.StatusForbidden || !strings.Contains(string(body), "<Message>Request has expired</Message>") {
		t.Fatalf("expired: %d %s", status, body)
	}
	req, _ = http.NewRequest(http.MethodGet, sigV2URL(c.Endpoint, c.AccessKey, "not-the-secret", path, "", later), nil)
	if status, _ := httpStatus(t, req); status != http.StatusForbidden {
		t.Fatalf("wrong secret: %d", status)
	}
}

func testVirtualHost(t *testing.T, c *harness.Cluster) {
	gw := strings.TrimPrefix(c.Endpoint, "http://")
	_, port, _ := net.SplitHostPort(gw)
	host := "surf-vhost." + surfaceDomain + ":" + port
	do := func(method, path string, body []byte) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, c.Endpoint+path, bytes.NewReader(body))
		req.Host = host
		signV4(t, c, req, body)
		return httpStatus(t, req)
	}
	if status, body := do(http.MethodPut, "/", nil); status != http.StatusOK {
		t.Fatalf("create bucket: %d %s", status, body)
	}
	data := pattern(41, 2<<20+5)
	if status, body := do(http.MethodPut, "/a/b%20c", data); status != http.StatusOK {
		t.Fatalf("put: %d %s", status, body)
	}
	if status, body := do(http.MethodGet, "/a/b%20c", nil); status != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("get: %d, %d bytes", status, len(body))
	}
	if status, body := do(http.MethodGet, "/?list-type=2&prefix=a/", nil); status != http.StatusOK || !strings.Contains(string(body), "<Key>a/b c</Key>") {
		t.Fatalf("list: %d %s", status, body)
	}
	// The same object, path-style.
	mustGetEqual(t, client(c), "surf-vhost", "a/b c", data)

	// An SDK client in virtual-hosted mode; every connection goes to the
	// gateway whatever the host name.
	var d net.Dialer
	vcl := s3.New(s3.Options{
		Region: c.Region, BaseEndpoint: aws.String("http://" + surfaceDomain + ":" + port),
		Credentials: client(c).Options().Credentials, Retryer: aws.NopRetryer{},
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, gw)
		}}},
	})
	ctx := ctxT(t, time.Minute)
	if err := put(ctx, vcl, "surf-vhost", "sdk/key", []byte("virtual")); err != nil {
		t.Fatal(err)
	}
	got, err := get(ctx, vcl, "surf-vhost", "sdk/key", "")
	if err != nil || string(got) != "virtual" {
		t.Fatalf("sdk get: %q %v", got, err)
	}
	out, err := vcl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("surf-vhost"),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("sdk/key")}, {Key: aws.String("a/b c")}}}})
	if err != nil || len(out.Deleted) != 2 {
		t.Fatalf("sdk delete: %v %+v", err, out)
	}
}

// boto3Script presigns with boto3 (SigV2 in us-east-1 as boto3 does by
// default, SigV4 in eu-west-1) and runs header-signed SigV2 operations.
const boto3Script = `
import json, os
import boto3
from botocore.config import Config

ep, ak, sk, bucket = os.environ["EP"], os.environ["AK"], os.environ["SK"], os.environ["BUCKET"]
def client(region, **cfg):
    return boto3.client("s3", region_name=region, endpoint_url=ep, aws_access_key_id=ak,
                        aws_secret_access_key=sk, config=Config(s3={"addressing_style": "path"}, **cfg))
out = {}
v2 = client("us-east-1")
out["v2_get"] = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "boto/src obj"}, ExpiresIn=300)
out["v2_put"] = v2.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "boto/put",
    "ContentType": "text/x-boto", "Metadata": {"origin": "boto3"}}, ExpiresIn=300)
v4 = client("eu-west-1", signature_version="s3v4")
out["v4_get"] = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "boto/src obj"}, ExpiresIn=300)

h = client("us-east-1", signature_version="s3")
h.put_object(Bucket=bucket, Key="boto/header v2", Body=b"header-signed v2", Metadata={"m": "1"})
assert h.get_object(Bucket=bucket, Key="boto/header v2")["Body"].read() == b"header-signed v2"
h.copy_object(Bucket=bucket, Key="boto/copied", CopySource={"Bucket": bucket, "Key": "boto/header v2"})
r = h.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "boto/header v2"}, {"Key": "boto/copied"}]})
out["v2_deleted"] = sorted(d["Key"] for d in r.get("Deleted", []))
print(json.dumps(out))
`

func testBoto3(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	py := requireBoto3(t)
	mustCreateBucket(t, cl, "surf-boto")
	data := pattern(51, 70<<10)
	mustPut(t, cl, "surf-boto", "boto/src obj", data)

	stdout := runBoto3(t, py, c, boto3Script, "BUCKET=surf-boto")
	var urls struct {
		V2Get     string   `json:"v2_get"`
		V2Put     string   `json:"v2_put"`
		V4Get     string   `json:"v4_get"`
		V2Deleted []string `json:"v2_deleted"`
	}
	if err := json.Unmarshal(stdout, &urls); err != nil {
		t.Fatalf("boto3 output %q: %v", stdout, err)
	}
	if !strings.Contains(urls.V2Get, "AWSAccessKeyId=") || !strings.Contains(urls.V4Get, "X-Amz-Algorithm=") {
		t.Fatalf("unexpected presign versions: %s / %s", urls.V2Get, urls.V4Get)
	}
	if strings.Join(urls.V2Deleted, ",") != "boto/copied,boto/header v2" {
		t.Fatalf("header-signed SigV2 delete_objects: %q", urls.V2Deleted)
	}
	for name, u := range map[string]string{"SigV2": urls.V2Get, "SigV4": urls.V4Get} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if status, body := httpStatus(t, req); status != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("boto3 %s presigned GET: %d %.200s", name, status, body)
		}
	}
	// boto3 carries Content-Type and metadata in the SigV2 query string;
	// they are signed and apply to the object.
	body := []byte("put through a boto3 SigV2 URL")
	req, _ := http.NewRequest(http.MethodPut, urls.V2Put, bytes.NewReader(body))
	if status, resp := httpStatus(t, req); status != http.StatusOK {
		t.Fatalf("boto3 SigV2 presigned PUT: %d %s", status, resp)
	}
	head, err := cl.HeadObject(ctxT(t, 30*time.Second), &s3.HeadObjectInput{Bucket: aws.String("surf-boto"), Key: aws.String("boto/put")})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(body)
	if aws.ToString(head.ContentType) != "text/x-boto" || head.Metadata["origin"] != "boto3" || aws.ToString(head.ETag) != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Fatalf("presigned PUT stored %v %v %v", aws.ToString(head.ContentType), head.Metadata, aws.ToString(head.ETag))
	}
}
