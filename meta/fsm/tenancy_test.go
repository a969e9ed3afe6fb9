package fsm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func keyOp(ns, user, id string) *cairnpb.CreateAccessKeyCmd {
	return &cairnpb.CreateAccessKeyCmd{Key: &cairnpb.AccessKey{
		AccessKeyId: id, Namespace: ns, User: user, Secret: "secret-" + id, Active: true,
	}}
}

func readKey(t *testing.T, f *FSM, id string) (*cairnpb.AccessKey, error) {
	t.Helper()
	var k *cairnpb.AccessKey
	err := f.Store.View(func(r pebble.Reader) error {
		var err error
		k, err = GetAccessKey(r, id)
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
	must(fsmtest.NamespaceOp("a"))
	must(fsmtest.NamespaceOp("ab")) // a prefix of another name must not mix their users
	fsmtest.WantErr(t, c.apply(t, f, fsmtest.NamespaceOp("a")), rpcerr.ErrNamespaceExists)
	fsmtest.WantErr(t, c.apply(t, f, fsmtest.NamespaceOp("")), rpcerr.ErrInvalidArgument)

	fsmtest.WantErr(t, c.apply(t, f, fsmtest.UserOp("nope", "alice")), rpcerr.ErrNamespaceNotFound)
	must(fsmtest.UserOp("a", "alice"))
	must(fsmtest.UserOp("a", "bob"))
	must(fsmtest.UserOp("ab", "carol"))
	fsmtest.WantErr(t, c.apply(t, f, fsmtest.UserOp("a", "alice")), rpcerr.ErrUserExists)

	fsmtest.WantErr(t, c.apply(t, f, keyOp("a", "zed", "k0")), rpcerr.ErrUserNotFound)
	must(keyOp("a", "alice", "k1"))
	must(keyOp("a", "alice", "k2"))
	must(keyOp("a", "bob", "k3"))
	must(keyOp("ab", "carol", "k4"))
	fsmtest.WantErr(t, c.apply(t, f, keyOp("a", "bob", "k1")), rpcerr.ErrInvalidArgument)

	k, err := readKey(t, f, "k1")
	if err != nil || k.GetSecret() != "secret-k1" || !k.GetActive() || k.GetCreatedUnixNano() == 0 {
		t.Fatalf("k1 = %v, %v", k, err)
	}
	err = f.Store.View(func(r pebble.Reader) error {
		users, err := ListUsers(r, "a")
		if err != nil {
			return err
		}
		if len(users) != 2 || users[0].GetName() != "alice" || users[1].GetName() != "bob" {
			t.Errorf("users of a: %v", users)
		}
		keys, err := ListAccessKeys(r, "a", "")
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
		keys, err = ListAccessKeys(r, "a", "alice")
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
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.SetAccessKeyActiveCmd{AccessKeyId: "nope"}), rpcerr.ErrKeyNotFound)

	must(&cairnpb.DeleteAccessKeyCmd{AccessKeyId: "k3"})
	_, err = readKey(t, f, "k3")
	fsmtest.WantErr(t, err, rpcerr.ErrKeyNotFound)
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.DeleteAccessKeyCmd{AccessKeyId: "k3"}), rpcerr.ErrKeyNotFound)

	// Deleting a user takes its keys with it, and only its keys.
	must(&cairnpb.DeleteUserCmd{Namespace: "a", Name: "alice"})
	for _, id := range []string{"k1", "k2"} {
		_, err := readKey(t, f, id)
		fsmtest.WantErr(t, err, rpcerr.ErrKeyNotFound)
	}
	if _, err := readKey(t, f, "k4"); err != nil {
		t.Fatal(err)
	}
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.DeleteUserCmd{Namespace: "a", Name: "alice"}), rpcerr.ErrUserNotFound)
	for _, e := range dumpStore(t, f.Store) {
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
			c.add(t, fsmtest.NamespaceOp(ns))
		case 1:
			c.add(t, fsmtest.UserOp(ns, user))
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
	err := one.Store.View(func(r pebble.Reader) error {
		keys := map[string]*cairnpb.AccessKey{}
		if err := ScanProtos(r, []byte(TagKey), func() *cairnpb.AccessKey { return &cairnpb.AccessKey{} },
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
