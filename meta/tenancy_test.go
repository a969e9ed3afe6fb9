package meta

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func nsOp(name string) *cairnpb.CreateNamespaceCmd {
	return &cairnpb.CreateNamespaceCmd{Namespace: &cairnpb.Namespace{Name: name}}
}

func userOp(ns, name string) *cairnpb.CreateUserCmd {
	return &cairnpb.CreateUserCmd{User: &cairnpb.User{Namespace: ns, Name: name}}
}

func keyOp(ns, user, id string) *cairnpb.CreateAccessKeyCmd {
	return &cairnpb.CreateAccessKeyCmd{Key: &cairnpb.AccessKey{
		AccessKeyId: id, Namespace: ns, User: user, Secret: "secret-" + id, Active: true,
	}}
}

func readKey(t *testing.T, f *fsm, id string) (*cairnpb.AccessKey, error) {
	t.Helper()
	var k *cairnpb.AccessKey
	err := f.store.view(func(r pebble.Reader) error {
		var err error
		k, err = getAccessKey(r, id)
		return err
	})
	return k, err
}

func TestFSMTenancyCommands(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	must := func(op any) {
		t.Helper()
		if err := c.apply(t, f, op); err != nil {
			t.Fatalf("%T: %v", op, err)
		}
	}
	must(nsOp("a"))
	must(nsOp("ab")) // a prefix of another name must not mix their users
	wantErr(t, c.apply(t, f, nsOp("a")), rpcerr.ErrNamespaceExists)
	wantErr(t, c.apply(t, f, nsOp("")), rpcerr.ErrInvalidArgument)

	wantErr(t, c.apply(t, f, userOp("nope", "alice")), rpcerr.ErrNamespaceNotFound)
	must(userOp("a", "alice"))
	must(userOp("a", "bob"))
	must(userOp("ab", "carol"))
	wantErr(t, c.apply(t, f, userOp("a", "alice")), rpcerr.ErrUserExists)

	wantErr(t, c.apply(t, f, keyOp("a", "zed", "k0")), rpcerr.ErrUserNotFound)
	must(keyOp("a", "alice", "k1"))
	must(keyOp("a", "alice", "k2"))
	must(keyOp("a", "bob", "k3"))
	must(keyOp("ab", "carol", "k4"))
	wantErr(t, c.apply(t, f, keyOp("a", "bob", "k1")), rpcerr.ErrInvalidArgument)

	k, err := readKey(t, f, "k1")
	if err != nil || k.GetSecret() != "secret-k1" || !k.GetActive() || k.GetCreatedUnixNano() == 0 {
		t.Fatalf("k1 = %v, %v", k, err)
	}
	err = f.store.view(func(r pebble.Reader) error {
		users, err := listUsers(r, "a")
		if err != nil {
			return err
		}
		if len(users) != 2 || users[0].GetName() != "alice" || users[1].GetName() != "bob" {
			t.Errorf("users of a: %v", users)
		}
		keys, err := listAccessKeys(r, "a", "")
		if err != nil {
			return err
		}
		if len(keys) != 3 {
			t.Errorf("keys of a: %v", keys)
		}
		for _, k := range keys {
			if k.GetSecret() != "" {
				t.Errorf("listing leaks the secret of %s", k.GetAccessKeyId())
			}
		}
		keys, err = listAccessKeys(r, "a", "alice")
		if len(keys) != 2 || keys[0].GetAccessKeyId() != "k1" || keys[1].GetAccessKeyId() != "k2" {
			t.Errorf("keys of alice: %v", keys)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	must(&cairnpb.SetAccessKeyActiveCmd{AccessKeyId: "k2", Active: false})
	if k, _ := readKey(t, f, "k2"); k.GetActive() {
		t.Fatal("k2 still active")
	}
	wantErr(t, c.apply(t, f, &cairnpb.SetAccessKeyActiveCmd{AccessKeyId: "nope"}), rpcerr.ErrKeyNotFound)

	must(&cairnpb.DeleteAccessKeyCmd{AccessKeyId: "k3"})
	_, err = readKey(t, f, "k3")
	wantErr(t, err, rpcerr.ErrKeyNotFound)
	wantErr(t, c.apply(t, f, &cairnpb.DeleteAccessKeyCmd{AccessKeyId: "k3"}), rpcerr.ErrKeyNotFound)

	// Deleting a user takes its keys with it, and only its keys.
	must(&cairnpb.DeleteUserCmd{Namespace: "a", Name: "alice"})
	for _, id := range []string{"k1", "k2"} {
		_, err := readKey(t, f, id)
		wantErr(t, err, rpcerr.ErrKeyNotFound)
	}
	if _, err := readKey(t, f, "k4"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, c.apply(t, f, &cairnpb.DeleteUserCmd{Namespace: "a", Name: "alice"}), rpcerr.ErrUserNotFound)
	for _, e := range dumpStore(t, f.store) {
		if len(e.k) > len(tagUserKey) && e.k[:len(tagUserKey)] == tagUserKey && e.k[len(tagUserKey):len(tagUserKey)+2] == "a\x00" {
			t.Fatalf("index entry %q left behind", e.k)
		}
	}
}

// A random tenancy log gives the same state applied one by one and in
// batches, with the same responses.
func TestFSMTenancyDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	c := &cmdLog{}
	for i := range 1500 {
		ns := fmt.Sprint("ns", rng.IntN(3))
		user := fmt.Sprint("u", rng.IntN(4))
		id := fmt.Sprint("k", rng.IntN(30))
		switch rng.IntN(7) {
		case 0:
			c.add(t, nsOp(ns))
		case 1:
			c.add(t, userOp(ns, user))
		case 2:
			c.add(t, &cairnpb.DeleteUserCmd{Namespace: ns, Name: user})
		case 3, 4:
			c.add(t, keyOp(ns, user, id))
		case 5:
			c.add(t, &cairnpb.SetAccessKeyActiveCmd{AccessKeyId: id, Active: i%2 == 0})
		case 6:
			c.add(t, &cairnpb.DeleteAccessKeyCmd{AccessKeyId: id})
		}
	}
	one, resps := applyBothWays(t, c.logs, rng, 40)
	counts := outcomeCounts(resps)
	t.Logf("outcomes: %v", counts)
	if counts["ok"] == 0 || len(counts) < 5 {
		t.Fatalf("the log exercises too little: %v", counts)
	}
	// The user-key index and the keys agree: every key is indexed under its
	// user, and every index entry names a stored key.
	err := one.store.view(func(r pebble.Reader) error {
		keys := map[string]*cairnpb.AccessKey{}
		if err := scanProtos(r, []byte(tagKey), func() *cairnpb.AccessKey { return &cairnpb.AccessKey{} },
			func(k *cairnpb.AccessKey) { keys[k.GetAccessKeyId()] = k }); err != nil {
			return err
		}
		indexed := 0
		for ns := range 3 {
			ids, err := accessKeyIDs(r, fmt.Sprint("ns", ns), "")
			if err != nil {
				return err
			}
			for _, id := range ids {
				if keys[id] == nil {
					t.Errorf("index names missing key %s", id)
				}
				indexed++
			}
		}
		if indexed != len(keys) {
			t.Errorf("%d keys, %d index entries", len(keys), indexed)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func admin[T any](ctx context.Context, cl *metaclient.Client, f func(context.Context, cairnpb.AdminClient) (T, error)) (T, error) {
	return metaclient.Admin(ctx, cl, f)
}

// Over gRPC, through a follower: the proposer picks IDs and secrets, the
// secret is shown once, and LookupAccessKey sees deactivation and deletion.
func TestTenancyOverGRPC(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := newTestCluster(t, 3, clock.Now)
	ctx := testCtx(t, 60*time.Second)
	c.waitAll(ctx)
	follower := (c.leader(ctx) + 1) % 3
	cl := c.client(follower)

	if _, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateNamespaceResponse, error) {
		return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: "tenant-a"})
	}); err != nil {
		t.Fatal(err)
	}
	_, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateNamespaceResponse, error) {
		return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: "tenant-a"})
	})
	wantErr(t, err, rpcerr.ErrNamespaceExists)
	_, err = admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateNamespaceResponse, error) {
		return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: "Bad_Name"})
	})
	wantErr(t, err, rpcerr.ErrInvalidArgument)
	_, err = admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.GetNamespaceResponse, error) {
		return a.GetNamespace(ctx, &cairnpb.GetNamespaceRequest{Name: "nope"})
	})
	wantErr(t, err, rpcerr.ErrNamespaceNotFound)

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
	wantErr(t, err, rpcerr.ErrKeyNotFound)

	if _, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeleteUserResponse, error) {
		return a.DeleteUser(ctx, &cairnpb.DeleteUserRequest{Namespace: "tenant-a", Name: "alice"})
	}); err != nil {
		t.Fatal(err)
	}
	_, err = lookup(k1.GetAccessKeyId())
	wantErr(t, err, rpcerr.ErrKeyNotFound)
	_, err = admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeleteUserResponse, error) {
		return a.DeleteUser(ctx, &cairnpb.DeleteUserRequest{Namespace: "tenant-a", Name: "alice"})
	})
	wantErr(t, err, rpcerr.ErrUserNotFound)
	c.waitConverged(ctx)
}
