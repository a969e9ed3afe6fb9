package fsm

import (
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func TestNewOCIDShape(t *testing.T) {
	for _, kind := range []string{OCIDTenancy, OCIDUser, OCIDCompartment, OCIDGroup} {
		a, err := NewOCID(kind)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := NewOCID(kind)
		if !validOCID(kind, a) || a == b || len(a) != len("ocid1."+kind+".oc1..")+48 {
			t.Errorf("%s: %q, %q", kind, a, b)
		}
		if validOCID(OCIDUser, a) != (kind == OCIDUser) {
			t.Errorf("%q passes for a user OCID", a)
		}
	}
	d := derivedOCID(OCIDGroup, "ns", "g")
	if !validOCID(OCIDGroup, d) || d != derivedOCID(OCIDGroup, "ns", "g") ||
		d == derivedOCID(OCIDGroup, "ns2", "g") || d == derivedOCID(OCIDGroup, "ns", "g2") ||
		strings.TrimPrefix(d, "ocid1.group") == strings.TrimPrefix(derivedOCID(OCIDCompartment, "ns", "g"), "ocid1.compartment") {
		t.Errorf("derived OCIDs: %q", d)
	}
}

// Compartments and groups keep the OCID their proposer drew; one drawn
// badly or twice is refused; records from before OCIDs read with a
// derived one that never changes, even once the record is written again.
func TestCompartmentAndGroupOCIDs(t *testing.T) {
	f := newTestFSM(t)
	c := &cmdLog{}
	must := func(op any) {
		t.Helper()
		if err := c.apply(t, f, op); err != nil {
			t.Fatalf("%T: %v", op, err)
		}
	}
	must(fsmtest.NamespaceOp("a"))
	must(fsmtest.UserOp("a", "alice"))
	engOCID, _ := NewOCID(OCIDCompartment)
	readersOCID, _ := NewOCID(OCIDGroup)
	comp := func(name, ocid string) *cairnpb.CreateCompartmentCmd {
		op := compOp("a", name, "")
		op.Compartment.Ocid = ocid
		return op
	}
	group := func(name, ocid string) *cairnpb.CreateGroupCmd {
		return &cairnpb.CreateGroupCmd{Group: &cairnpb.Group{Namespace: "a", Name: name, Ocid: ocid}}
	}
	must(comp("eng", engOCID))
	must(comp("old", "")) // proposed by a Cairn from before OCIDs
	must(group("readers", readersOCID))
	must(group("oldies", ""))
	for _, op := range []any{
		comp("x", engOCID),     // taken
		comp("x", readersOCID), // a group's kind
		comp("x", "ocid1.compartment.oc1..UPPER"),
		comp("x", "eng"),
		group("x", readersOCID),
		group("x", engOCID),
	} {
		fsmtest.WantErr(t, c.apply(t, f, op), rpcerr.ErrInvalidArgument)
	}

	read := func() (comps map[string]string, groups map[string]string) {
		t.Helper()
		comps, groups = map[string]string{}, map[string]string{}
		err := f.Store.View(func(r pebble.Reader) error {
			cs, err := ListCompartments(r, "a")
			if err != nil {
				return err
			}
			for _, c := range cs {
				comps[c.GetName()] = c.GetOcid()
			}
			gs, err := ListGroups(r, "a")
			for _, g := range gs {
				groups[g.GetName()] = g.GetOcid()
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return comps, groups
	}
	comps, groups := read()
	oldComp, oldGroup := derivedOCID(OCIDCompartment, "a", "old"), derivedOCID(OCIDGroup, "a", "oldies")
	if len(comps) != 2 || comps["eng"] != engOCID || comps["old"] != oldComp || !validOCID(OCIDCompartment, oldComp) {
		t.Fatalf("compartment OCIDs: %v", comps)
	}
	if len(groups) != 2 || groups["readers"] != readersOCID || groups["oldies"] != oldGroup || !validOCID(OCIDGroup, oldGroup) {
		t.Fatalf("group OCIDs: %v", groups)
	}
	// A derived OCID is taken like a stored one.
	fsmtest.WantErr(t, c.apply(t, f, comp("x", oldComp)), rpcerr.ErrInvalidArgument)

	// Writing the old group again (a member joins) stores the OCID it
	// was read with; the lookups gateways authorize with carry them.
	must(memberOp("a", "oldies", "alice", true))
	err := f.Store.View(func(r pebble.Reader) error {
		raw := &cairnpb.Group{}
		if _, err := GetProto(r, groupKey("a", "oldies"), raw); err != nil {
			return err
		}
		if raw.GetOcid() != oldGroup {
			t.Errorf("old group stored with OCID %q after a write, want %q", raw.GetOcid(), oldGroup)
		}
		rawComp := &cairnpb.Compartment{}
		if _, err := GetProto(r, compartmentKey("a", "old"), rawComp); err != nil {
			return err
		}
		if rawComp.GetOcid() != "" {
			t.Errorf("reading an old compartment stored %q", rawComp.GetOcid())
		}
		resp := &cairnpb.LookupAccessKeyResponse{}
		if err := AuthorizationOf(r, "a", "alice", resp); err != nil {
			return err
		}
		for _, c := range resp.GetCompartments() {
			if c.GetOcid() != comps[c.GetName()] {
				t.Errorf("lookup: compartment %s with OCID %q, want %q", c.GetName(), c.GetOcid(), comps[c.GetName()])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if comps2, groups2 := read(); comps2["old"] != oldComp || groups2["oldies"] != oldGroup {
		t.Fatalf("OCIDs changed: %v %v", comps2, groups2)
	}
}
