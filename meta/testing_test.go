package meta_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// A package other than meta gets a working meta group from
// MakeTestCluster: its client survives the leader's loss.
func TestMakeTestClusterFromOutside(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := meta.MakeTestCluster(t, 3, nil)
	c.WaitAll(ctx)
	cl := c.Client()
	create := func(name string) {
		t.Helper()
		if _, err := metaclient.Meta(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
			return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: name})
		}); err != nil {
			t.Fatalf("create bucket %s: %v", name, err)
		}
	}
	create("before")
	c.Stop(c.Leader(ctx))
	create("after")
	got, err := metaclient.Meta(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.ListBucketsResponse, error) {
		return m.ListBuckets(ctx, &cairnpb.ListBucketsRequest{Namespace: "ns"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.GetBuckets()); n != 2 {
		t.Fatalf("%d buckets after a leader change, want 2", n)
	}
	if c.Size() != 3 {
		t.Fatalf("size %d", c.Size())
	}
}
