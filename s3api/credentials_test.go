package s3api

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// A user's key from meta acts in its own namespace, is cached for at most
// credentialTTL, and stops working once deleted or deactivated; the static
// operator key keeps working in the gateway's namespace.
func TestUserKeysFromMeta(t *testing.T) {
	idx := newTenantIndex()
	idx.set("USERKEY", &cairnpb.LookupAccessKeyResponse{Namespace: "tenant-a", User: "alice", Secret: "usersecret", Active: true,
		Groups: []string{"admins"}, Statements: []string{"Allow group admins to manage all-resources in tenancy"}})
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	srv, err := New(Config{
		Index: idx, Shards: newFakeShards(), Credentials: map[string]string{"AK": "SK"},
		BlockSize: 64 << 10, InlineThreshold: 1024, MasterKey: testMasterKey(t), Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	client := func(access, secret string) *s3.Client {
		return s3.New(s3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
			Credentials: surfCreds(access, secret), Retryer: aws.NopRetryer{},
		})
	}
	ctx := context.Background()
	user, operator := client("USERKEY", "usersecret"), client("AK", "SK")
	expire := func() { skew.Add(int64(credentialTTL + time.Millisecond)) }

	if _, err := user.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("reports")}); err != nil {
		t.Fatal(err)
	}
	if _, err := operator.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	idx.mu.Lock()
	gotNS, opNS := idx.buckets["reports"].GetNamespace(), idx.buckets["ops"].GetNamespace()
	idx.mu.Unlock()
	if gotNS != "tenant-a" || opNS != "default" {
		t.Fatalf("buckets created in namespaces %q and %q, want tenant-a and default", gotNS, opNS)
	}
	before := idx.lookupCount()
	for range 5 {
		if _, err := user.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("reports")}); err != nil {
			t.Fatal(err)
		}
	}
	if n := idx.lookupCount() - before; n != 0 {
		t.Fatalf("%d meta lookups within the TTL, want 0 (cached)", n)
	}

	if _, err := client("USERKEY", "wrong").HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("reports")}); code(err) != "SignatureDoesNotMatch" && code(err) != "Forbidden" {
		t.Fatalf("wrong secret: %v", err)
	}
	_, err = client("NOSUCHKEY", "x").ListBuckets(ctx, &s3.ListBucketsInput{})
	if code(err) != "InvalidAccessKeyId" {
		t.Fatalf("unknown key: %v", err)
	}

	// Meta unavailable: a retryable 503, not a verdict on the key, and not cached.
	expire()
	idx.setDown(rpcerr.ErrNoLeader)
	_, err = user.ListBuckets(ctx, &s3.ListBucketsInput{})
	if code(err) != "ServiceUnavailable" {
		t.Fatalf("meta down: %v", err)
	}
	idx.setDown(nil)
	if _, err := user.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("meta back: %v", err)
	}

	// Deactivated: refused once the cached entry expires.
	idx.set("USERKEY", &cairnpb.LookupAccessKeyResponse{Namespace: "tenant-a", User: "alice", Secret: "usersecret", Active: false})
	expire()
	if _, err := user.ListBuckets(ctx, &s3.ListBucketsInput{}); code(err) != "InvalidAccessKeyId" {
		t.Fatalf("deactivated key: %v", err)
	}
	// Deleted: likewise.
	idx.set("USERKEY", &cairnpb.LookupAccessKeyResponse{Namespace: "tenant-a", User: "alice", Secret: "usersecret", Active: true,
		Groups: []string{"admins"}, Statements: []string{"Allow group admins to manage all-resources in tenancy"}})
	expire()
	if _, err := user.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("reactivated key: %v", err)
	}
	idx.set("USERKEY", nil)
	expire()
	if _, err := user.ListBuckets(ctx, &s3.ListBucketsInput{}); code(err) != "InvalidAccessKeyId" {
		t.Fatalf("deleted key: %v", err)
	}
	if _, err := operator.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("ops")}); err != nil {
		t.Fatalf("operator key: %v", err)
	}
}

func TestKeyringBoundsItsCache(t *testing.T) {
	idx := newTenantIndex()
	var skew atomic.Int64
	kr := newKeyring(nil, "default", idx, func() time.Time { return time.Unix(0, skew.Load()) })
	for i := range maxCachedCredentials + 10 {
		if _, _, err := kr.lookup(context.Background(), "k"+time.Duration(i).String()); err == nil {
			t.Fatal("unknown key accepted")
		}
	}
	if n := len(kr.cache); n > maxCachedCredentials {
		t.Fatalf("cache holds %d entries, bound %d", n, maxCachedCredentials)
	}
}
