package meta

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Over gRPC: conditions and tags survive the wire and forwarding, and of
// eight racing If-None-Match commits exactly one wins.
func TestTaggingAndConditionsOverGRPC(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := MakeTestCluster(t, 1, clock.Now)
	ctx := testCtx(t, 30*time.Second)
	c.WaitAll(ctx)
	cl := c.Client()
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
		return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "b"})
	})

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			req := commitReq("b", "race", fmt.Sprint("v", i), []byte("body"))
			req.Condition = &cairnpb.WriteCondition{IfNoneMatch: true}
			_, errs[i] = call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
				return m.CommitObject(ctx, req)
			})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		fsmtest.WantErr(t, err, rpcerr.ErrPreconditionFailed)
	}
	if wins != 1 {
		t.Fatalf("%d racing If-None-Match commits won, want 1: %v", wins, errs)
	}

	setTags := func(key string, tags map[string]string) error {
		_, err := call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.SetObjectTagsResponse, error) {
			return m.SetObjectTags(ctx, &cairnpb.SetObjectTagsRequest{Namespace: "ns", Bucket: "b", Key: key, Tags: tags})
		})
		return err
	}
	if err := setTags("race", fsmtest.TagMap("a", "1")); err != nil {
		t.Fatal(err)
	}
	fsmtest.WantErr(t, setTags("missing", fsmtest.TagMap("a", "1")), rpcerr.ErrObjectNotFound)
	fsmtest.WantErr(t, setTags("race", fsmtest.TagMap("", "1")), rpcerr.ErrInvalidArgument)
	got := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
		return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "b", Key: "race"})
	})
	if got.GetVersion().GetTags()["a"] != "1" || string(got.GetVersion().GetInlineData()) != "body" {
		t.Fatalf("tagged object %v", got.GetVersion())
	}

	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.SetBucketConfigResponse, error) {
		return m.SetBucketConfig(ctx, &cairnpb.SetBucketConfigRequest{Namespace: "ns", Bucket: "b", Configs: []*cairnpb.BucketConfig{
			{Kind: &cairnpb.BucketConfig_Tags{Tags: &cairnpb.BucketTagsConfig{Tags: fsmtest.TagMap("team", "x")}}}}})
	})
	bk := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetBucketResponse, error) {
		return m.GetBucket(ctx, &cairnpb.GetBucketRequest{Namespace: "ns", Name: "b"})
	})
	if bk.GetBucket().GetTags()["team"] != "x" {
		t.Fatalf("bucket %v", bk.GetBucket())
	}

	// A too-long If-Match ETag is refused before anything is proposed.
	bad := commitReq("b", "other", "vx", []byte("x"))
	bad.Condition = &cairnpb.WriteCondition{IfMatchEtag: strings.Repeat("e", 65)}
	_, err := call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
		return m.CommitObject(ctx, bad)
	})
	fsmtest.WantErr(t, err, rpcerr.ErrInvalidArgument)
}
