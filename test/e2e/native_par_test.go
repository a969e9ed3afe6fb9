package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/test/harness"
)

// parScript: the OCI SDK, as carol, makes the buckets and objects the PAR
// tests use, and the PARs: an ObjectRead, an ObjectWrite, a prefix
// AnyObjectRead with listing, one that expires in a few seconds, and one
// it deletes at once. It checks Get and List, which never show a token,
// and prints the access URIs as JSON.
const parScript = `
import os, json, datetime, oci
from oci.object_storage.models import CreateBucketDetails, CreatePreauthenticatedRequestDetails as PAR
cfg = {"tenancy": os.environ["TENANCY"], "user": os.environ["USER"], "fingerprint": os.environ["FINGERPRINT"],
       "key_file": os.environ["KEY_FILE"], "region": "us-ashburn-1"}
oc = oci.object_storage.ObjectStorageClient(cfg, service_endpoint=os.environ["EP"],
                                            retry_strategy=oci.retry.NoneRetryStrategy())
def refused(code, status, f, *a, **kw):
    try:
        f(*a, **kw)
    except oci.exceptions.ServiceError as e:
        assert (e.code, e.status) == (code, status), (e.code, e.status, e.message)
        return
    raise AssertionError("%s succeeded" % f.__name__)

ns = oc.get_namespace().data
for b in ("par-bucket", "par-other"):
    oc.create_bucket(ns, CreateBucketDetails(name=b, compartment_id=os.environ["TENANCY"]))
for name, body in (("shared/a.txt", b"alpha"), ("shared/b.txt", b"bravo"), ("secret.txt", b"SECRET"), ("other/x.txt", b"x")):
    oc.put_object(ns, "par-bucket", name, body)
oc.put_object(ns, "par-other", "shared/a.txt", b"OTHER")
now = datetime.datetime.now(datetime.timezone.utc)
hour = now + datetime.timedelta(hours=1)
out = {}
def make(key, **kw):
    p = oc.create_preauthenticated_request(ns, "par-bucket", PAR(**kw)).data
    assert p.access_uri.startswith("/p/") and p.full_path.endswith(p.access_uri), p
    assert p.access_type == kw["access_type"] and p.name == kw["name"] and p.time_expires > now, p
    out[key] = {"uri": p.access_uri, "id": p.id}
    return p
r = make("read", name="read-a", object_name="shared/a.txt", access_type="ObjectRead", time_expires=hour)
assert r.access_uri.endswith("/n/%s/b/par-bucket/o/shared%%2Fa.txt" % ns) or r.access_uri.endswith("/n/%s/b/par-bucket/o/shared/a.txt" % ns), r.access_uri
make("write", name="write-upload", object_name="upload.bin", access_type="ObjectWrite", time_expires=hour)
l = make("list", name="list-shared", object_name="shared/", access_type="AnyObjectRead", bucket_listing_action="ListObjects", time_expires=hour)
assert l.access_uri.endswith("/n/%s/b/par-bucket/o/" % ns) and l.bucket_listing_action == "ListObjects", l
make("expiring", name="soon", object_name="shared/a.txt", access_type="ObjectRead", time_expires=now + datetime.timedelta(seconds=3))
d = make("deleted", name="gone", object_name="shared/a.txt", access_type="ObjectRead", time_expires=hour)

g = oc.get_preauthenticated_request(ns, "par-bucket", r.id).data
assert g.id == r.id and g.object_name == "shared/a.txt" and g.access_type == "ObjectRead" and not hasattr(g, "access_uri"), g
names = sorted(x.name for x in oc.list_preauthenticated_requests(ns, "par-bucket").data)
assert names == ["gone", "list-shared", "read-a", "soon", "write-upload"], names
names = sorted(x.name for x in oc.list_preauthenticated_requests(ns, "par-bucket", object_name_prefix="shared/").data)
assert names == ["gone", "list-shared", "read-a", "soon"], names
assert oc.delete_preauthenticated_request(ns, "par-bucket", d.id).status == 204
refused("NotAuthorizedOrNotFound", 404, oc.get_preauthenticated_request, ns, "par-bucket", d.id)
refused("InvalidParameter", 400, oc.create_preauthenticated_request, ns, "par-bucket",
        PAR(name="bad", object_name="x", access_type="ObjectRead", time_expires=now - datetime.timedelta(hours=1)))
refused("InvalidParameter", 400, oc.create_preauthenticated_request, ns, "par-bucket",
        PAR(name="bad", access_type="ObjectRead", time_expires=hour))
print(json.dumps(out))
`

