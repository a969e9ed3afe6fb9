package s3api

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// TestRequiredAccess: each S3 operation needs the permission OCI documents
// for it, as its row in opTable says; requests refused anyway (405, 501)
// need nothing, so their answer stays what it is, and never borrow the
// permission of the plain request they look like.
func TestRequiredAccess(t *testing.T) {
	ops := opTable()
	s := parseGateway()
	cases := []struct {
		method, target string
		header         map[string]string
		want           []need
		refused        bool
	}{
		{"GET", "/", nil, []need{{kind: needListBuckets}}, false},
		{"PUT", "/b", nil, []need{{kind: needCreateBucket, perm: policy.BucketCreate, bucket: "b"}}, false},
		{"HEAD", "/b", nil, []need{{perm: policy.BucketInspect, bucket: "b"}}, false},
		{"DELETE", "/b", nil, []need{{perm: policy.BucketDelete, bucket: "b"}}, false},
		{"GET", "/b?location", nil, []need{{perm: policy.BucketRead, bucket: "b"}}, false},
		{"GET", "/b?list-type=2", nil, []need{{perm: policy.ObjectInspect, bucket: "b"}}, false},
		{"GET", "/b", nil, []need{{perm: policy.ObjectInspect, bucket: "b"}}, false},
		{"POST", "/b?delete", nil, []need{{perm: policy.ObjectDelete, bucket: "b"}}, false},
		{"GET", "/b/k", nil, []need{{perm: policy.ObjectRead, bucket: "b", key: "k"}}, false},
		{"HEAD", "/b/k", nil, []need{{perm: policy.ObjectRead, bucket: "b", key: "k"}}, false},
		{"PUT", "/b/k", nil, []need{{kind: needWrite, bucket: "b", key: "k"}}, false},
		{"PUT", "/b/k", map[string]string{"x-amz-copy-source": "/src/a/b"},
			[]need{{kind: needWrite, bucket: "b", key: "k"}, {perm: policy.ObjectRead, bucket: "src", key: "a/b"}}, false},
		{"PUT", "/b/k", map[string]string{"x-amz-copy-source": "nokey"}, []need{{kind: needWrite, bucket: "b", key: "k"}}, false},
		{"DELETE", "/b/k", nil, []need{{perm: policy.ObjectDelete, bucket: "b", key: "k"}}, false},
		{"DELETE", "/b/k?versionId=v1", nil, []need{{perm: policy.ObjectVersionDelete, bucket: "b", key: "k"}}, false},
		{"DELETE", "/b/k?versionId=", nil, []need{{perm: policy.ObjectDelete, bucket: "b", key: "k"}}, false},
		{"GET", "/b?tagging", nil, []need{{perm: policy.BucketRead, bucket: "b"}}, false},
		{"PUT", "/b?tagging", nil, []need{{perm: policy.BucketUpdate, bucket: "b"}}, false},
		{"DELETE", "/b?tagging", nil, []need{{perm: policy.BucketUpdate, bucket: "b"}}, false},
		{"PUT", "/b/k?tagging", nil, []need{{perm: policy.ObjectOverwrite, bucket: "b", key: "k"}}, false},
		{"GET", "/b/k?tagging", nil, []need{{perm: policy.ObjectRead, bucket: "b", key: "k"}}, false},
		{"GET", "/b?versioning", nil, []need{{perm: policy.BucketRead, bucket: "b"}}, false},
		{"PUT", "/b?versioning", nil, []need{{perm: policy.BucketUpdate, bucket: "b"}}, false},
		{"GET", "/b?versions", nil, []need{{perm: policy.ObjectInspect, bucket: "b"}}, false},
		{"GET", "/b?uploads", nil, []need{{perm: policy.ObjectInspect, bucket: "b"}}, false},
		{"POST", "/b/k?uploads", nil, []need{{kind: needWrite, bucket: "b", key: "k"}}, false},
		{"PUT", "/b/k?uploadId=u&partNumber=1", nil, []need{{kind: needWrite, bucket: "b", key: "k"}}, false},
		{"PUT", "/b/k?uploadId=u&partNumber=1", map[string]string{"x-amz-copy-source": "src/a?versionId=v"},
			[]need{{kind: needWrite, bucket: "b", key: "k"}, {perm: policy.ObjectRead, bucket: "src", key: "a"}}, false},
		{"POST", "/b/k?uploadId=u", nil, []need{{kind: needWrite, bucket: "b", key: "k"}}, false},
		{"GET", "/b/k?uploadId=u", nil, []need{{perm: policy.ObjectInspect, bucket: "b", key: "k"}}, false},
		{"DELETE", "/b/k?uploadId=u", nil, []need{{perm: policy.ObjectDelete, bucket: "b", key: "k"}}, false},
		// What the request is served as decides: GetBucketVersioning.
		{"GET", "/b?versioning&uploads", nil, []need{{perm: policy.BucketRead, bucket: "b"}}, false},
		{"GET", "/b?acl", nil, []need{{perm: policy.BucketRead, bucket: "b"}}, false},
		{"PUT", "/b/k?acl", nil, []need{{perm: policy.ObjectOverwrite, bucket: "b", key: "k"}}, false},
		// Not CreateBucket.
		{"PUT", "/b?website", nil, nil, true},
		{"DELETE", "/b?acl", nil, nil, true},
		{"DELETE", "/b?delete", nil, nil, true},
		// Not DeleteBucket, PutObject.
		{"DELETE", "/b?location", nil, nil, true},
		{"DELETE", "/b?metadataTable", nil, nil, true},
		{"PUT", "/b/k?renameObject", nil, nil, true},
		{"POST", "/b?delete&tagging", nil, nil, true},
		{"PATCH", "/b/k", nil, nil, true},
		{"POST", "/b", nil, nil, false}, // checked by postObject, from its form
		{"PUT", "/", nil, nil, true},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.target, nil)
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		req := &request{operation: s.parse(r)}
		a := ops[req.op].access
		got := a.needs(req, ops[req.op].action, ops[OpGetObject].action)
		if (a.rule == accessRefused) != c.refused || len(got) != len(c.want) {
			t.Errorf("%s %s (%v): got %+v refused %v, want %+v refused %v", c.method, c.target, req.op, got, a.rule == accessRefused, c.want, c.refused)
			continue
		}
		for i := range got {
			got[i].action = "" // TestNeedActions checks those
			if got[i] != c.want[i] {
				t.Errorf("%s %s: need %d is %+v, want %+v", c.method, c.target, i, got[i], c.want[i])
			}
		}
	}
}

