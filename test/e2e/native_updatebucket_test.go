package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/test/harness"
)

// updateBucketScript: UpdateBucket through the OCI Python SDK. Metadata,
// versioning and freeform tags change together and GetBucket shows them;
// boto3 sees the same versioning and tag set; a field left out keeps its
// value; fields asking for what Cairn does not have are refused with 501
// and change nothing.
const updateBucketScript = ociScriptPrelude + `
import os, oci, boto3
from botocore.config import Config
from oci.object_storage.models import CreateBucketDetails, UpdateBucketDetails

ns = oc.get_namespace().data
comp = os.environ["TENANCY"]
made = oc.create_bucket(ns, CreateBucketDetails(name="upd", compartment_id=comp)).data
assert made.metadata == {} and made.versioning == "Disabled", made

up = oc.update_bucket(ns, "upd", UpdateBucketDetails(metadata={"team": "storage", "tier": "gold"},
                                                      versioning="Enabled", freeform_tags={"cost": "42"}))
assert up.status == 200 and up.headers["etag"] == made.etag, up.headers
assert up.data.metadata == {"team": "storage", "tier": "gold"} and up.data.versioning == "Enabled", up.data
got = oc.get_bucket(ns, "upd").data
assert got.metadata == {"team": "storage", "tier": "gold"}, got.metadata
assert got.versioning == "Enabled" and got.freeform_tags == {"cost": "42"}, got
assert s3.get_bucket_versioning(Bucket="upd")["Status"] == "Enabled"
assert s3.get_bucket_tagging(Bucket="upd")["TagSet"] == [{"Key": "cost", "Value": "42"}]

# A partial update: only versioning changes; the same name, compartment
# and public access type are no change; if-match holds.
oc.update_bucket(ns, "upd", UpdateBucketDetails(versioning="Suspended", name="upd", compartment_id=comp,
                                                 public_access_type="NoPublicAccess"), if_match=made.etag)
got = oc.get_bucket(ns, "upd").data
assert got.versioning == "Suspended" and got.metadata == {"team": "storage", "tier": "gold"}, got
assert s3.get_bucket_versioning(Bucket="upd")["Status"] == "Suspended"
refused("PreconditionFailed", 412, oc.update_bucket, ns, "upd", UpdateBucketDetails(metadata={}), if_match="0" * 32)

for details in (UpdateBucketDetails(name="upd-renamed"), UpdateBucketDetails(public_access_type="ObjectRead"),
                UpdateBucketDetails(object_events_enabled=True), UpdateBucketDetails(kms_key_id="ocid1.key.oc1..k"),
                UpdateBucketDetails(auto_tiering="InfrequentAccess"), UpdateBucketDetails(compartment_id="ocid1.compartment.oc1..elsewhere"),
                UpdateBucketDetails(metadata={"team": "nobody"}, defined_tags={"ops": {"k": "v"}})):
    refused("NotImplemented", 501, oc.update_bucket, ns, "upd", details)
refused("BucketNotFound", 404, oc.update_bucket, ns, "no-such-bucket", UpdateBucketDetails(metadata={}))
got = oc.get_bucket(ns, "upd").data
assert got.metadata == {"team": "storage", "tier": "gold"} and got.versioning == "Suspended", got

# An empty map removes the metadata.
assert oc.update_bucket(ns, "upd", UpdateBucketDetails(metadata={})).data.metadata == {}
print("ok")
`

// testUpdateBucket runs updateBucketScript as alice, then checks that a
// user who may read buckets but not update them (BUCKET_UPDATE) is
// refused, as OCI refuses, and changes nothing.
func testUpdateBucket(t *testing.T, py string, c *harness.Cluster, k *ociKey, s3key ctlKey) {
	if out := runOCI(t, py, c, k, s3key.AccessKeyID, s3key.Secret, updateBucketScript); strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("script printed %q", out)
	}
	// The SDK refuses versioning "Disabled" itself; Cairn does too, on a
	// bucket that was versioned.
	req, err := http.NewRequest(http.MethodPost, c.Endpoint+"/n/ocitenant/b/upd/", nil)
	if err != nil {
		t.Fatal(err)
	}
	signedRequest(t, req, k, k.KeyID, time.Now(), []byte(`{"versioning":"Disabled"}`), nil)
	if status, code := ociError(t, req); status != 400 || code != "InvalidParameter" {
		t.Fatalf("versioning Disabled after Suspended: %d %q", status, code)
	}
	ctl(t, c, "user", "create", "-n", "ocitenant", "vera")
	ctl(t, c, "group", "create", "-n", "ocitenant", "bucket-readers")
	ctl(t, c, "group", "add-user", "-n", "ocitenant", "bucket-readers", "vera")
	ctl(t, c, "policy", "create", "-n", "ocitenant", "read-buckets", "--statement", "Allow group bucket-readers to read buckets in tenancy")
	vera := uploadAPIKey(t, c, "ocitenant", "vera")
	do := func(method string, body []byte) *http.Response {
		req, err := http.NewRequest(method, c.Endpoint+"/n/ocitenant/b/upd/", nil)
		if err != nil {
			t.Fatal(err)
		}
		signedRequest(t, req, vera, vera.KeyID, time.Now(), body, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	var e struct{ Code string }
	resp := do(http.MethodPost, []byte(`{"versioning":"Enabled","metadata":{"by":"vera"}}`))
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 404 || e.Code != "NotAuthorizedOrNotFound" {
		t.Fatalf("UpdateBucket without BUCKET_UPDATE: %d %q %v", resp.StatusCode, e.Code, err)
	}
	var b struct {
		Versioning string
		Metadata   map[string]string
	}
	resp = do(http.MethodGet, nil)
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GetBucket with BUCKET_READ: %d %v", resp.StatusCode, err)
	}
	if b.Versioning != "Suspended" || len(b.Metadata) != 0 {
		t.Fatalf("a refused update changed the bucket: %+v", b)
	}
}
