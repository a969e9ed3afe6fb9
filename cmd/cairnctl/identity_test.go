package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Compartment and group listings show each one's OCID, in the table and
// in -o json.
func TestCompartmentAndGroupOCIDsShown(t *testing.T) {
	comps := []*cairnpb.Compartment{
		{Namespace: "acme", Name: "root", Ocid: "ocid1.tenancy.oc1..t"},
		{Namespace: "acme", Name: "web", Parent: "root", Ocid: "ocid1.compartment.oc1..w"},
	}
	groups := []*cairnpb.Group{{Namespace: "acme", Name: "devs", Members: []string{"alice"}, Ocid: "ocid1.group.oc1..d"}}
	var table, js bytes.Buffer
	if err := writeCompartments(&table, "", comps, "web"); err != nil {
		t.Fatal(err)
	}
	if err := writeGroups(&table, "", groups); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"OCID", "ocid1.tenancy.oc1..t", "ocid1.compartment.oc1..w", "ocid1.group.oc1..d"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if err := writeCompartments(&js, "json", comps, "web"); err != nil {
		t.Fatal(err)
	}
	var gotComps []compartmentJSON
	if err := json.Unmarshal(js.Bytes(), &gotComps); err != nil || len(gotComps) != 2 ||
		gotComps[1].OCID != "ocid1.compartment.oc1..w" || !gotComps[1].S3Default || gotComps[0].OCID != "ocid1.tenancy.oc1..t" {
		t.Fatalf("compartments JSON: %+v %v\n%s", gotComps, err, js.String())
	}
	js.Reset()
	if err := writeGroups(&js, "json", groups); err != nil {
		t.Fatal(err)
	}
	var gotGroups []groupJSON
	if err := json.Unmarshal(js.Bytes(), &gotGroups); err != nil || len(gotGroups) != 1 || gotGroups[0].OCID != "ocid1.group.oc1..d" {
		t.Fatalf("groups JSON: %+v %v\n%s", gotGroups, err, js.String())
	}
}