// readUploadScript: the SDK reads what a PAR put.
const readUploadScript = `
import os, oci
cfg = {"tenancy": os.environ["TENANCY"], "user": os.environ["USER"], "fingerprint": os.environ["FINGERPRINT"],
       "key_file": os.environ["KEY_FILE"], "region": "us-ashburn-1"}
oc = oci.object_storage.ObjectStorageClient(cfg, service_endpoint=os.environ["EP"],
                                            retry_strategy=oci.retry.NoneRetryStrategy())
print(oc.get_object(oc.get_namespace().data, "par-bucket", "upload.bin").data.content.decode())
`

// curlDo runs the real curl binary, with no credentials, and returns the
// status and body. The path is sent as given (--path-as-is, -g).
func curlDo(t *testing.T, method, url string, body []byte, headers ...string) (int, []byte) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := []string{"-sS", "--path-as-is", "-g", "-X", method, "-o", out, "-w", "%{http_code}"}
	if method == http.MethodHead {
		args = []string{"-sS", "--path-as-is", "-g", "-I", "-o", out, "-w", "%{http_code}"}
	}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	if body != nil {
		in := filepath.Join(dir, "in")
		if err := os.WriteFile(in, body, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--data-binary", "@"+in)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("curl", append(args, url)...)
	cmd.Stderr = &stderr
	code, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %s %s: %v: %s", method, url, err, stderr.String())
	}
	status, err := strconv.Atoi(strings.TrimSpace(string(code)))
	if err != nil {
		t.Fatalf("curl %s %s: status %q", method, url, code)
	}
	got, _ := os.ReadFile(out)
	return status, got
}

