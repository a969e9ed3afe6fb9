package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
const parScript = ociScriptPrelude + `
import os, json, datetime, oci
from oci.object_storage.models import CreateBucketDetails, CreatePreauthenticatedRequestDetails as PAR

ns = oc.get_namespace().data
for b in ("par-bucket", "par-other"):
    oc.create_bucket(ns, CreateBucketDetails(name=b, compartment_id=os.environ["TENANCY"]))
for name, body in (("shared/a.txt", b"alpha"), ("shared/b.txt", b"bravo"), ("secret.txt", b"SECRET"), ("other/x.txt", b"x")):
    oc.put_object(ns, "par-bucket", name, body)
oc.put_object(ns, "par-other", "shared/a.txt", b"OTHER")
now = datetime.datetime.now(datetime.timezone.utc)
hour = now + datetime.timedelta(hours=1)
out = {}
def make(key, bucket="par-bucket", **kw):
    p = oc.create_preauthenticated_request(ns, bucket, PAR(**kw)).data
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
make("revoke", name="revoke-me", object_name="shared/a.txt", access_type="ObjectRead", time_expires=hour)
make("mp", name="multipart", object_name="big.bin", access_type="ObjectWrite", time_expires=hour)
make("mpother", bucket="par-other", name="other-bucket", object_name="big.bin", access_type="ObjectWrite", time_expires=hour)

g = oc.get_preauthenticated_request(ns, "par-bucket", r.id).data
assert g.id == r.id and g.object_name == "shared/a.txt" and g.access_type == "ObjectRead" and not hasattr(g, "access_uri"), g
names = sorted(x.name for x in oc.list_preauthenticated_requests(ns, "par-bucket").data)
assert names == ["gone", "list-shared", "multipart", "read-a", "revoke-me", "soon", "write-upload"], names
names = sorted(x.name for x in oc.list_preauthenticated_requests(ns, "par-bucket", object_name_prefix="shared/").data)
assert names == ["gone", "list-shared", "read-a", "revoke-me", "soon"], names
assert oc.delete_preauthenticated_request(ns, "par-bucket", d.id).status == 204
refused("NotAuthorizedOrNotFound", 404, oc.get_preauthenticated_request, ns, "par-bucket", d.id)
refused("InvalidParameter", 400, oc.create_preauthenticated_request, ns, "par-bucket",
        PAR(name="bad", object_name="x", access_type="ObjectRead", time_expires=now - datetime.timedelta(hours=1)))
refused("InvalidParameter", 400, oc.create_preauthenticated_request, ns, "par-bucket",
        PAR(name="bad", access_type="ObjectRead", time_expires=hour))
print(json.dumps(out))
`

// readUploadScript: the SDK reads what a PAR put.
const readUploadScript = ociScriptPrelude + `
import os, oci
print(oc.get_object(oc.get_namespace().data, "par-bucket", "upload.bin").data.content.decode())
`

