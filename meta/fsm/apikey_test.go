package fsm

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func TestFSMAPIKeys(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	must := func(op any) {
		t.Helper()
		if err := c.apply(t, f, op); err != nil {
			t.Fatalf("%T: %v", op, err)
		}
	}
	nsOCID, _ := NewOCID("tenancy")
	must(&cairnpb.CreateNamespaceCmd{Namespace: &cairnpb.Namespace{Name: "a", Ocid: nsOCID}})
	must(fsmtest.UserOp("a", "alice")) // from before OCIDs: gets one with its first key
	upload := func(user, fp string) error {
		uo, _ := NewOCID("user")
		other, _ := NewOCID("tenancy")
		return c.apply(t, f, &cairnpb.UploadAPIKeyCmd{
			Key:      &cairnpb.APIKey{Namespace: "a", User: user, Fingerprint: fp, PublicKeyPem: "pem-" + fp},
			UserOcid: uo, NamespaceOcid: other,
		})
	}
	for _, fp := range []string{"f1", "f2", "f3"} {
		if err := upload("alice", fp); err != nil {
			t.Fatal(err)
		}
	}
	fsmtest.WantErr(t, upload("alice", "f4"), rpcerr.ErrInvalidArgument) // OCI's limit: 3
	fsmtest.WantErr(t, upload("alice", "f1"), rpcerr.ErrInvalidArgument) // twice
	fsmtest.WantErr(t, upload("nobody", "f1"), rpcerr.ErrUserNotFound)

	var u *cairnpb.User
	var n *cairnpb.Namespace
	view := func() {
		t.Helper()
		if err := f.Store.View(func(r pebble.Reader) error {
			var err error
			if n, err = GetNamespace(r, "a"); err != nil {
				return err
			}
			u, err = GetUser(r, "a", "alice")
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	view()
	if n.GetOcid() != nsOCID || !validOCID("user", u.GetOcid()) {
		t.Fatalf("OCIDs: namespace %q (want %q kept), user %q", n.GetOcid(), nsOCID, u.GetOcid())
	}
	firstUserOCID := u.GetOcid()
	if err := upload("alice", "f5"); err == nil {
		t.Fatal("fourth key accepted")
	}
	must(&cairnpb.DeleteAPIKeyCmd{Namespace: "a", User: "alice", Fingerprint: "f2"})
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.DeleteAPIKeyCmd{Namespace: "a", User: "alice", Fingerprint: "f2"}), rpcerr.ErrKeyNotFound)
	if err := upload("alice", "f5"); err != nil {
		t.Fatal(err)
	}
	view()
	if u.GetOcid() != firstUserOCID {
		t.Fatalf("user OCID changed from %q to %q", firstUserOCID, u.GetOcid())
	}
	// Deleting the user deletes its keys and its OCID.
	must(&cairnpb.DeleteUserCmd{Namespace: "a", Name: "alice"})
	if err := f.Store.View(func(r pebble.Reader) error {
		keys, err := ListAPIKeys(r, "a", "alice")
		if err != nil || len(keys) != 0 {
			return fmt.Errorf("keys left: %v %v", keys, err)
		}
		_, err = ResolveOCID(r, firstUserOCID)
		if !errors.Is(err, rpcerr.ErrKeyNotFound) {
			return fmt.Errorf("user OCID still resolves: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestFSMCreateBucketInCompartment: the native API names a bucket's
// compartment, which must exist; "root" is stored as the root ("").
func TestFSMCreateBucketInCompartment(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	if err := c.apply(t, f, fsmtest.NamespaceOp("a")); err != nil {
		t.Fatal(err)
	}
	in := func(name, comp string, id byte) error {
		op := fsmtest.CreateBucketOp("a", name, id)
		op.Bucket.Compartment = comp
		return c.apply(t, f, op)
	}
	fsmtest.WantErr(t, in("b1", "missing", 1), rpcerr.ErrCompartmentNotFound)
	if err := in("b2", "root", 2); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.View(func(r pebble.Reader) error {
		b, err := GetBucket(r, "a", "b2")
		if err == nil && b.GetCompartment() != "" {
			err = fmt.Errorf("compartment %q, want the root stored as \"\"", b.GetCompartment())
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
