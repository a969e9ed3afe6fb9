package s3api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// anonDo sends an unsigned request and returns its status and body.
func anonDo(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBucketPolicyOperations: the operations, their S3 errors, and the
// rules that need no tenancy: the operator is refused what a Deny
// names, except the policy operations themselves; DeleteObjects applies a
// Deny key by key; BlockPublicPolicy refuses a public document.
func TestBucketPolicyOperations(t *testing.T) {
	cl, _, _, base := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("polb")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"open/a", "locked/b", "locked/c"} {
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("polb"), Key: aws.String(k), Body: bytes.NewReader([]byte(k))}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(doc string) error {
		_, err := cl.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("polb"), Policy: aws.String(doc)})
		return err
	}
	if _, err := cl.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("polb")}); code(err) != "NoSuchBucketPolicy" {
		t.Fatalf("GetBucketPolicy without one: %v", err)
	}
	if _, err := cl.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String("polb")}); code(err) != "NoSuchBucketPolicy" {
		t.Fatalf("GetBucketPolicyStatus without one: %v", err)
	}
	if _, err := cl.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("polb")}); code(err) != "NoSuchPublicAccessBlockConfiguration" {
		t.Fatalf("GetPublicAccessBlock without one: %v", err)
	}
	if err := put(`{"Statement":"nope"}`); code(err) != "MalformedPolicy" {
		t.Fatalf("malformed: %v", err)
	}
	if err := put(`{"Id":"` + strings.Repeat("x", 20<<10) + `"}`); code(err) != "InvalidArgument" {
		t.Fatalf("a policy over 20 KiB: %v", err)
	}
	// Without Content-MD5 or a checksum (as minio-go sends it), and with
	// a wrong Content-MD5.
	plain := `{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::polb/never/*"}}`
	if status, _, body := surfDo(t, base, http.MethodPut, "/polb?policy", []byte(plain), nil); status != http.StatusNoContent {
		t.Fatalf("PutBucketPolicy without a digest: %d %s", status, body)
	}
	if status, _, body := surfDo(t, base, http.MethodPut, "/polb?policy", []byte(plain), map[string]string{"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="}); status != http.StatusBadRequest {
		t.Fatalf("PutBucketPolicy with a wrong Content-MD5: %d %s", status, body)
	}
	if _, err := cl.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("missing"), Policy: aws.String(`{}`)}); code(err) != "NoSuchBucket" && code(err) != "MalformedPolicy" {
		t.Fatalf("policy of a missing bucket: %v", err)
	}

	// A Deny of everything to everyone: the operator keeps its policy
	// operations, and nothing else.
	denyAll := `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::polb","arn:aws:s3:::polb/*"]}]}`
	if err := put(denyAll); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("polb"), Key: aws.String("open/a")}); code(err) != "AccessDenied" {
		t.Fatalf("operator under Deny s3:*: %v", err)
	}
	if _, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("polb")}); code(err) != "AccessDenied" {
		t.Fatalf("operator list under Deny s3:*: %v", err)
	}
	got, err := cl.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("polb")})
	if err != nil || aws.ToString(got.Policy) != denyAll {
		t.Fatalf("GetBucketPolicy under Deny s3:*: %v", err)
	}
	st, err := cl.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String("polb")})
	if code(err) != "AccessDenied" {
		t.Fatalf("GetBucketPolicyStatus under Deny s3:*: %+v %v", st, err)
	}

	// DeleteObjects: the denied keys fail one by one, the others go.
	if err := put(`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::polb/locked/*"}]}`); err != nil {
		t.Fatal(err)
	}
	out, err := cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("polb"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("open/a")}, {Key: aws.String("locked/b")}}}})
	if err != nil || len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "open/a" ||
		len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "locked/b" || aws.ToString(out.Errors[0].Code) != "AccessDenied" {
		t.Fatalf("DeleteObjects under a prefix Deny: %+v %v", out, err)
	}
	if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("polb"), Key: aws.String("locked/c")}); code(err) != "AccessDenied" {
		t.Fatalf("DeleteObject under a prefix Deny: %v", err)
	}
	if st, err := cl.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String("polb")}); err != nil || aws.ToBool(st.PolicyStatus.IsPublic) {
		t.Fatalf("a Deny-only policy: %+v %v", st, err)
	}

	// BlockPublicPolicy refuses a public policy and keeps the old one.
	if _, err := cl.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("polb"), PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
		BlockPublicPolicy: aws.Bool(true), BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	pab, err := cl.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("polb")})
	if c := pab.PublicAccessBlockConfiguration; err != nil || !aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.IgnorePublicAcls) || aws.ToBool(c.RestrictPublicBuckets) {
		t.Fatalf("GetPublicAccessBlock: %+v %v", pab, err)
	}
	public := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::polb/*"}]}`
	if err := put(public); code(err) != "AccessDenied" {
		t.Fatalf("public policy under BlockPublicPolicy: %v", err)
	}
	if status, _ := anonDo(t, http.MethodGet, base+"/polb/locked/c"); status != http.StatusForbidden {
		t.Fatalf("anonymous GET after a refused public policy: %d", status)
	}
	if _, err := cl.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String("polb")}); err != nil {
		t.Fatal(err)
	}
	if err := put(public); err != nil {
		t.Fatal(err)
	}
	if status, body := anonDo(t, http.MethodGet, base+"/polb/locked/c"); status != http.StatusOK || body != "locked/c" {
		t.Fatalf("anonymous GET under a public policy: %d %q", status, body)
	}
	if status, _ := anonDo(t, http.MethodDelete, base+"/polb/locked/c"); status != http.StatusForbidden {
		t.Fatalf("anonymous DELETE under a public-read policy: %d", status)
	}
	// Without s3:ListBucket the public cannot tell a missing key from a
	// forbidden one: 403, as S3 answers.
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		if status, body := anonDo(t, m, base+"/polb/locked/none"); status != http.StatusForbidden {
			t.Fatalf("anonymous %s of a missing key without s3:ListBucket: %d %s", m, status, body)
		}
	}
	// Even s3:* to everyone does not reach operations on no existing
	// bucket: CreateBucket (of this name) and ListBuckets stay refused.
	if err := put(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::polb","arn:aws:s3:::polb/*"]}}`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path string }{{http.MethodPut, "/polb"}, {http.MethodGet, "/"}, {http.MethodPost, "/polb?delete"}} {
		if status, body := anonDo(t, c.method, base+c.path); status != http.StatusForbidden {
			t.Fatalf("anonymous %s %s under s3:* to *: %d %s", c.method, c.path, status, body)
		}
	}
	if status, _ := anonDo(t, http.MethodGet, base+"/polb?list-type=2"); status != http.StatusOK {
		t.Fatalf("anonymous list under s3:* to *: %d", status)
	}
	// With s3:ListBucket, a missing key is told apart: 404.
	if status, body := anonDo(t, http.MethodGet, base+"/polb/locked/none"); status != http.StatusNotFound || !strings.Contains(body, "NoSuchKey") {
		t.Fatalf("anonymous GET of a missing key with s3:ListBucket: %d %s", status, body)
	}
	if _, err := cl.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("polb")}); err != nil {
		t.Fatal(err)
	}
	if status, _ := anonDo(t, http.MethodGet, base+"/polb/locked/c"); status != http.StatusForbidden {
		t.Fatalf("anonymous GET after DeleteBucketPolicy: %d", status)
	}
}

// TestBucketPolicyWithOCI: how a bucket policy joins users' OCI policies:
// an Allow naming a user or its group grants what OCI does not; a Deny
// beats what OCI grants; anonymous requests are judged by conditions on
// the request (s3:prefix) and on the object (s3:ExistingObjectTag).
func TestBucketPolicyWithOCI(t *testing.T) {
	idx := newTenantIndex()
	stmts := []string{"Allow group readers to read object-family in tenancy"}
	user := func(name string, groups ...string) {
		idx.set(strings.ToUpper(name), &cairnpb.LookupAccessKeyResponse{Namespace: "default", User: name, Secret: name + "-secret", Active: true,
			Groups: groups, Statements: stmts})
	}
	user("reader", "readers")
	user("nobody")
	user("member", "team")
	srv, err := New(Config{Index: idx, Shards: newFakeShards(), Credentials: map[string]string{"AK": "SK"},
		BlockSize: 64 << 10, InlineThreshold: 1024, MasterKey: testMasterKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	client := func(access, secret string) *s3.Client {
		return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
			Credentials: surfCreds(access, secret), Retryer: aws.NopRetryer{}})
	}
	op, reader, nobody, member := client("AK", "SK"), client("READER", "reader-secret"), client("NOBODY", "nobody-secret"), client("MEMBER", "member-secret")
	ctx := context.Background()
	if _, err := op.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mix")}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct{ key, tagging string }{{"docs/a", "class=public"}, {"docs/b", "class=internal"}, {"home/x", ""}} {
		if _, err := op.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mix"), Key: aws.String(o.key), Body: bytes.NewReader([]byte(o.key)), Tagging: aws.String(o.tagging)}); err != nil {
			t.Fatal(err)
		}
	}
	getErr := func(cl *s3.Client, key string) string {
		_, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mix"), Key: aws.String(key)})
		return code(err)
	}
	if getErr(reader, "docs/a") != "" || getErr(nobody, "docs/a") != "AccessDenied" || getErr(member, "docs/a") != "AccessDenied" {
		t.Fatal("OCI alone: reader reads, nobody and member do not")
	}
	doc := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::default:user/nobody"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::mix/docs/*"},
	  {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::default:group/team"]},"Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::mix/home/*"},
	  {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::default:user/reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::mix/docs/b"},
	  {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::mix/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/class":"public"}}},
	  {"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::mix","Condition":{"StringLike":{"s3:prefix":"docs/*"}}}]}`
	if _, err := op.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("mix"), Policy: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		who  string
		cl   *s3.Client
		key  string
		want string
	}{
		{"nobody allowed by user ARN", nobody, "docs/a", ""},
		{"nobody outside the resource", nobody, "home/x", "AccessDenied"},
		{"member allowed by group ARN", member, "home/x", ""},
		{"member outside the resource", member, "docs/b", "AccessDenied"},
		{"reader denied one key over OCI", reader, "docs/b", "AccessDenied"},
		{"reader's OCI grant elsewhere", reader, "home/x", ""},
	}
	for _, c := range cases {
		if got := getErr(c.cl, c.key); got != c.want {
			t.Errorf("%s: GET %s: %q, want %q", c.who, c.key, got, c.want)
		}
	}
	if _, err := member.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mix"), Key: aws.String("home/new"), Body: bytes.NewReader([]byte("m"))}); err != nil {
		t.Errorf("member PUT granted by group ARN: %v", err)
	}
	if _, err := member.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("mix"), Policy: aws.String(doc)}); code(err) != "AccessDenied" {
		t.Errorf("member PutBucketPolicy without a grant: %v", err)
	}
	anon := []struct {
		what, method, path string
		want               int
	}{
		{"tagged public", http.MethodGet, "/mix/docs/a", http.StatusOK},
		{"tagged internal", http.MethodGet, "/mix/docs/b", http.StatusForbidden},
		{"untagged", http.MethodGet, "/mix/home/x", http.StatusForbidden},
		{"list with the prefix", http.MethodGet, "/mix?list-type=2&prefix=docs/", http.StatusOK},
		{"list with another prefix", http.MethodGet, "/mix?list-type=2&prefix=home/", http.StatusForbidden},
		{"list without a prefix", http.MethodGet, "/mix?list-type=2", http.StatusForbidden},
		{"head bucket", http.MethodHead, "/mix", http.StatusForbidden},
		{"missing bucket", http.MethodGet, "/nothere/docs/a", http.StatusForbidden},
		{"refused operation", http.MethodGet, "/mix?website", http.StatusForbidden},
	}
	for _, a := range anon {
		if status, body := anonDo(t, a.method, hs.URL+a.path); status != a.want {
			t.Errorf("anonymous %s (%s %s): %d %s, want %d", a.what, a.method, a.path, status, body, a.want)
		}
	}
	// RestrictPublicBuckets makes the public statements inert for the
	// public, and leaves the named principals' grants alone.
	if _, err := op.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("mix"), PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
		RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	if status, _ := anonDo(t, http.MethodGet, hs.URL+"/mix/docs/a"); status != http.StatusForbidden {
		t.Errorf("anonymous GET under RestrictPublicBuckets: %d", status)
	}
	if got := getErr(nobody, "docs/a"); got != "" {
		t.Errorf("nobody under RestrictPublicBuckets: %q", got)
	}
}
