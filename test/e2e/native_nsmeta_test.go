package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/test/harness"
)

// compartmentOCIDs returns the OCID of each compartment of ns (the root's
// is the tenancy's), as `cairnctl compartment list -o json` shows them.
func compartmentOCIDs(t *testing.T, c *harness.Cluster, ns string) map[string]string {
	t.Helper()
	var comps []struct{ Name, OCID string }
	if err := json.Unmarshal(ctl(t, c, "compartment", "list", "-n", ns, "-o", "json"), &comps); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, cm := range comps {
		out[cm.Name] = cm.OCID
	}
	return out
}

// namespaceMetadataScript: the OCI SDK reads the namespace's metadata,
// moves its S3 compartment by OCID, and finds a bucket boto3 then makes
// there; it makes and lists buckets by compartment OCID.
const namespaceMetadataScript = ociScriptPrelude + `
import os, oci, boto3
from botocore.config import Config
from oci.object_storage.models import CreateBucketDetails, UpdateNamespaceMetadataDetails
ns = oc.get_namespace().data
tenancy, s3home, eng = os.environ["TENANCY"], os.environ["S3HOME"], os.environ["ENG"]
def names(comp):
    return [b.name for b in oc.list_buckets(ns, comp).data]

md = oc.get_namespace_metadata(ns).data
assert (md.namespace, md.default_s3_compartment_id, md.default_swift_compartment_id) == (ns, tenancy, tenancy), md
md = oc.update_namespace_metadata(ns, UpdateNamespaceMetadataDetails(default_s3_compartment_id=s3home)).data
assert md.namespace == ns and md.default_s3_compartment_id == s3home, md
assert oc.get_namespace_metadata(ns).data.default_s3_compartment_id == s3home

s3.create_bucket(Bucket="s3-landed")
assert names(s3home) == ["s3-landed"], names(s3home)
assert "s3-landed" not in names(tenancy)
assert oc.get_bucket(ns, "s3-landed").data.compartment_id == s3home

b = oc.create_bucket(ns, CreateBucketDetails(name="by-ocid", compartment_id=eng)).data
assert b.compartment_id == eng, b
assert "by-ocid" in names(eng) and "by-ocid" not in names(s3home)
assert oc.get_bucket(ns, "by-ocid").data.compartment_id == eng
try:
    oc.list_buckets(ns, "ocid1.compartment.oc1..nosuchcompartment")
    raise AssertionError("a compartment that does not exist listed")
except oci.exceptions.ServiceError as e:
    assert (e.status, e.code) == (404, "NotAuthorizedOrNotFound"), (e.status, e.code)
for name in ("s3-landed", "by-ocid"):
    oc.delete_bucket(ns, name)
print("ok")
`

// testNamespaceMetadata: compartments and groups have OCIDs cairnctl
// shows; GetNamespaceMetadata answers the designated S3 compartment's OCID
// and UpdateNamespaceMetadata moves it, for a user with
// OBJECTSTORAGE_NAMESPACE_UPDATE in the tenancy only.
func testNamespaceMetadata(t *testing.T, py string, c *harness.Cluster, k *ociKey, s3key ctlKey) {
	ctl(t, c, "compartment", "create", "-n", "ocitenant", "s3home")
	ocids := compartmentOCIDs(t, c, "ocitenant")
	if ocids["root"] != k.TenancyOCID {
		t.Fatalf("the root compartment's OCID is %q, want the tenancy's %q", ocids["root"], k.TenancyOCID)
	}
	for _, name := range []string{"eng", "s3home"} {
		if !strings.HasPrefix(ocids[name], "ocid1.compartment.oc1..") {
			t.Fatalf("compartment %s has OCID %q", name, ocids[name])
		}
	}
	if table := string(ctl(t, c, "compartment", "list", "-n", "ocitenant")); !strings.Contains(table, ocids["s3home"]) {
		t.Fatalf("compartment list does not show OCIDs:\n%s", table)
	}
	var groups []struct{ Name, OCID string }
	if err := json.Unmarshal(ctl(t, c, "group", "list", "-n", "ocitenant", "-o", "json"), &groups); err != nil || len(groups) == 0 {
		t.Fatalf("group list: %v %v", groups, err)
	}
	for _, g := range groups {
		if !strings.HasPrefix(g.OCID, "ocid1.group.oc1..") {
			t.Fatalf("group %s has OCID %q", g.Name, g.OCID)
		}
	}
	if table := string(ctl(t, c, "group", "list", "-n", "ocitenant")); !strings.Contains(table, groups[0].OCID) {
		t.Fatalf("group list does not show OCIDs:\n%s", table)
	}

	t.Setenv("S3HOME", ocids["s3home"])
	t.Setenv("ENG", ocids["eng"])
	if out := runOCI(t, py, c, k, s3key.AccessKeyID, s3key.Secret, namespaceMetadataScript); strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("script printed %q", out)
	}

	// Managing everything in a compartment is not managing the namespace:
	// dave may neither read nor move the S3 compartment.
	ctl(t, c, "user", "create", "-n", "ocitenant", "dave")
	ctl(t, c, "group", "create", "-n", "ocitenant", "s3home-admins")
	ctl(t, c, "group", "add-user", "-n", "ocitenant", "s3home-admins", "dave")
	ctl(t, c, "policy", "create", "-n", "ocitenant", "s3home-admins", "--statement", "Allow group s3home-admins to manage all-resources in compartment s3home")
	dave := uploadAPIKey(t, c, "ocitenant", "dave")
	metadata := func(who *ociKey, method string, body []byte) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest(method, c.Endpoint+"/n/ocitenant", nil)
		if err != nil {
			t.Fatal(err)
		}
		signedRequest(t, req, who, who.KeyID, time.Now(), body, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Code                   string `json:"code"`
			DefaultS3CompartmentID string `json:"defaultS3CompartmentId"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Code, out.DefaultS3CompartmentID
	}
	move := []byte(`{"defaultS3CompartmentId":"` + ocids["eng"] + `"}`)
	if status, code, _ := metadata(dave, http.MethodPut, move); status != 404 || code != "NotAuthorizedOrNotFound" {
		t.Errorf("dave's UpdateNamespaceMetadata: %d %q, want 404 NotAuthorizedOrNotFound", status, code)
	}
	if status, code, _ := metadata(dave, http.MethodGet, nil); status != 404 || code != "NotAuthorizedOrNotFound" {
		t.Errorf("dave's GetNamespaceMetadata: %d %q, want 404 NotAuthorizedOrNotFound", status, code)
	}
	if status, _, got := metadata(k, http.MethodGet, nil); status != 200 || got != ocids["s3home"] {
		t.Errorf("after dave's refused update: %d, S3 compartment %q, want %q", status, got, ocids["s3home"])
	}
	// Back to the root, for the subtests that follow.
	if status, _, got := metadata(k, http.MethodPut, []byte(`{"defaultS3CompartmentId":"`+k.TenancyOCID+`"}`)); status != 200 || got != k.TenancyOCID {
		t.Fatalf("move back to the root: %d %q", status, got)
	}
}