// testPARs: pre-authenticated requests, made by the OCI SDK and used by
// curl with no credentials; their scope, expiry, deletion, and the
// creator's rights at the time of use.
func testPARs(t *testing.T, py string, c *harness.Cluster) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is required")
	}
	ctl(t, c, "user", "create", "-n", "ocitenant", "carol")
	grantAll(t, c, "ocitenant", "carol")
	carol := uploadAPIKey(t, c, "ocitenant", "carol")
	var pars map[string]struct{ URI, ID string }
	if err := json.Unmarshal(runOCI(t, py, c, carol, "", "", parScript), &pars); err != nil {
		t.Fatal(err)
	}
	uri := func(which string) string { return c.Endpoint + pars[which].URI }
	token := func(which string) string { return strings.SplitN(pars[which].URI, "/", 4)[2] }
	refusedCurl := func(what, method, url string, body []byte) {
		t.Helper()
		status, got := curlDo(t, method, url, body)
		var e struct{ Code string }
		_ = json.Unmarshal(got, &e)
		if status != 404 || (e.Code != "NotAuthorizedOrNotFound" && e.Code != "ObjectNotFound") {
			t.Errorf("%s: %s %s answered %d %s", what, method, url, status, got)
		}
		if bytes.Contains(got, []byte("SECRET")) || bytes.Contains(got, []byte("OTHER")) {
			t.Errorf("%s: %s %s leaked %s", what, method, url, got)
		}
	}

	// ObjectRead: curl reads, whole and ranged, and heads.
	if status, got := curlDo(t, http.MethodGet, uri("read"), nil); status != 200 || string(got) != "alpha" {
		t.Fatalf("GET through an ObjectRead PAR: %d %q", status, got)
	}
	if status, got := curlDo(t, http.MethodGet, uri("read"), nil, "Range: bytes=1-3"); status != 206 || string(got) != "lph" {
		t.Errorf("ranged GET through an ObjectRead PAR: %d %q", status, got)
	}
	if status, _ := curlDo(t, http.MethodHead, uri("read"), nil); status != 200 {
		t.Errorf("HEAD through an ObjectRead PAR: %d", status)
	}
	// ObjectWrite: curl puts, the SDK reads it.
	if status, got := curlDo(t, http.MethodPut, uri("write"), []byte("put by curl")); status != 200 {
		t.Fatalf("PUT through an ObjectWrite PAR: %d %s", status, got)
	}
	if got := strings.TrimSpace(string(runOCI(t, py, c, carol, "", "", readUploadScript))); got != "put by curl" {
		t.Errorf("the SDK reads %q where the PAR put", got)
	}
	// AnyObjectRead under shared/ with listing: lists and reads only there.
	status, got := curlDo(t, http.MethodGet, uri("list"), nil)
	var listing struct{ Objects []struct{ Name string } }
	if err := json.Unmarshal(got, &listing); status != 200 || err != nil {
		t.Fatalf("list through a prefix PAR: %d %s", status, got)
	}
	var names []string
	for _, o := range listing.Objects {
		names = append(names, o.Name)
	}
	if strings.Join(names, " ") != "shared/a.txt shared/b.txt" {
		t.Errorf("a prefix PAR lists %q", names)
	}
	if status, got := curlDo(t, http.MethodGet, uri("list")+"shared/b.txt", nil); status != 200 || string(got) != "bravo" {
		t.Errorf("GET under a prefix PAR: %d %q", status, got)
	}

	// Scope: nothing else is reached, however the path is written.
	ep, rt, lt := c.Endpoint, token("read"), token("list")
	for _, tc := range []struct{ what, method, url string }{
		{"another object", "GET", ep + "/p/" + rt + "/n/ocitenant/b/par-bucket/o/secret.txt"},
		{"another bucket, same token", "GET", ep + "/p/" + rt + "/n/ocitenant/b/par-other/o/shared/a.txt"},
		{"another namespace", "GET", ep + "/p/" + rt + "/n/othertenant/b/par-bucket/o/shared/a.txt"},
		{"an encoded slash in the bucket", "GET", ep + "/p/" + rt + "/n/ocitenant/b/par-bucket%2F..%2Fpar-other/o/shared/a.txt"},
		{"dot-dot out of the object", "GET", ep + "/p/" + rt + "/n/ocitenant/b/par-bucket/o/shared/a.txt/../../secret.txt"},
		{"dot-dot out of the prefix", "GET", ep + "/p/" + lt + "/n/ocitenant/b/par-bucket/o/shared/../secret.txt"},
		{"encoded dot-dot out of the prefix", "GET", ep + "/p/" + lt + "/n/ocitenant/b/par-bucket/o/shared%2F..%2Fsecret.txt"},
		{"a double slash", "GET", ep + "/p/" + lt + "/n/ocitenant/b/par-bucket/o//secret.txt"},
		{"dot-dot out of the PAR path", "GET", ep + "/p/" + lt + "/n/ocitenant/b/par-bucket/o/../../par-other/o/shared/a.txt"},
		{"a listing outside the prefix", "GET", ep + "/p/" + lt + "/n/ocitenant/b/par-bucket/o/?prefix=other/"},
		{"a listing of another bucket", "GET", ep + "/p/" + lt + "/n/ocitenant/b/par-other/o/"},
		{"a listing through an object PAR", "GET", ep + "/p/" + rt + "/n/ocitenant/b/par-bucket/o/"},
		{"a PUT through a read PAR", "PUT", uri("read")},
		{"a DELETE through a read PAR", "DELETE", uri("read")},
		{"a GET through a write PAR", "GET", uri("write")},
		{"a made-up token", "GET", ep + "/p/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/n/ocitenant/b/par-bucket/o/shared/a.txt"},
		{"a deleted PAR", "GET", uri("deleted")},
	} {
		var body []byte
		if tc.method == "PUT" {
			body = []byte("nope")
		}
		refusedCurl(tc.what, tc.method, tc.url, body)
	}
	if status, got := curlDo(t, http.MethodGet, uri("read"), nil); status != 200 || string(got) != "alpha" {
		t.Fatalf("a PUT through a read PAR changed the object: %d %q", status, got)
	}
	// Not a PAR's shape: S3's (a key of bucket "p"), refused there.
	if status, got := curlDo(t, http.MethodGet, ep+"/p/"+lt+"//n/ocitenant/b/par-bucket/o/shared/a.txt", nil); status != 403 ||
		!bytes.Contains(got, []byte("<Code>AccessDenied</Code>")) {
		t.Errorf("a double slash before n: %d %s", status, got)
	}

	// Get and List through the API never show a token again.
	req, _ := http.NewRequest(http.MethodGet, c.Endpoint+"/n/ocitenant/b/par-bucket/p/", nil)
	signedRequest(t, req, carol, carol.KeyID, time.Now(), nil, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var listed bytes.Buffer
	_, _ = listed.ReadFrom(resp.Body)
	resp.Body.Close()
	for which := range pars {
		if strings.Contains(listed.String(), token(which)) {
			t.Errorf("ListPreauthenticatedRequests shows the token of %s", which)
		}
	}

	// Expiry: refused once its time has passed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _ := curlDo(t, http.MethodGet, uri("expiring"), nil)
		if status == 404 {
			break
		}
		if status != 200 || time.Now().After(deadline) {
			t.Fatalf("an expired PAR answers %d", status)
		}
		time.Sleep(250 * time.Millisecond)
	}
	refusedCurl("an expired PAR", "GET", uri("expiring"), nil)

	// The creator's rights, judged at use: deleting the policy that gave
	// them kills every PAR of carol's within the documented window (2 s).
	ctl(t, c, "policy", "delete", "-n", "ocitenant", "all-carol")
	start := time.Now()
	for {
		status, _ := curlDo(t, http.MethodGet, uri("read"), nil)
		if status == 404 {
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("a PAR still reads %s after its creator lost the right (%d)", time.Since(start), status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	refusedCurl("a PAR whose creator lost the right", "GET", uri("read"), nil)
	refusedCurl("a PAR whose creator lost the right", "PUT", uri("write"), []byte("late"))
	refusedCurl("a PAR whose creator lost the right", "GET", uri("list"), nil)
}
