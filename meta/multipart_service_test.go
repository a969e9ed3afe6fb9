package meta

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func TestMultipartOverGRPC(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := MakeTestCluster(t, 1, clock.Now)
	ctx := testCtx(t, 30*time.Second)
	c.WaitAll(ctx)
	cl := c.Client()
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
		return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "b"})
	})
	cr := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateMultipartUploadResponse, error) {
		return m.CreateMultipartUpload(ctx, &cairnpb.CreateMultipartUploadRequest{Namespace: "ns", Bucket: "b",
			Upload: &cairnpb.MultipartUpload{Key: "k", ContentType: "a/b"}})
	})
	id := cr.GetUpload().GetUploadId()
	if !fsm.ValidUploadID(id) || cr.GetUpload().GetInitiatedUnixNano() != clock.Now().UnixNano() {
		t.Fatalf("created %v", cr.GetUpload())
	}
	part := func(n int32, base string) *cairnpb.CommitPartRequest {
		op := fsmtest.PartOp("b", "k", 0, n, 6<<20, base, "n1")
		return &cairnpb.CommitPartRequest{Namespace: "ns", Bucket: "b", Key: "k", UploadId: id, Part: op.GetPart()}
	}
	for _, n := range []int32{1, 2} {
		mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitPartResponse, error) {
			return m.CommitPart(ctx, part(n, fmt.Sprint("p", n)))
		})
	}
	_, err := call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitPartResponse, error) {
		return m.CommitPart(ctx, part(0, "p0"))
	})
	fsmtest.WantErr(t, err, rpcerr.ErrInvalidArgument)
	_, err = call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetMultipartUploadResponse, error) {
		return m.GetMultipartUpload(ctx, &cairnpb.GetMultipartUploadRequest{Namespace: "ns", Bucket: "b", Key: "k", UploadId: "garbage"})
	})
	fsmtest.WantErr(t, err, rpcerr.ErrUploadNotFound)
	complete := func(parts ...*cairnpb.CompletedPart) (*cairnpb.CompleteMultipartUploadResponse, error) {
		return call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CompleteMultipartUploadResponse, error) {
			return m.CompleteMultipartUpload(ctx, &cairnpb.CompleteMultipartUploadRequest{Namespace: "ns", Bucket: "b", Key: "k", UploadId: id, Parts: parts})
		})
	}
	_, err = complete(fsmtest.Listed(2, "p2"), fsmtest.Listed(1, "p1"))
	fsmtest.WantErr(t, err, rpcerr.ErrInvalidPartOrder)
	_, err = complete(fsmtest.Listed(1, "p2"))
	fsmtest.WantErr(t, err, rpcerr.ErrInvalidPart)
	lp := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.ListPartsResponse, error) {
		return m.ListParts(ctx, &cairnpb.ListPartsRequest{Namespace: "ns", Bucket: "b", Key: "k", UploadId: id, MaxParts: 1})
	})
	if len(lp.GetParts()) != 1 || !lp.GetIsTruncated() || lp.GetNextPartNumberMarker() != 1 || lp.GetUpload().GetContentType() != "a/b" {
		t.Fatalf("list parts %v", lp)
	}
	done, err := complete(fsmtest.Listed(1, "p1"), fsmtest.Listed(2, "p2"))
	if err != nil {
		t.Fatal(err)
	}
	got := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
		return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "b", Key: "k"})
	})
	if v := got.GetVersion(); v.GetEtag() != done.GetEtag() || !strings.HasSuffix(v.GetEtag(), "-2") ||
		done.GetVersionId() != "" || v.GetSize() != 12<<20 { // no S3 version ID without versioning
		t.Fatalf("completed %v, object %v", done, v)
	}
	// A retried completion (the upload is gone) answers as the first did;
	// one listing other parts does not.
	again, err := complete(fsmtest.Listed(1, "p1"), fsmtest.Listed(2, "p2"))
	if err != nil || again.GetEtag() != done.GetEtag() || again.GetVersionId() != done.GetVersionId() {
		t.Fatalf("retried complete: %v %v", again, err)
	}
	_, err = complete(fsmtest.Listed(1, "p1"))
	fsmtest.WantErr(t, err, rpcerr.ErrUploadNotFound)
	lu := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.ListMultipartUploadsResponse, error) {
		return m.ListMultipartUploads(ctx, &cairnpb.ListMultipartUploadsRequest{Namespace: "ns", Bucket: "b"})
	})
	if len(lu.GetUploads()) != 0 {
		t.Fatalf("completed upload still listed: %v", lu)
	}
}
