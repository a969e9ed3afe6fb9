package meta

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func TestRequestMetadataKeysMatchClient(t *testing.T) {
	if requestIDKey != metaclient.RequestIDKey || requestStartKey != metaclient.RequestStartKey {
		t.Fatalf("meta keys %q/%q, metaclient keys %q/%q",
			requestIDKey, requestStartKey, metaclient.RequestIDKey, metaclient.RequestStartKey)
	}
}

// TestClusterLateDuplicateCommitKeepsOverwrite sends one logical
// CommitObject twice with the same request metadata, the first time through
// a follower (forwarded to the leader), the second, after an acknowledged
// overwrite, straight to the leader, as a first attempt delivered late.
func TestClusterLateDuplicateCommitKeepsOverwrite(t *testing.T) {
	c := MakeTestCluster(t, 3, nil)
	ctx := testCtx(t, 45*time.Second)
	c.WaitAll(ctx)
	leader := c.Leader(ctx)
	follower := (leader + 1) % len(c.nodes)
	cl := c.Client()
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
		return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "b"})
	})

	id := bytes.Repeat([]byte{0x5a}, fsm.RequestIDLen)
	reqCtx := metadata.AppendToOutgoingContext(ctx,
		metaclient.RequestIDKey, hex.EncodeToString(id),
		metaclient.RequestStartKey, strconv.FormatInt(time.Now().UnixNano(), 10))
	v1 := commitReq("b", "key-3", "v1", []byte("one"))
	if _, err := dialMeta(t, c.nodes[follower].cfg.GRPCAddr).CommitObject(reqCtx, v1); err != nil {
		t.Fatalf("commit v1 via follower: %v", err)
	}
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
		return m.CommitObject(ctx, commitReq("b", "key-3", "v2", []byte("two")))
	})
	if _, err := dialMeta(t, c.nodes[leader].cfg.GRPCAddr).CommitObject(reqCtx, v1); err != nil {
		t.Fatalf("late duplicate of commit v1: %v, want success", err)
	}
	got := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
		return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "b", Key: "key-3"})
	})
	if v := got.GetVersion().GetVersionId(); v != "v2" {
		t.Fatalf("current version after late duplicate = %q, want v2 (the acknowledged overwrite)", v)
	}
	// Every member holds the record: a duplicate after failover is caught too.
	for _, e := range c.waitConverged(ctx) {
		if e.K == fsm.TagRequestID+string(id) {
			return
		}
	}
	t.Fatal("request record missing from the replicated state")
}

func TestRequestTimeIDStableAcrossAttempts(t *testing.T) {
	id := bytes.Repeat([]byte{0xab}, fsm.RequestIDLen)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(
		requestIDKey, hex.EncodeToString(id), requestStartKey, "1700000000000000000"))
	a, err := requestTimeID(ctx, time.Unix(1_700_000_001, 0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := requestTimeID(ctx, time.Unix(1_700_000_009, 0))
	if err != nil {
		t.Fatal(err)
	}
	if a != b || len(a) != 32 {
		t.Fatalf("attempts drew %q and %q: want one 16-byte ID", a, b)
	}
	plain1, _ := requestTimeID(context.Background(), time.Unix(1_700_000_001, 0))
	plain2, _ := requestTimeID(context.Background(), time.Unix(1_700_000_001, 0))
	if plain1 == plain2 {
		t.Fatalf("without a request id two calls drew the same ID %q", plain1)
	}
	bad := metadata.NewIncomingContext(context.Background(), metadata.Pairs(requestIDKey, "zz", requestStartKey, "1"))
	if _, err := requestTimeID(bad, time.Now()); !errors.Is(err, rpcerr.ErrInvalidArgument) {
		t.Fatalf("malformed request id: %v, want invalid argument", err)
	}
}

// TestClusterDuplicateCreateBucketAnswersAppliedBucket retries one
// CreateBucket call on another node: the retry succeeds and names the
// bucket the first attempt created.
func TestClusterDuplicateCreateBucketAnswersAppliedBucket(t *testing.T) {
	c := MakeTestCluster(t, 3, nil)
	ctx := testCtx(t, 45*time.Second)
	c.WaitAll(ctx)
	reqCtx := metadata.AppendToOutgoingContext(ctx,
		metaclient.RequestIDKey, hex.EncodeToString(bytes.Repeat([]byte{0x3c}, fsm.RequestIDLen)),
		metaclient.RequestStartKey, strconv.FormatInt(time.Now().UnixNano(), 10))
	req := &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "b"}
	first, err := dialMeta(t, c.nodes[0].cfg.GRPCAddr).CreateBucket(reqCtx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := dialMeta(t, c.nodes[2].cfg.GRPCAddr).CreateBucket(reqCtx, req)
	if err != nil {
		t.Fatalf("retry of an applied CreateBucket: %v, want success", err)
	}
	if !bytes.Equal(first.GetBucket().GetId(), again.GetBucket().GetId()) {
		t.Fatalf("retry answered bucket id %x, the bucket is %x", again.GetBucket().GetId(), first.GetBucket().GetId())
	}
	// Without the request ID it is a new call, refused as before.
	_, err = call(ctx, c.Client(), func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
		return m.CreateBucket(ctx, req)
	})
	fsmtest.WantErr(t, err, rpcerr.ErrBucketExists)
}

// A proposal made on behalf of a call but not its own command (the
// cluster ID drawn within the first RegisterNode) carries no request ID:
// with the call's, the call's own command would be dropped as a duplicate.
func TestWithoutRequestIDHidesTheCallersID(t *testing.T) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(
		requestIDKey, hex.EncodeToString(bytes.Repeat([]byte{7}, fsm.RequestIDLen)), requestStartKey, "1000"))
	own := &cairnpb.Command{}
	if err := stampRequest(ctx, own); err != nil || len(own.GetRequestId()) != fsm.RequestIDLen {
		t.Fatalf("the call's own command: %v, %v", own, err)
	}
	other := &cairnpb.Command{}
	if err := stampRequest(withoutRequestID(ctx), other); err != nil || len(other.GetRequestId()) != 0 {
		t.Fatalf("another command: %v, %v", other, err)
	}
}
