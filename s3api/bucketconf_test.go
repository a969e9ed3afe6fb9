package s3api

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// countingIndex serves GetBucket from a map and counts the reads.
type countingIndex struct {
	Index
	buckets map[string]*cairnpb.Bucket
	reads   int
}

func (c *countingIndex) GetBucket(_ context.Context, ns, name string) (*cairnpb.Bucket, error) {
	c.reads++
	if b, ok := c.buckets[ns+"/"+name]; ok {
		return b, nil
	}
	return nil, rpcerr.ErrBucketNotFound
}

func TestBucketConfsCacheForTheirTTL(t *testing.T) {
	idx := &countingIndex{buckets: map[string]*cairnpb.Bucket{"ns/b": {Name: "b", Policy: "v1"}}}
	now := time.Unix(1_800_000_000, 0)
	c := newBucketConfs(idx, func() time.Time { return now })
	ctx := context.Background()
	policy := func() string {
		t.Helper()
		b, err := c.get(ctx, "ns", "b")
		if err != nil {
			t.Fatal(err)
		}
		return b.GetPolicy()
	}

	if policy() != "v1" || policy() != "v1" || idx.reads != 1 {
		t.Fatalf("two gets within the TTL made %d reads, want 1", idx.reads)
	}
	idx.buckets["ns/b"] = &cairnpb.Bucket{Name: "b", Policy: "v2"}
	now = now.Add(bucketConfTTL - time.Millisecond)
	if got := policy(); got != "v1" {
		t.Fatalf("within the TTL: %q", got)
	}
	now = now.Add(time.Millisecond)
	if got := policy(); got != "v2" || idx.reads != 2 {
		t.Fatalf("at the TTL: %q after %d reads, want v2 after 2", got, idx.reads)
	}

	// A write through this gateway is seen by the next request.
	idx.buckets["ns/b"] = &cairnpb.Bucket{Name: "b", Policy: "v3"}
	c.forget("ns", "b")
	if got := policy(); got != "v3" {
		t.Fatalf("after forget: %q", got)
	}

	// A missing bucket is remembered as missing, with the sentinel.
	for range 2 {
		if _, err := c.get(ctx, "ns", "nope"); !errors.Is(err, rpcerr.ErrBucketNotFound) {
			t.Fatalf("missing bucket: %v", err)
		}
	}
	if idx.reads != 4 {
		t.Fatalf("%d reads, want 4 (the missing bucket read once)", idx.reads)
	}
}

func TestChangesBucketByShape(t *testing.T) {
	for _, tc := range []struct {
		method, bucket, key string
		want                bool
	}{
		{http.MethodPut, "b", "", true},    // PutBucketPolicy, PutBucketCors, CreateBucket, ...
		{http.MethodDelete, "b", "", true}, // DeleteBucket, DeleteBucketPolicy, ...
		{http.MethodPost, "b", "", true},   // DeleteObjects too: harmless
		{http.MethodGet, "b", "", false},
		{http.MethodHead, "b", "", false},
		{http.MethodOptions, "b", "", false},
		{http.MethodPut, "b", "k", false}, // objects do not change the bucket record
		{http.MethodPut, "", "", false},
	} {
		r, _ := http.NewRequest(tc.method, "http://gw/", nil)
		req := &request{}
		req.bucket, req.key = tc.bucket, tc.key
		if got := changesBucket(r, req); got != tc.want {
			t.Errorf("%s bucket %q key %q: %v, want %v", tc.method, tc.bucket, tc.key, got, tc.want)
		}
	}
}
