package meta

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// TestAdminPARs: Admin lists a namespace's PARs (or a bucket's) without
// their token hashes, and deleting one ends its lookups at once.
func TestAdminPARs(t *testing.T) {
	c := MakeTestCluster(t, 1, nil)
	ctx := testCtx(t, 30*time.Second)
	c.WaitAll(ctx)
	cl := c.Client()
	adminCall(t, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateNamespaceResponse, error) {
		return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: "acme"})
	})
	adminCall(t, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateUserResponse, error) {
		return a.CreateUser(ctx, &cairnpb.CreateUserRequest{Namespace: "acme", Name: "alice"})
	})
	hash := func(token string) []byte { h := sha256.Sum256([]byte(token)); return h[:] }
	for _, b := range []string{"b1", "b2"} {
		mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
			return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "acme", Name: b})
		})
		mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreatePARResponse, error) {
			return m.CreatePAR(ctx, &cairnpb.CreatePARRequest{Par: &cairnpb.PAR{Id: "par-" + b, Namespace: "acme", Bucket: b,
				Name: "n", ObjectName: "o", AccessType: "ObjectRead", ExpiresUnixNano: time.Now().Add(time.Hour).UnixNano(),
				Creator: "alice", TokenHash: hash("token-" + b)}})
		})
	}
	all := adminCall(t, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.AdminListPARsResponse, error) {
		return a.AdminListPARs(ctx, &cairnpb.AdminListPARsRequest{Namespace: "acme"})
	}).GetPars()
	if len(all) != 2 || all[0].GetId() != "par-b1" || all[1].GetId() != "par-b2" {
		t.Fatalf("listed %v", all)
	}
	for _, p := range all {
		if p.GetTokenHash() != nil || p.GetCreator() != "alice" || p.GetCreatedUnixNano() == 0 {
			t.Errorf("listed %v", p)
		}
	}
	one := adminCall(t, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.AdminListPARsResponse, error) {
		return a.AdminListPARs(ctx, &cairnpb.AdminListPARsRequest{Namespace: "acme", Bucket: "b2"})
	}).GetPars()
	if len(one) != 1 || one[0].GetId() != "par-b2" {
		t.Fatalf("listed %v for b2", one)
	}
	adminCall(t, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeletePARResponse, error) {
		return a.AdminDeletePAR(ctx, &cairnpb.DeletePARRequest{Namespace: "acme", Bucket: "b2", Id: "par-b2"})
	})
	_, err := call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.LookupPARResponse, error) {
		return m.LookupPAR(ctx, &cairnpb.LookupPARRequest{TokenHash: hash("token-b2")})
	})
	fsmtest.WantErr(t, err, rpcerr.ErrPARNotFound)
	_, err = call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.LookupPARResponse, error) {
		return m.LookupPAR(ctx, &cairnpb.LookupPARRequest{TokenHash: hash("token-b1")})
	})
	if err != nil {
		t.Fatalf("the other PAR: %v", err)
	}
}