// readBigScript: the SDK reads what a multipart upload through a PAR
// made: its SHA-256, size, metadata and the ETag's part count.
const readBigScript = ociScriptPrelude + `
import os, oci, hashlib
r = oc.get_object(oc.get_namespace().data, "par-bucket", "big.bin")
h, n = hashlib.sha256(), 0
for chunk in r.data.raw.stream(1 << 20, decode_content=False):
    h.update(chunk)
    n += len(chunk)
print(h.hexdigest(), n, r.headers.get("opc-meta-color"), r.headers.get("opc-multipart-md5", "").split("-")[-1])
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
	t.Run("multipart", func(t *testing.T) {
		testPARMultipart(t, py, c, carol, uri, token)
	})
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

	// cairnctl par list shows the PARs, never a token; par delete kills a
	// link at once.
	if status, got := curlDo(t, http.MethodGet, uri("revoke"), nil); status != 200 || string(got) != "alpha" {
		t.Fatalf("GET through the PAR to revoke: %d %q", status, got)
	}
	table := string(ctl(t, c, "par", "list", "-n", "ocitenant"))
	for which, p := range pars {
		if strings.Contains(table, token(which)) {
			t.Errorf("cairnctl par list shows the token of %s", which)
		}
		if listed := strings.Contains(table, p.ID); listed != (which != "deleted") {
			t.Errorf("cairnctl par list: %s (%s) listed %v:\n%s", which, p.ID, listed, table)
		}
	}
	var entries []struct {
		ID, Bucket, Name, Creator string
		Object                    string `json:"object_name"`
		Access                    string `json:"access_type"`
		Listing                   string `json:"bucket_listing_action"`
		Expires                   time.Time
	}
	js := ctl(t, c, "-o", "json", "par", "list", "-n", "ocitenant", "-b", "par-bucket")
	if err := json.Unmarshal(js, &entries); err != nil {
		t.Fatalf("cairnctl par list -o json: %v\n%s", err, js)
	}
	seen := map[string]bool{}
	for _, p := range entries {
		seen[p.ID] = true
		if p.Bucket != "par-bucket" || p.Creator != "carol" || p.Expires.IsZero() {
			t.Errorf("cairnctl par list -o json: %+v", p)
		}
		if p.ID == pars["list"].ID && (p.Name != "list-shared" || p.Object != "shared/" || p.Access != "AnyObjectRead" || p.Listing != "ListObjects") {
			t.Errorf("cairnctl par list -o json shows the listing PAR as %+v", p)
		}
	}
	if seen[pars["mpother"].ID] || !seen[pars["revoke"].ID] || bytes.Contains(js, []byte(token("revoke"))) {
		t.Errorf("cairnctl par list -b par-bucket:\n%s", js)
	}
	ctl(t, c, "par", "delete", "-n", "ocitenant", "-b", "par-bucket", pars["revoke"].ID)
	refusedCurl("a PAR deleted by cairnctl", "GET", uri("revoke"), nil)
	if out := ctlFails(t, c, "par", "delete", "-n", "ocitenant", "-b", "par-bucket", pars["revoke"].ID); !strings.Contains(out, "not found") {
		t.Errorf("deleting a deleted PAR: %s", out)
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

// parUpload is OCI's answer to a PUT with opc-multipart: true through a
// PAR.
type parUpload struct {
	Namespace, Bucket, Object string
	UploadID                  string `json:"uploadId"`
	AccessURI                 string `json:"accessUri"`
}

// testPARMultipart: multipart uploads through write PARs with curl and no
// credentials: start, parts, commit (read back by the SDK), abort; and
// the PAR's scope on the upload paths.
func testPARMultipart(t *testing.T, py string, c *harness.Cluster, carol *ociKey, uri, token func(string) string) {
	ep := c.Endpoint
	start := func(url string) (int, parUpload, []byte) {
		t.Helper()
		status, got := curlDo(t, http.MethodPut, url, nil, "opc-multipart: true", "opc-meta-color: teal")
		var u parUpload
		_ = json.Unmarshal(got, &u)
		return status, u, got
	}
	mustStart := func(which string) parUpload {
		t.Helper()
		status, u, got := start(uri(which))
		if status != 200 || u.UploadID == "" || !strings.HasPrefix(u.AccessURI, "/p/"+token(which)+"/n/ocitenant/b/") ||
			!strings.HasSuffix(u.AccessURI, "/id/"+u.UploadID+"/") {
			t.Fatalf("start an upload through the %s PAR: %d %s", which, status, got)
		}
		return u
	}
	refused := func(what, method, url string, body []byte, headers ...string) {
		t.Helper()
		status, got := curlDo(t, method, url, body, headers...)
		var e struct{ Code string }
		_ = json.Unmarshal(got, &e)
		if status != 404 || e.Code != "NotAuthorizedOrNotFound" {
			t.Errorf("%s: %s %s answered %d %s", what, method, url, status, got)
		}
	}

	// Start, three parts (every part but the last at least 5 MiB, the
	// commit's rule), commit; the SDK reads the same bytes.
	up := mustStart("mp")
	if up.Object != "big.bin" || up.Bucket != "par-bucket" || up.Namespace != "ocitenant" {
		t.Fatalf("the upload is %+v", up)
	}
	rng := rand.New(rand.NewSource(15))
	parts := [][]byte{make([]byte, 5<<20), make([]byte, 5<<20+7), make([]byte, 1234)}
	whole := sha256.New()
	size := 0
	for _, p := range parts {
		rng.Read(p)
		whole.Write(p)
		size += len(p)
	}
	for i, p := range parts {
		if status, got := curlDo(t, http.MethodPut, ep+up.AccessURI+strconv.Itoa(i+1), p); status != 200 {
			t.Fatalf("part %d through the PAR: %d %s", i+1, status, got)
		}
	}
	if status, got := curlDo(t, http.MethodPost, ep+up.AccessURI, nil); status != 200 {
		t.Fatalf("commit through the PAR: %d %s", status, got)
	}
	want := fmt.Sprintf("%x %d teal 3", whole.Sum(nil), size)
	if got := strings.TrimSpace(string(runOCI(t, py, c, carol, "", "", readBigScript))); got != want {
		t.Errorf("the SDK reads %q, want %q", got, want)
	}
	refused("a part of a committed upload", http.MethodPut, ep+up.AccessURI+"4", []byte("late"))

	// Abort: the upload is gone, its parts with it.
	ab := mustStart("mp")
	if status, got := curlDo(t, http.MethodPut, ep+ab.AccessURI+"1", []byte("soon gone")); status != 200 {
		t.Fatalf("part of the upload to abort: %d %s", status, got)
	}
	if status, got := curlDo(t, http.MethodDelete, ep+ab.AccessURI, nil); status != 204 {
		t.Fatalf("abort through the PAR: %d %s", status, got)
	}
	refused("a part of an aborted upload", http.MethodPut, ep+ab.AccessURI+"2", []byte("late"))
	refused("a commit of an aborted upload", http.MethodPost, ep+ab.AccessURI, nil)

	// Scope: the PAR's object, bucket and access type bound its uploads.
	mine, theirs, open := mustStart("write"), mustStart("mpother"), mustStart("mp")
	if mine.Object != "upload.bin" || theirs.Bucket != "par-other" {
		t.Fatalf("uploads %+v and %+v", mine, theirs)
	}
	mp := ep + "/p/" + token("mp") + "/n/ocitenant/b/"
	for _, tc := range []struct {
		what, method, url string
		headers           []string
	}{
		{"an upload of another object", "PUT", mp + "par-bucket/o/secret.txt", []string{"opc-multipart: true"}},
		{"an upload through a read PAR", "PUT", uri("read"), []string{"opc-multipart: true"}},
		{"an upload through a listing PAR", "PUT", uri("list") + "shared/new.bin", []string{"opc-multipart: true"}},
		{"another object's upload ID", "PUT", mp + "par-bucket/u/big.bin/id/" + mine.UploadID + "/1", nil},
		{"another bucket's upload ID", "PUT", mp + "par-bucket/u/big.bin/id/" + theirs.UploadID + "/1", nil},
		{"another object's upload", "PUT", mp + "par-bucket/u/upload.bin/id/" + mine.UploadID + "/1", nil},
		{"another bucket's upload", "PUT", mp + "par-other/u/big.bin/id/" + theirs.UploadID + "/1", nil},
		{"a commit of another object's upload", "POST", mp + "par-bucket/u/upload.bin/id/" + mine.UploadID + "/", nil},
		{"an abort of another bucket's upload", "DELETE", mp + "par-other/u/big.bin/id/" + theirs.UploadID + "/", nil},
		{"an upload's path with a read PAR's token", "PUT", ep + "/p/" + token("read") + "/n/ocitenant/b/par-bucket/u/big.bin/id/" + open.UploadID + "/1", nil},
		{"dot-dot out of an upload's object", "PUT", mp + "par-bucket/u/big.bin/../secret.txt/id/" + open.UploadID + "/1", nil},
		{"a listing of an upload's parts", "GET", ep + open.AccessURI, nil},
	} {
		var body []byte
		if tc.method == "PUT" && !slices.Contains(tc.headers, "opc-multipart: true") {
			body = []byte("nope")
		}
		refused(tc.what, tc.method, tc.url, body, tc.headers...)
	}
	// Nothing refused reached the uploads: the open one has no part yet.
	if status, got := curlDo(t, http.MethodPost, ep+open.AccessURI, nil); status != 400 || !bytes.Contains(got, []byte("no parts")) {
		t.Errorf("commit of an upload with no parts: %d %s", status, got)
	}
	for _, u := range []parUpload{mine, theirs, open} {
		if status, got := curlDo(t, http.MethodDelete, ep+u.AccessURI, nil); status != 204 {
			t.Errorf("abort %s through its own PAR: %d %s", u.Object, status, got)
		}
	}
	// Not an upload's shape: S3's (a key of bucket "p"), refused there.
	if status, got := curlDo(t, http.MethodGet, mp+"par-bucket/u/big.bin", nil); status != 403 ||
		!bytes.Contains(got, []byte("<Code>AccessDenied</Code>")) {
		t.Errorf("an upload path without its ID: %d %s", status, got)
	}
}
