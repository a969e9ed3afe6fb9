package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// anonymous sends an unsigned request, with the curl binary when the
// machine has one (as a person sharing a link would), else with net/http
// and no Authorization header. It returns the status and the body.
func anonymous(t *testing.T, method, url string, body []byte) (int, string) {
	t.Helper()
	if curl, err := exec.LookPath("curl"); err == nil {
		args := []string{"-sS", "-X", method, "-o", "-", "-w", "\n%{http_code}", "--max-time", "30"}
		if body != nil {
			args = append(args, "--data-binary", "@-", "-H", "Content-Type: application/octet-stream")
		}
		cmd := exec.Command(curl, append(args, url)...)
		cmd.Stdin = bytes.NewReader(body)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %s %s: %v", method, url, err)
		}
		i := bytes.LastIndexByte(out, '\n')
		status, err := strconv.Atoi(string(out[i+1:]))
		if err != nil {
			t.Fatalf("curl %s %s: status in %q", method, url, out)
		}
		return status, string(out[:i])
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	status, b := httpStatus(t, req)
	return status, string(b)
}

// testBucketPolicy: bucket policies and public access blocks against a
// real cluster, with the SDK for signed calls and unsigned requests for
// the public. A policy granting s3:GetObject to "*" lets anyone read an
// object, not list or write; a Deny beats the OCI grants of the owner
// and of a user; aws:SourceIp is honoured both ways; BlockPublicPolicy
// refuses a public policy and RestrictPublicBuckets makes one inert.
func testBucketPolicy(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	ctx := ctxT(t, 2*time.Minute)
	const b = "bp-public"
	mustCreateBucket(t, cl, b)
	mustPut(t, cl, b, "public/hello.txt", []byte("hello, world"))
	mustPut(t, cl, b, "private/secret.txt", []byte("secret"))
	objURL := c.Endpoint + "/" + b + "/public/hello.txt"
	setPolicy := func(doc string) error {
		_, err := cl.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(doc)})
		return err
	}
	setBlock := func(block, restrict bool) {
		t.Helper()
		_, err := cl.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(b),
			PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{BlockPublicPolicy: aws.Bool(block), RestrictPublicBuckets: aws.Bool(restrict)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	wantAnon := func(what, method, url string, body []byte, status int) string {
		t.Helper()
		got, resp := anonymous(t, method, url, body)
		if got != status {
			t.Fatalf("%s: anonymous %s %s: %d %s, want %d", what, method, url, got, resp, status)
		}
		if status == http.StatusForbidden && !strings.Contains(resp, "<Code>AccessDenied</Code>") {
			t.Fatalf("%s: anonymous %s %s: %s, want AccessDenied", what, method, url, resp)
		}
		return resp
	}
	isPublic := func() bool {
		t.Helper()
		out, err := cl.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToBool(out.PolicyStatus.IsPublic)
	}

	// Nothing set: 404s, and the public gets today's AccessDenied.
	_, err := cl.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	wantAPIError(t, err, "NoSuchBucketPolicy", http.StatusNotFound)
	_, err = cl.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
	wantAPIError(t, err, "NoSuchPublicAccessBlockConfiguration", http.StatusNotFound)
	wantAnon("no policy", http.MethodGet, objURL, nil, http.StatusForbidden)

	// A malformed document is refused with its reason, and nothing is stored.
	err = setPolicy(`{"Version":"2012-10-17","Statement":[{"Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bp-public/*"}]}`)
	wantAPIError(t, err, "MalformedPolicy", http.StatusBadRequest)
	if !strings.Contains(err.Error(), "Effect") {
		t.Fatalf("MalformedPolicy without its reason: %v", err)
	}
	wantAPIError(t, setPolicy(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other-bucket/*"}}`), "MalformedPolicy", http.StatusBadRequest)
	_, err = cl.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	wantAPIError(t, err, "NoSuchBucketPolicy", http.StatusNotFound)

	// Public read of objects: GET works, listing and writing do not.
	publicRead := `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bp-public/*"}]}`
	if err := setPolicy(publicRead); err != nil {
		t.Fatal(err)
	}
	got, err := cl.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	if err != nil || aws.ToString(got.Policy) != publicRead {
		t.Fatalf("GetBucketPolicy: %v %q", err, aws.ToString(got.Policy))
	}
	if !isPublic() {
		t.Fatal("a policy granting * is not public")
	}
	if body := wantAnon("public read", http.MethodGet, objURL, nil, http.StatusOK); body != "hello, world" {
		t.Fatalf("anonymous GET body %q", body)
	}
	wantAnon("public read: list", http.MethodGet, c.Endpoint+"/"+b, nil, http.StatusForbidden)
	wantAnon("public read: list v2", http.MethodGet, c.Endpoint+"/"+b+"?list-type=2", nil, http.StatusForbidden)
	wantAnon("public read: put", http.MethodPut, c.Endpoint+"/"+b+"/public/planted", []byte("x"), http.StatusForbidden)
	wantAnon("public read: delete", http.MethodDelete, objURL, nil, http.StatusForbidden)
	wantAnon("public read: list buckets", http.MethodGet, c.Endpoint+"/", nil, http.StatusForbidden)
	// Without s3:ListBucket, a missing key is not told apart (as S3).
	wantAnon("public read: missing key", http.MethodGet, c.Endpoint+"/"+b+"/public/none", nil, http.StatusForbidden)

	// A Deny for a prefix beats the owner's rights and the public Allow.
	withDeny := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bp-public/*"},` +
		`{"Sid":"NoPrivate","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bp-public/private/*"}]}`
	if err := setPolicy(withDeny); err != nil {
		t.Fatal(err)
	}
	_, err = get(ctx, cl, b, "private/secret.txt", "")
	wantAPIError(t, err, "AccessDenied", http.StatusForbidden)
	mustGetEqual(t, cl, b, "public/hello.txt", []byte("hello, world"))
	wantAnon("deny prefix", http.MethodGet, c.Endpoint+"/"+b+"/private/secret.txt", nil, http.StatusForbidden)

	// ... and a user's OCI grant (manage all-resources in tenancy).
	const ns = "bp-tenant"
	ctl(t, c, "namespace", "create", ns)
	ctl(t, c, "user", "create", "-n", ns, "carol")
	grantAll(t, c, ns, "carol")
	k := newKey(t, c, ns, "carol")
	carol := s3Client(c, k.AccessKeyID, k.Secret)
	testUserDeny(ctx, t, carol)

	// aws:SourceIp: the gateway sees 127.0.0.1.
	ipPolicy := func(cidr string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bp-public/*",` +
			`"Condition":{"IpAddress":{"aws:SourceIp":"` + cidr + `"}}}]}`
	}
	if err := setPolicy(ipPolicy("127.0.0.0/8")); err != nil {
		t.Fatal(err)
	}
	if isPublic() {
		t.Fatal("a policy limited to 127.0.0.0/8 is public")
	}
	wantAnon("source ip inside", http.MethodGet, objURL, nil, http.StatusOK)
	if err := setPolicy(ipPolicy("192.0.2.0/24")); err != nil {
		t.Fatal(err)
	}
	wantAnon("source ip outside", http.MethodGet, objURL, nil, http.StatusForbidden)

	// BlockPublicPolicy: the public policy is refused, a limited one is not,
	// and the stored policy stays what it was.
	setBlock(true, false)
	pab, err := cl.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
	if err != nil || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) || aws.ToBool(pab.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
		t.Fatalf("GetPublicAccessBlock: %v %+v", err, pab)
	}
	wantAPIError(t, setPolicy(publicRead), "AccessDenied", http.StatusForbidden)
	got, err = cl.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	if err != nil || aws.ToString(got.Policy) != ipPolicy("192.0.2.0/24") {
		t.Fatalf("policy after a blocked put: %v %q", err, aws.ToString(got.Policy))
	}
	if err := setPolicy(ipPolicy("127.0.0.0/8")); err != nil {
		t.Fatalf("a non-public policy under BlockPublicPolicy: %v", err)
	}

	// RestrictPublicBuckets: an existing public policy grants the public
	// nothing while it is on, and works again once it is off.
	if _, err := cl.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if err := setPolicy(publicRead); err != nil {
		t.Fatal(err)
	}
	wantAnon("before restrict", http.MethodGet, objURL, nil, http.StatusOK)
	setBlock(false, true)
	wantAnon("restricted", http.MethodGet, objURL, nil, http.StatusForbidden)
	mustGetEqual(t, cl, b, "public/hello.txt", []byte("hello, world"))
	setBlock(false, false)
	wantAnon("unrestricted", http.MethodGet, objURL, nil, http.StatusOK)

	// DeleteBucketPolicy: back to private.
	if _, err := cl.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	wantAnon("policy deleted", http.MethodGet, objURL, nil, http.StatusForbidden)
	_, err = cl.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
	wantAPIError(t, err, "NoSuchBucketPolicy", http.StatusNotFound)
}

// testUserDeny: a user whose OCI policy lets it manage everything is
// still refused what its bucket's policy denies it, and only that.
func testUserDeny(ctx context.Context, t *testing.T, carol *s3.Client) {
	const b = "bp-oci"
	mustCreateBucket(t, carol, b)
	mustPut(t, carol, b, "keep/a", []byte("kept"))
	mustPut(t, carol, b, "deny/b", []byte("denied"))
	_, err := carol.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::bp-tenant:user/carol"},` +
			`"Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bp-oci/deny/*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = get(ctx, carol, b, "deny/b", "")
	wantAPIError(t, err, "AccessDenied", http.StatusForbidden)
	wantAPIError(t, put(ctx, carol, b, "deny/c", []byte("no")), "AccessDenied", http.StatusForbidden)
	mustGetEqual(t, carol, b, "keep/a", []byte("kept"))
	mustPut(t, carol, b, "keep/c", []byte("yes"))
	if _, err := carol.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	mustGetEqual(t, carol, b, "deny/b", []byte("denied"))
}
