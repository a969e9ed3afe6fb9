package fsm

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func compOp(ns, name, parent string) *cairnpb.CreateCompartmentCmd {
	return &cairnpb.CreateCompartmentCmd{Compartment: &cairnpb.Compartment{Namespace: ns, Name: name, Parent: parent}}
}

func policyOp(ns, name string, statements ...string) *cairnpb.CreatePolicyCmd {
	return &cairnpb.CreatePolicyCmd{Policy: &cairnpb.Policy{Namespace: ns, Name: name, Statements: statements}}
}

func memberOp(ns, group, user string, member bool) *cairnpb.SetGroupMemberCmd {
	return &cairnpb.SetGroupMemberCmd{Namespace: ns, Group: group, User: user, Member: member}
}

func TestFSMIAMCommands(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	must := func(op any) {
		t.Helper()
		if err := c.apply(t, f, op); err != nil {
			t.Fatalf("%T: %v", op, err)
		}
	}
	must(fsmtest.NamespaceOp("a"))
	must(fsmtest.NamespaceOp("b"))
	must(fsmtest.UserOp("a", "alice"))
	must(fsmtest.UserOp("a", "bob"))

	// Compartments: a tree under the implicit root.
	fsmtest.WantErr(t, c.apply(t, f, compOp("nope", "eng", "")), rpcerr.ErrNamespaceNotFound)
	must(compOp("a", "eng", ""))
	must(compOp("a", "ml", "eng"))
	fsmtest.WantErr(t, c.apply(t, f, compOp("a", "eng", "")), rpcerr.ErrCompartmentExists)
	fsmtest.WantErr(t, c.apply(t, f, compOp("a", "root", "")), rpcerr.ErrCompartmentExists)
	fsmtest.WantErr(t, c.apply(t, f, compOp("a", "x", "missing")), rpcerr.ErrCompartmentNotFound)
	fsmtest.WantErr(t, c.apply(t, f, compOp("a", "bad name", "")), rpcerr.ErrInvalidArgument)
	fsmtest.WantErr(t, c.apply(t, f, compOp("b", "x", "eng")), rpcerr.ErrCompartmentNotFound) // another namespace's

	// Groups and members.
	must(&cairnpb.CreateGroupCmd{Group: &cairnpb.Group{Namespace: "a", Name: "readers"}})
	must(&cairnpb.CreateGroupCmd{Group: &cairnpb.Group{Namespace: "a", Name: "writers"}})
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.CreateGroupCmd{Group: &cairnpb.Group{Namespace: "a", Name: "readers"}}), rpcerr.ErrGroupExists)
	must(memberOp("a", "readers", "bob", true))
	must(memberOp("a", "readers", "alice", true))
	must(memberOp("a", "readers", "alice", true)) // idempotent
	must(memberOp("a", "writers", "alice", true))
	fsmtest.WantErr(t, c.apply(t, f, memberOp("a", "readers", "zed", true)), rpcerr.ErrUserNotFound)
	fsmtest.WantErr(t, c.apply(t, f, memberOp("a", "nope", "alice", true)), rpcerr.ErrGroupNotFound)
	fsmtest.WantErr(t, c.apply(t, f, memberOp("b", "readers", "alice", true)), rpcerr.ErrGroupNotFound)

	// Policies: checked when created.
	fsmtest.WantErr(t, c.apply(t, f, policyOp("a", "p", "Allow group ghosts to read objects in tenancy")), rpcerr.ErrGroupNotFound)
	fsmtest.WantErr(t, c.apply(t, f, policyOp("a", "p", "Allow group readers to read objects in compartment nowhere")), rpcerr.ErrCompartmentNotFound)
	err := c.apply(t, f, policyOp("a", "p", "Allow group readers to read objects in tenancy", "Allow group readers to reed objects in tenancy"))
	fsmtest.WantErr(t, err, rpcerr.ErrInvalidArgument)
	if !strings.Contains(err.Error(), "line 2, column 24") {
		t.Fatalf("parse error without its position: %v", err)
	}
	must(policyOp("a", "p", "Allow group readers to read objects in tenancy # comment", "allow group writers to manage objects in compartment eng; Allow group writers to read buckets in compartment ml"))
	must(policyOp("a", "q", "Allow group writers to inspect buckets in compartment root where target.bucket.name = 'x'"))
	fsmtest.WantErr(t, c.apply(t, f, policyOp("a", "p", "Allow group readers to read objects in tenancy")), rpcerr.ErrPolicyExists)
	fsmtest.WantErr(t, c.apply(t, f, policyOp("b", "p", "Allow group readers to read objects in tenancy")), rpcerr.ErrGroupNotFound)

	lookup := func(user string) *cairnpb.LookupAccessKeyResponse {
		t.Helper()
		resp := &cairnpb.LookupAccessKeyResponse{}
		if err := f.Store.View(func(r pebble.Reader) error { return AuthorizationOf(r, "a", user, resp) }); err != nil {
			t.Fatal(err)
		}
		return resp
	}
	alice := lookup("alice")
	if !reflect.DeepEqual(alice.GetGroups(), []string{"readers", "writers"}) || len(alice.GetStatements()) != 4 || len(alice.GetCompartments()) != 2 {
		t.Fatalf("alice: %v", alice)
	}
	if bob := lookup("bob"); !reflect.DeepEqual(bob.GetStatements(), []string{"Allow group readers to read objects in tenancy"}) {
		t.Fatalf("bob's statements: %q", bob.GetStatements())
	}

	// Removing a member, deleting a user and deleting a policy all take
	// rights away.
	must(memberOp("a", "writers", "alice", false))
	fsmtest.WantErr(t, c.apply(t, f, memberOp("a", "writers", "alice", false)), rpcerr.ErrUserNotFound)
	if got := lookup("alice").GetGroups(); !reflect.DeepEqual(got, []string{"readers"}) {
		t.Fatalf("alice's groups after removal: %v", got)
	}
	must(&cairnpb.DeletePolicyCmd{Namespace: "a", Name: "p"})
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.DeletePolicyCmd{Namespace: "a", Name: "p"}), rpcerr.ErrPolicyNotFound)
	if got := lookup("bob").GetStatements(); len(got) != 0 {
		t.Fatalf("bob's statements after delete: %q", got)
	}
	must(&cairnpb.DeleteUserCmd{Namespace: "a", Name: "bob"})
	must(fsmtest.UserOp("a", "bob"))
	if got := lookup("bob").GetGroups(); len(got) != 0 {
		t.Fatalf("a new bob inherits the old one's groups: %v", got)
	}

	// The S3 compartment: root until designated; then new buckets go there.
	must(fsmtest.CreateBucketOp("a", "before", 1))
	fsmtest.WantErr(t, c.apply(t, f, &cairnpb.SetS3CompartmentCmd{Namespace: "a", Compartment: "nope"}), rpcerr.ErrCompartmentNotFound)
	must(&cairnpb.SetS3CompartmentCmd{Namespace: "a", Compartment: "ml"})
	must(fsmtest.CreateBucketOp("a", "after", 2))
	must(fsmtest.CreateBucketOp("b", "other", 3))
	err = f.Store.View(func(r pebble.Reader) error {
		for _, want := range []struct{ ns, bucket, comp string }{{"a", "before", ""}, {"a", "after", "ml"}, {"b", "other", ""}} {
			bk, err := GetBucket(r, want.ns, want.bucket)
			if err != nil {
				return err
			}
			if bk.GetCompartment() != want.comp {
				t.Errorf("bucket %s/%s in compartment %q, want %q", want.ns, want.bucket, bk.GetCompartment(), want.comp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	must(&cairnpb.SetS3CompartmentCmd{Namespace: "a", Compartment: "root"})
	if got := lookup("alice").GetS3Compartment(); got != "" {
		t.Fatalf("S3 compartment back at root reads %q", got)
	}
}

// A random authorization log gives the same state applied one by one and
// in batches, and no group ever lists a user that does not exist.
func TestFSMIAMDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	c := &cmdLog{}
	verbs := []string{"inspect", "read", "use", "manage", "reed"}
	for i := range 1500 {
		ns := fmt.Sprint("ns", rng.IntN(2))
		user := fmt.Sprint("u", rng.IntN(4))
		group := fmt.Sprint("g", rng.IntN(3))
		comp := fmt.Sprint("c", rng.IntN(4))
		switch rng.IntN(10) {
		case 0:
			c.add(t, fsmtest.NamespaceOp(ns))
		case 1:
			c.add(t, fsmtest.UserOp(ns, user))
		case 2:
			c.add(t, &cairnpb.DeleteUserCmd{Namespace: ns, Name: user})
		case 3:
			c.add(t, compOp(ns, comp, fmt.Sprint("c", rng.IntN(4))))
		case 4:
			c.add(t, &cairnpb.CreateGroupCmd{Group: &cairnpb.Group{Namespace: ns, Name: group}})
		case 5:
			c.add(t, memberOp(ns, group, user, rng.IntN(3) > 0))
		case 6:
			st := fmt.Sprintf("Allow group %s to %s objects in compartment %s", group, verbs[rng.IntN(len(verbs))], comp)
			c.add(t, policyOp(ns, fmt.Sprint("p", rng.IntN(3)), st))
		case 7:
			c.add(t, &cairnpb.DeletePolicyCmd{Namespace: ns, Name: fmt.Sprint("p", rng.IntN(3))})
		case 8:
			c.add(t, &cairnpb.SetS3CompartmentCmd{Namespace: ns, Compartment: comp})
		case 9:
			c.add(t, fsmtest.CreateBucketOp(ns, fmt.Sprint("b", i), byte(i)))
		}
	}
	one, resps := applyBothWays(t, c.logs, rng, 40)
	if ok := outcomeCounts(resps)["ok"]; ok < 100 {
		t.Fatalf("only %d commands succeeded", ok)
	}
	err := one.Store.View(func(r pebble.Reader) error {
		for ns := range 2 {
			groups, err := ListGroups(r, fmt.Sprint("ns", ns))
			if err != nil {
				return err
			}
			for _, g := range groups {
				for _, m := range g.GetMembers() {
					if _, err := GetUser(r, g.GetNamespace(), m); err != nil {
						t.Errorf("group %s/%s lists %s: %v", g.GetNamespace(), g.GetName(), m, err)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
