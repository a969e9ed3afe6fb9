package meta

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func admin[T any](ctx context.Context, cl *metaclient.Client, f func(context.Context, cairnpb.AdminClient) (T, error)) (T, error) {
	return metaclient.Admin(ctx, cl, f)
}

// Over gRPC, through a follower: the proposer picks IDs and secrets, the
// secret is shown once, and LookupAccessKey sees deactivation and deletion.
func TestTenancyOverGRPC(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := MakeTestCluster(t, 3, clock.Now)
	ctx := testCtx(t, 60*time.Second)
	c.WaitAll(ctx)
	follower := (c.Leader(ctx) + 1) % 3
	cl := c.Client(follower)

	if _, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateNamespaceResponse, error) {
		return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: "tenant-a"})
	}); err != nil {
		t.Fatal(err)
	}
	_, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateNamespaceResponse, error) {
		return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: "tenant-a"})
	})
	fsmtest.WantErr(t, err, rpcerr.ErrNamespaceExists)
	_, err = admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateNamespaceResponse, error) {
		return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: "Bad_Name"})
	})
	fsmtest.WantErr(t, err, rpcerr.ErrInvalidArgument)
	_, err = admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.GetNamespaceResponse, error) {
		return a.GetNamespace(ctx, &cairnpb.GetNamespaceRequest{Name: "nope"})
	})
	fsmtest.WantErr(t, err, rpcerr.ErrNamespaceNotFound)

	if _, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateUserResponse, error) {
		return a.CreateUser(ctx, &cairnpb.CreateUserRequest{Namespace: "tenant-a", Name: "alice"})
	}); err != nil {
		t.Fatal(err)
	}
	mk := func() *cairnpb.AccessKey {
		resp, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateAccessKeyResponse, error) {
			return a.CreateAccessKey(ctx, &cairnpb.CreateAccessKeyRequest{Namespace: "tenant-a", User: "alice"})
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetKey()
	}
	k1, k2 := mk(), mk()
	if len(k1.GetAccessKeyId()) != 40 || len(k1.GetSecret()) != 44 || k1.GetAccessKeyId() == k2.GetAccessKeyId() || k1.GetSecret() == k2.GetSecret() {
		t.Fatalf("keys %v and %v", k1, k2)
	}

	ns, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.GetNamespaceResponse, error) {
		return a.GetNamespace(ctx, &cairnpb.GetNamespaceRequest{Name: "tenant-a"})
	})
	if err != nil || ns.GetUsers() != 1 || ns.GetNamespace().GetCreatedUnixNano() != clock.Now().UnixNano() {
		t.Fatalf("namespace %v, %v", ns, err)
	}
	list, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListAccessKeysResponse, error) {
		return a.ListAccessKeys(ctx, &cairnpb.ListAccessKeysRequest{Namespace: "tenant-a", User: "alice"})
	})
	if err != nil || len(list.GetKeys()) != 2 {
		t.Fatalf("keys %v, %v", list, err)
	}
	for _, k := range list.GetKeys() {
		if k.GetSecret() != "" {
			t.Fatal("ListAccessKeys returned a secret")
		}
	}

	lookup := func(id string) (*cairnpb.LookupAccessKeyResponse, error) {
		return call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.LookupAccessKeyResponse, error) {
			return m.LookupAccessKey(ctx, &cairnpb.LookupAccessKeyRequest{AccessKeyId: id})
		})
	}
	got, err := lookup(k1.GetAccessKeyId())
	if err != nil || got.GetNamespace() != "tenant-a" || got.GetUser() != "alice" || got.GetSecret() != k1.GetSecret() || !got.GetActive() {
		t.Fatalf("lookup %v, %v", got, err)
	}
	if _, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeactivateAccessKeyResponse, error) {
		return a.DeactivateAccessKey(ctx, &cairnpb.DeactivateAccessKeyRequest{AccessKeyId: k1.GetAccessKeyId()})
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := lookup(k1.GetAccessKeyId()); err != nil || got.GetActive() {
		t.Fatalf("after deactivate: %v, %v", got, err)
	}
	if _, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeleteAccessKeyResponse, error) {
		return a.DeleteAccessKey(ctx, &cairnpb.DeleteAccessKeyRequest{AccessKeyId: k2.GetAccessKeyId()})
	}); err != nil {
		t.Fatal(err)
	}
	_, err = lookup(k2.GetAccessKeyId())
	fsmtest.WantErr(t, err, rpcerr.ErrKeyNotFound)

	if _, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeleteUserResponse, error) {
		return a.DeleteUser(ctx, &cairnpb.DeleteUserRequest{Namespace: "tenant-a", Name: "alice"})
	}); err != nil {
		t.Fatal(err)
	}
	_, err = lookup(k1.GetAccessKeyId())
	fsmtest.WantErr(t, err, rpcerr.ErrKeyNotFound)
	_, err = admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeleteUserResponse, error) {
		return a.DeleteUser(ctx, &cairnpb.DeleteUserRequest{Namespace: "tenant-a", Name: "alice"})
	})
	fsmtest.WantErr(t, err, rpcerr.ErrUserNotFound)
	c.waitConverged(ctx)
}