// TestAuthorizeUsers: users' keys can do what their groups' policies
// allow and nothing else; the operator's key can do everything; a key
// used on another namespace's endpoint is refused; a revoked statement
// stops working once the cached lookup expires.
func TestAuthorizeUsers(t *testing.T) {
	idx := newTenantIndex()
	stmts := []string{
		"Allow group admins to manage all-resources in tenancy",
		"Allow group readers to read object-family in tenancy",
		"Allow group users to use objects in tenancy",
		"Allow group scoped to manage objects in tenancy where target.bucket.name = 'data'",
	}
	user := func(name string, groups ...string) {
		idx.set(strings.ToUpper(name), &cairnpb.LookupAccessKeyResponse{Namespace: "tenant-a", User: name, Secret: name + "-secret", Active: true,
			Groups: groups, Statements: stmts})
	}
	user("admin", "admins")
	user("reader", "readers")
	user("user", "users")
	user("scoped", "scoped")
	user("nobody")
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	srv, err := New(Config{
		Index: idx, Shards: newFakeShards(), Credentials: map[string]string{"AK": "SK"}, Domains: []string{"example.com"},
		BlockSize: 64 << 10, InlineThreshold: 1024, MasterKey: testMasterKey(t), Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	clientAt := func(endpoint, name string) *s3.Client {
		o := s3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
			Credentials: surfCreds(strings.ToUpper(name), name+"-secret"), Retryer: aws.NopRetryer{},
		}
		if endpoint != hs.URL {
			o.HTTPClient = surfDialTo(strings.TrimPrefix(hs.URL, "http://"))
		}
		return s3.New(o)
	}
	client := func(name string) *s3.Client { return clientAt(hs.URL, name) }
	ctx := context.Background()
	put := func(cl *s3.Client, bucket, key string) error {
		_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader([]byte("x"))})
		return err
	}
	get := func(cl *s3.Client, bucket, key string) error {
		_, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		return err
	}
	denied := func(what string, err error) {
		t.Helper()
		if code(err) != "AccessDenied" {
			t.Errorf("%s: want AccessDenied, got %v", what, err)
		}
	}
	ok := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}

	admin, reader, usr, scoped, nobody := client("admin"), client("reader"), client("user"), client("scoped"), client("nobody")
	for _, b := range []string{"data", "other"} {
		_, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		ok("admin creates "+b, err)
		ok("admin puts", put(admin, b, "a"))
	}

	// No group, no rights.
	_, err = nobody.ListBuckets(ctx, &s3.ListBucketsInput{})
	denied("nobody lists buckets", err)
	denied("nobody reads", get(nobody, "data", "a"))
	_, err = nobody.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mine")})
	denied("nobody creates a bucket", err)

	// Read-only.
	ok("reader gets", get(reader, "data", "a"))
	_, err = reader.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("data"), Key: aws.String("a")})
	ok("reader heads", err)
	_, err = reader.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("data")})
	ok("reader lists", err)
	lb, err := reader.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(lb.Buckets) != 2 {
		t.Errorf("reader lists buckets: %v %v", lb, err)
	}
	denied("reader puts", put(reader, "data", "b"))
	_, err = reader.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("data"), Key: aws.String("a")})
	denied("reader deletes", err)
	_, err = reader.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("other")})
	denied("reader deletes a bucket", err)
	_, err = reader.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("data")})
	ok("reader reads the bucket's ACL", err)
	_, err = reader.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("data"), ACL: types.BucketCannedACLPrivate})
	denied("reader sets the bucket's ACL", err)
	_, err = reader.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("data"), Key: aws.String("copy"), CopySource: aws.String("data/a")})
	denied("reader copies", err)

	// use objects: overwrite existing objects, but not create new ones.
	ok("user overwrites", put(usr, "data", "a"))
	denied("user creates", put(usr, "data", "new"))

	// Bucket-scoped grant.
	ok("scoped puts in data", put(scoped, "data", "s"))
	denied("scoped puts in other", put(scoped, "other", "s"))
	denied("scoped reads other", get(scoped, "other", "a"))
	_, err = scoped.ListBuckets(ctx, &s3.ListBucketsInput{})
	denied("scoped lists buckets", err)
	_, err = scoped.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("data"), Key: aws.String("copy"), CopySource: aws.String("other/a")})
	denied("scoped copies from other", err)
	_, err = scoped.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("data"), Key: aws.String("copy"), CopySource: aws.String("data/a")})
	ok("scoped copies within data", err)

	// A namespace's own endpoint works; another namespace's is refused,
	// for users and the operator alike.
	ok("admin on own namespace host", get(clientAt("http://tenant-a.compat.objectstorage.us-east-1.example.com", "admin"), "data", "a"))
	denied("admin on another namespace host", get(clientAt("http://tenant-b.compat.objectstorage.us-east-1.example.com", "admin"), "data", "a"))
	opOther := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://tenant-a.compat.objectstorage.us-east-1.example.com"),
		UsePathStyle: true, Credentials: surfCreds("AK", "SK"), Retryer: aws.NopRetryer{}, HTTPClient: surfDialTo(strings.TrimPrefix(hs.URL, "http://"))})
	_, err = opOther.ListBuckets(ctx, &s3.ListBucketsInput{})
	denied("operator on a tenant's host", err)

	// Revocation takes effect when the cached lookup expires.
	idx.set("READER", &cairnpb.LookupAccessKeyResponse{Namespace: "tenant-a", User: "reader", Secret: "reader-secret", Active: true, Groups: []string{"readers"}})
	ok("reader within the TTL", get(reader, "data", "a"))
	skew.Add(int64(credentialTTL + time.Millisecond))
	denied("reader after revocation", get(reader, "data", "a"))

	// Compartment-scoped grants follow the bucket's compartment and its
	// ancestors.
	idx.mu.Lock()
	idx.buckets["data"].Compartment = "ml"
	idx.mu.Unlock()
	idx.set("ENG", &cairnpb.LookupAccessKeyResponse{Namespace: "tenant-a", User: "eng", Secret: "eng-secret", Active: true,
		Groups:       []string{"eng"},
		Statements:   []string{"Allow group eng to manage objects in compartment eng"},
		Compartments: []*cairnpb.Compartment{{Name: "eng", Parent: "root"}, {Name: "ml", Parent: "eng"}}})
	eng := client("eng")
	ok("eng puts in data (in ml, under eng)", put(eng, "data", "e"))
	ok("eng puts again (compartment remembered)", put(eng, "data", "e2"))
	denied("eng puts in other (root)", put(eng, "other", "e"))

	// The operator is never checked against policies.
	op := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true, Credentials: surfCreds("AK", "SK"), Retryer: aws.NopRetryer{}})
	_, err = op.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ops")})
	ok("operator creates", err)
}
