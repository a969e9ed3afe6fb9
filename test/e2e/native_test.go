package e2e

import (
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/test/harness"
)

// ociKey is a user's API signing key as the tests hold it: the private
// key, and what `cairnctl apikey upload` answered.
type ociKey struct {
	priv        *rsa.PrivateKey
	keyFile     string
	Fingerprint string `json:"fingerprint"`
	TenancyOCID string `json:"tenancy_ocid"`
	UserOCID    string `json:"user_ocid"`
	KeyID       string `json:"key_id"`
}

// uploadAPIKey makes an RSA key, uploads its public half for ns/user
// with cairnctl and checks the fingerprint it prints is OCI's.
func uploadAPIKey(t *testing.T, c *harness.Cluster, ns, user string) *ociKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pubFile, keyFile := filepath.Join(dir, "pub.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}), 0o600); err != nil {
		t.Fatal(err)
	}
	k := &ociKey{priv: priv, keyFile: keyFile}
	if err := json.Unmarshal(ctl(t, c, "apikey", "upload", "-n", ns, "-u", user, "--public-key", pubFile, "-o", "json"), k); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(der)
	var hexes []string
	for _, b := range sum {
		hexes = append(hexes, fmt.Sprintf("%02x", b))
	}
	if want := strings.Join(hexes, ":"); k.Fingerprint != want {
		t.Fatalf("fingerprint %q, want OCI's %q", k.Fingerprint, want)
	}
	if !strings.HasPrefix(k.TenancyOCID, "ocid1.tenancy.oc1..") || !strings.HasPrefix(k.UserOCID, "ocid1.user.oc1..") ||
		k.KeyID != k.TenancyOCID+"/"+k.UserOCID+"/"+k.Fingerprint {
		t.Fatalf("upload answered %+v", k)
	}
	return k
}

// signedRequest signs req as the OCI SDKs do (OCI's HTTP Signature scheme)
// with k, dated at date; body, when not nil, is covered by
// x-content-sha256 (sha256 names the hash to claim, nil: the body's).
func signedRequest(t *testing.T, req *http.Request, k *ociKey, keyID string, date time.Time, body []byte, claim []byte) {
	t.Helper()
	req.Header.Set("date", date.UTC().Format(http.TimeFormat))
	names := []string{"date", "(request-target)", "host"}
	if body != nil {
		sum := sha256.Sum256(body)
		if claim == nil {
			claim = sum[:]
		}
		req.Header.Set("x-content-sha256", base64.StdEncoding.EncodeToString(claim))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("content-length", fmt.Sprint(len(body)))
		req.ContentLength = int64(len(body))
		req.Body = io.NopCloser(bytes.NewReader(body))
		names = append(names, "content-length", "content-type", "x-content-sha256")
	}
	var lines []string
	for _, n := range names {
		switch n {
		case "(request-target)":
			lines = append(lines, n+": "+strings.ToLower(req.Method)+" "+req.URL.RequestURI())
		case "host":
			lines = append(lines, n+": "+req.URL.Host)
		default:
			lines = append(lines, n+": "+req.Header.Get(n))
		}
	}
	digest := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", fmt.Sprintf(`Signature version="1",keyId="%s",algorithm="rsa-sha256",headers="%s",signature="%s"`,
		keyID, strings.Join(names, " "), base64.StdEncoding.EncodeToString(sig)))
}

// ociError sends req and returns its status and OCI error code.
func ociError(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	status, code, _ := ociErrorMessage(t, req)
	return status, code
}

// ociErrorMessage is ociError with the error's message.
func ociErrorMessage(t *testing.T, req *http.Request) (int, string, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Code, Message string }
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
			t.Fatalf("%s %s: %d with a body that is not OCI's error JSON: %q", req.Method, req.URL, resp.StatusCode, body)
		}
		if resp.Header.Get("opc-request-id") == "" {
			t.Fatalf("%s %s: error without opc-request-id", req.Method, req.URL)
		}
	}
	return resp.StatusCode, e.Code, e.Message
}

// ociScriptPrelude opens every OCI SDK script runOCI runs: the imports
// they share, the OCI client (oc) for the identity in TENANCY, USER,
// FINGERPRINT and KEY_FILE, boto3 (s3) with AK and SK, both at EP, the
// namespace (ns), refused (a call that must fail with an OCI code and
// status; a HEAD's error has no body, so it carries no code) and oci_key
// (SSE-C keyword arguments for a key).
const ociScriptPrelude = `
import os, oci, boto3, base64, hashlib, tempfile
from botocore.config import Config
from botocore.exceptions import ClientError
from oci.object_storage.models import CreateBucketDetails, CreateMultipartUploadDetails
from oci.object_storage.models import CommitMultipartUploadDetails, CommitMultipartUploadPartDetails
cfg = {"tenancy": os.environ["TENANCY"], "user": os.environ["USER"], "fingerprint": os.environ["FINGERPRINT"],
       "key_file": os.environ["KEY_FILE"], "region": "us-ashburn-1"}
oc = oci.object_storage.ObjectStorageClient(cfg, service_endpoint=os.environ["EP"],
                                            retry_strategy=oci.retry.NoneRetryStrategy())
s3 = boto3.client("s3", region_name=os.environ["REGION"], endpoint_url=os.environ["EP"],
                  aws_access_key_id=os.environ["AK"], aws_secret_access_key=os.environ["SK"],
                  config=Config(s3={"addressing_style": "path"}))
def refused(code, status, f, *a, **kw):
    try:
        f(*a, **kw)
    except oci.exceptions.ServiceError as e:
        want = (None if f.__name__ == "head_object" and e.code is None else code, status)
        assert (e.code, e.status) == want, (e.code, e.status, e.message)
        return e
    raise AssertionError("%s succeeded" % f.__name__)
def oci_key(k):
    return {"opc_sse_customer_algorithm": "AES256", "opc_sse_customer_key": base64.b64encode(k).decode(),
            "opc_sse_customer_key_sha256": base64.b64encode(hashlib.sha256(k).digest()).decode()}
ns = oc.get_namespace().data
`

// runOCI runs a script with the OCI SDK (and boto3) against c. The
// script finds the OCI identity in TENANCY, USER, FINGERPRINT and
// KEY_FILE, the gateway in EP, and S3 credentials in AK and SK.
func runOCI(t *testing.T, py string, c *harness.Cluster, k *ociKey, ak, sk, script string) []byte {
	t.Helper()
	cmd := exec.Command(py, "-c", script)
	cmd.Env = append(os.Environ(), "EP="+c.Endpoint, "AK="+ak, "SK="+sk, "REGION="+c.Region,
		"TENANCY="+k.TenancyOCID, "USER="+k.UserOCID, "FINGERPRINT="+k.Fingerprint, "KEY_FILE="+k.keyFile,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "OCI_CLI_CONFIG_FILE=/dev/null",
		"PYTHONWARNINGS=ignore")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("OCI SDK script: %v\n%s\n%s", err, out, stderr.String())
	}
	return out
}

// ociSDKScript drives the OCI Python SDK through the native API: the
// namespace, a bucket's life, objects with metadata, ranges, heads and
// listings, and OCI's error codes. It asserts as it goes.
const ociSDKScript = ociScriptPrelude + `
import os, oci

ns = oc.get_namespace().data
assert ns == "ocitenant", ns
comp = os.environ["TENANCY"]
b = oc.create_bucket(ns, oci.object_storage.models.CreateBucketDetails(name="oci-bucket", compartment_id=comp)).data
assert b.name == "oci-bucket" and b.compartment_id == comp and b.namespace == ns, b
refused("BucketAlreadyExists", 409, oc.create_bucket, ns, oci.object_storage.models.CreateBucketDetails(name="oci-bucket", compartment_id=comp))
names = [x.name for x in oc.list_buckets(ns, comp).data]
assert "oci-bucket" in names, names
assert oc.get_bucket(ns, "oci-bucket").data.name == "oci-bucket"
assert oc.head_bucket(ns, "oci-bucket").status == 200
refused("BucketNotFound", 404, oc.get_bucket, ns, "no-such-bucket")

body = bytes(range(256)) * 400  # 100 KiB: erasure coded, not inlined
put = oc.put_object(ns, "oci-bucket", "dir/big.bin", body, opc_meta={"color": "blue"}, content_type="application/x-test")
oc.put_object(ns, "oci-bucket", "dir/small.txt", b"hello world")
oc.put_object(ns, "oci-bucket", "top.txt", b"top")
got = oc.get_object(ns, "oci-bucket", "dir/big.bin")
assert got.data.content == body and got.headers["etag"] == put.headers["etag"], "whole get"
assert got.headers["opc-meta-color"] == "blue" and got.headers["content-type"] == "application/x-test", dict(got.headers)
rng = oc.get_object(ns, "oci-bucket", "dir/big.bin", range="bytes=1000-70999")
assert rng.status == 206 and rng.data.content == body[1000:71000], rng.status
assert oc.get_object(ns, "oci-bucket", "dir/small.txt", range="bytes=6-10").data.content == b"world"
h = oc.head_object(ns, "oci-bucket", "dir/big.bin")
assert h.headers["content-length"] == str(len(body)) and h.headers["etag"] == put.headers["etag"], dict(h.headers)
assert h.headers["content-md5"] == put.headers["opc-content-md5"], dict(h.headers)

top = oc.list_objects(ns, "oci-bucket", delimiter="/", fields="name,size,etag").data
assert top.prefixes == ["dir/"], top.prefixes
assert [(o.name, o.size) for o in top.objects] == [("top.txt", 3)], top.objects
page = oc.list_objects(ns, "oci-bucket", prefix="dir/", limit=1).data
assert [o.name for o in page.objects] == ["dir/big.bin"] and page.next_start_with == "dir/small.txt", page
rest = oc.list_objects(ns, "oci-bucket", start=page.next_start_with).data
assert [o.name for o in rest.objects] == ["dir/small.txt", "top.txt"], rest.objects
assert [o.name for o in oc.list_objects(ns, "oci-bucket", end="dir/small.txt").data.objects] == ["dir/big.bin"]

refused("BucketNotEmpty", 409, oc.delete_bucket, ns, "oci-bucket")
for name in ("dir/big.bin", "dir/small.txt", "top.txt"):
    assert oc.delete_object(ns, "oci-bucket", name).status == 204
refused("ObjectNotFound", 404, oc.get_object, ns, "oci-bucket", "top.txt")
refused("ObjectNotFound", 404, oc.delete_object, ns, "oci-bucket", "top.txt")
refused("NotImplemented", 501, oc.list_retention_rules, ns, "oci-bucket")
refused("NamespaceNotFound", 404, oc.list_objects, "other-namespace", "oci-bucket")
assert oc.delete_bucket(ns, "oci-bucket").status == 204
assert "oci-bucket" not in [x.name for x in oc.list_buckets(ns, comp).data]
print("ok")
`

// congruenceScript: one dataset. boto3 writes and the OCI SDK reads the
// same bytes, metadata and ETag; the OCI SDK writes and boto3 reads them.
const congruenceScript = ociScriptPrelude + `
import os, oci, boto3
from botocore.config import Config
ns = oc.get_namespace().data
s3.create_bucket(Bucket="shared")
assert oc.get_bucket(ns, "shared").data.name == "shared"
oc.create_bucket(ns, oci.object_storage.models.CreateBucketDetails(name="from-oci", compartment_id=os.environ["TENANCY"]))
s3.head_bucket(Bucket="from-oci")

for size in (1000, 300000):  # inline and erasure coded
    data = os.urandom(size)
    k = "s3/obj-%d" % size
    put = s3.put_object(Bucket="shared", Key=k, Body=data, Metadata={"origin": "boto3", "mixed-case": "Value"},
                        ContentType="text/x-s3", CacheControl="max-age=60")
    g = oc.get_object(ns, "shared", k)
    assert g.data.content == data, "bytes"
    assert g.headers["etag"] == put["ETag"].strip('"'), (g.headers["etag"], put["ETag"])
    assert g.headers["opc-meta-origin"] == "boto3" and g.headers["opc-meta-mixed-case"] == "Value", dict(g.headers)
    assert g.headers["content-type"] == "text/x-s3" and g.headers["cache-control"] == "max-age=60", dict(g.headers)

    k = "oci/obj-%d" % size
    put = oc.put_object(ns, "shared", k, data, opc_meta={"origin": "oci"}, content_type="text/x-oci",
                        content_language="fr")
    g = s3.get_object(Bucket="shared", Key=k)
    assert g["Body"].read() == data, "bytes"
    assert g["ETag"].strip('"') == put.headers["etag"], (g["ETag"], put.headers["etag"])
    assert g["Metadata"] == {"origin": "oci"}, g["Metadata"]
    assert g["ContentType"] == "text/x-oci" and g["ContentLanguage"] == "fr", g
    r = s3.get_object(Bucket="shared", Key=k, Range="bytes=10-19")
    assert r["Body"].read() == data[10:20]

s3_names = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="shared")["Contents"])
oci_names = sorted(o.name for o in oc.list_objects(ns, "shared").data.objects)
assert s3_names == oci_names and len(s3_names) == 4, (s3_names, oci_names)
print("ok")
`

// multipartScript: the OCI SDK's UploadManager uploads 50 MiB in 10 MiB
// parts; the SDK reads it back and boto3 reads it with ranges, both
// byte-identical, with S3's multipart ETag and OCI's opc-multipart-md5
// agreeing. An upload begun through S3 is finished natively; an aborted
// upload is gone from both APIs' listings.
const multipartScript = ociScriptPrelude + `
import os, oci, boto3, base64, hashlib, tempfile
from botocore.config import Config
from oci.object_storage import UploadManager
from oci.object_storage.models import CreateBucketDetails, CreateMultipartUploadDetails, CommitMultipartUploadDetails, CommitMultipartUploadPartDetails

ns = oc.get_namespace().data
oc.create_bucket(ns, CreateBucketDetails(name="mp", compartment_id=os.environ["TENANCY"]))
part = 10 << 20
data = os.urandom(50 << 20)
with tempfile.NamedTemporaryFile() as f:
    f.write(data)
    f.flush()
    um = UploadManager(oc, allow_parallel_uploads=True, parallel_process_count=3)
    up = um.upload_file(ns, "mp", "big/file.bin", f.name, part_size=part, metadata={"origin": "oci-mp"},
                        content_type="application/x-mp")
whole = hashlib.md5(b"".join(hashlib.md5(data[i:i + part]).digest() for i in range(0, len(data), part)))
assert up.headers["etag"] == whole.hexdigest() + "-5", up.headers["etag"]
assert up.headers["opc-multipart-md5"] == base64.b64encode(whole.digest()).decode() + "-5", dict(up.headers)

got = oc.get_object(ns, "mp", "big/file.bin")
assert got.data.content == data, "the SDK read other bytes"
assert got.headers["opc-multipart-md5"] == up.headers["opc-multipart-md5"] and got.headers["etag"] == up.headers["etag"]
assert got.headers["opc-meta-origin"] == "oci-mp" and got.headers["content-type"] == "application/x-mp", dict(got.headers)
head = s3.head_object(Bucket="mp", Key="big/file.bin")
assert head["ETag"] == '"%s"' % up.headers["etag"] and head["ContentLength"] == len(data), head
assert head["Metadata"] == {"origin": "oci-mp"}, head["Metadata"]
for a, b in ((part - 1000, part + 999), (len(data) - 3 * part - 7, len(data) - 1)):
    r = s3.get_object(Bucket="mp", Key="big/file.bin", Range="bytes=%d-%d" % (a, b))
    assert r["Body"].read() == data[a:b + 1], "boto3 ranged read %d-%d" % (a, b)

# Begun through S3, finished natively; S3 reads it.
s3up = s3.create_multipart_upload(Bucket="mp", Key="from-s3", ContentType="text/x-s3")["UploadId"]
p1 = oc.upload_part(ns, "mp", "from-s3", s3up, 1, data[:1000])
assert p1.headers["etag"] == hashlib.md5(data[:1000]).hexdigest(), dict(p1.headers)
assert p1.headers["opc-content-md5"] == base64.b64encode(hashlib.md5(data[:1000]).digest()).decode()
listed = oc.list_multipart_upload_parts(ns, "mp", "from-s3", s3up).data
assert [(x.part_number, x.size, x.etag, x.md5) for x in listed] == [(1, 1000, p1.headers["etag"], p1.headers["opc-content-md5"])], listed
refused("InvalidUploadPart", 400, oc.commit_multipart_upload, ns, "mp", "from-s3", s3up,
        CommitMultipartUploadDetails(parts_to_commit=[CommitMultipartUploadPartDetails(part_num=1, etag="0" * 32)]))
oc.commit_multipart_upload(ns, "mp", "from-s3", s3up,
                           CommitMultipartUploadDetails(parts_to_commit=[CommitMultipartUploadPartDetails(part_num=1, etag=p1.headers["etag"])]))
g = s3.get_object(Bucket="mp", Key="from-s3")
assert g["Body"].read() == data[:1000] and g["ContentType"] == "text/x-s3", g

# Aborted: gone from both APIs' listings, and its ID is refused.
ab = oc.create_multipart_upload(ns, "mp", CreateMultipartUploadDetails(object="aborted.bin")).data
assert ab.object == "aborted.bin" and ab.bucket == "mp" and ab.namespace == ns and ab.upload_id, ab
oc.upload_part(ns, "mp", "aborted.bin", ab.upload_id, 2, b"x" * 1000)
assert ab.upload_id in [u.upload_id for u in oc.list_multipart_uploads(ns, "mp").data]
assert ab.upload_id in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="mp").get("Uploads", [])]
assert oc.abort_multipart_upload(ns, "mp", "aborted.bin", ab.upload_id).status == 204
assert oc.list_multipart_uploads(ns, "mp").data == []
assert s3.list_multipart_uploads(Bucket="mp").get("Uploads", []) == []
refused("NoSuchUpload", 404, oc.upload_part, ns, "mp", "aborted.bin", ab.upload_id, 1, b"y")
refused("NoSuchUpload", 404, oc.abort_multipart_upload, ns, "mp", "aborted.bin", ab.upload_id)
refused("ObjectNotFound", 404, oc.get_object, ns, "mp", "aborted.bin")
print("ok")
`

// renameScript: RenameObject moves an object to a new name with its
// bytes, metadata and ETag; the old name is gone from both APIs; the
// rename's conditions are honoured and a refused rename moves nothing.
const renameScript = ociScriptPrelude + `
import os, oci, boto3
from botocore.config import Config
from oci.object_storage.models import CreateBucketDetails, RenameObjectDetails

ns = oc.get_namespace().data
oc.create_bucket(ns, CreateBucketDetails(name="ren", compartment_id=os.environ["TENANCY"]))
for name, size in (("small", 100), ("big", 300000)):  # inline and erasure coded
    data = os.urandom(size)
    put = oc.put_object(ns, "ren", "old/" + name, data, opc_meta={"color": "green"}, content_type="text/x-ren",
                        content_language="de")
    r = oc.rename_object(ns, "ren", RenameObjectDetails(source_name="old/" + name, new_name="new/" + name))
    assert r.status == 200 and r.headers["etag"] == put.headers["etag"], (r.status, dict(r.headers))
    refused("ObjectNotFound", 404, oc.get_object, ns, "ren", "old/" + name)
    g = oc.get_object(ns, "ren", "new/" + name)
    assert g.data.content == data and g.headers["etag"] == put.headers["etag"], "bytes after rename"
    assert g.headers["opc-meta-color"] == "green" and g.headers["content-type"] == "text/x-ren", dict(g.headers)
    assert g.headers["content-language"] == "de", dict(g.headers)
    b = s3.get_object(Bucket="ren", Key="new/" + name)
    assert b["Body"].read() == data and b["Metadata"] == {"color": "green"}, b
names = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="ren")["Contents"])
assert names == ["new/big", "new/small"], names

# Conditions: a refused rename moves nothing.
refused("PreconditionFailed", 412, oc.rename_object, ns, "ren",
        RenameObjectDetails(source_name="new/small", new_name="new/big", new_obj_if_none_match_e_tag="*"))
refused("PreconditionFailed", 412, oc.rename_object, ns, "ren",
        RenameObjectDetails(source_name="new/small", new_name="other", src_obj_if_match_e_tag="0" * 32))
refused("ObjectNotFound", 404, oc.rename_object, ns, "ren", RenameObjectDetails(source_name="missing", new_name="x"))
assert sorted(o.name for o in oc.list_objects(ns, "ren").data.objects) == ["new/big", "new/small"]
etag = oc.head_object(ns, "ren", "new/small").headers["etag"]
oc.rename_object(ns, "ren", RenameObjectDetails(source_name="new/small", new_name="new/big", src_obj_if_match_e_tag=etag))
assert oc.get_object(ns, "ren", "new/big").headers["etag"] == etag
assert [o.name for o in oc.list_objects(ns, "ren").data.objects] == ["new/big"]
print("ok")
`

// copyScript: CopyObject copies an object within a bucket and to another
// bucket, answering 202 with a work request the SDK waits on until it is
// COMPLETED; the copy has the source's bytes, metadata and content
// headers (boto3 reads them too), or the metadata the copy names. A copy
// onto an existing object with destinationObjectIfNoneMatchETag '*' fails
// its work request and writes nothing; a copy to another region, of a
// missing source or into another namespace is refused at once. It prints
// "ok" and a completed work request's ID.
const copyScript = ociScriptPrelude + `
import os, time, oci, boto3
from botocore.config import Config
from oci.object_storage.models import CreateBucketDetails, CopyObjectDetails

ns = oc.get_namespace().data
region = os.environ["REGION"]
for b in ("cpsrc", "cpdst"):
    oc.create_bucket(ns, CreateBucketDetails(name=b, compartment_id=os.environ["TENANCY"]))

def details(src, bucket, name, **kw):
    return CopyObjectDetails(source_object_name=src, destination_region=region, destination_namespace=ns,
                             destination_bucket=bucket, destination_object_name=name, **kw)

def copied(resp):
    assert resp.status == 202, resp.status
    wid = resp.headers["opc-work-request-id"]
    for _ in range(100):
        wr = oc.get_work_request(wid).data
        if wr.status in ("COMPLETED", "FAILED", "CANCELED"):
            return wr
        time.sleep(0.1)
    raise AssertionError("work request %s did not finish" % wid)

done = []
for name, size in (("small", 100), ("big", 300000)):  # inline and erasure coded
    data = os.urandom(size)
    put = oc.put_object(ns, "cpsrc", name, data, opc_meta={"color": "green"}, content_type="text/x-cp",
                        content_language="de")
    for bucket, dst in (("cpsrc", name + ".copy"), ("cpdst", "in/" + name)):
        wr = copied(oc.copy_object(ns, "cpsrc", details(name, bucket, dst)))
        assert wr.status == "COMPLETED" and wr.operation_type == "COPY_OBJECT" and wr.percent_complete == 100, wr
        assert wr.compartment_id == os.environ["TENANCY"] and wr.time_accepted and wr.time_finished, wr
        written = [r.metadata for r in wr.resources if r.action_type == "WRITTEN"]
        assert written == [{"NAMESPACE": ns, "BUCKET": bucket, "OBJECT": dst, "REGION": region}], wr.resources
        assert oc.list_work_request_errors(wr.id).data == [], wr.id
        assert "Copied %d bytes" % size in oc.list_work_request_logs(wr.id).data[0].message
        done.append(wr.id)
        g = oc.get_object(ns, bucket, dst)
        assert g.data.content == data and g.headers["etag"] == put.headers["etag"], "bytes of the copy"
        assert g.headers["opc-meta-color"] == "green" and g.headers["content-type"] == "text/x-cp", dict(g.headers)
        assert g.headers["content-language"] == "de", dict(g.headers)
        b = s3.get_object(Bucket=bucket, Key=dst)
        assert b["Body"].read() == data and b["Metadata"] == {"color": "green"}, b
    assert oc.get_object(ns, "cpsrc", name).data.content == data, "the source changed"

# destinationObjectMetadata replaces the source's.
wr = copied(oc.copy_object(ns, "cpsrc", details("small", "cpdst", "relabelled",
                                                destination_object_metadata={"opc-meta-shade": "blue"})))
assert wr.status == "COMPLETED", wr
h = oc.head_object(ns, "cpdst", "relabelled").headers
assert h.get("opc-meta-shade") == "blue" and "opc-meta-color" not in h, dict(h)
assert h["content-type"] == "text/x-cp", dict(h)

listed = [w.id for w in oc.list_work_requests(os.environ["TENANCY"]).data]
assert set(done + [wr.id]) <= set(listed), (done, listed)
refused("IncorrectState", 409, oc.cancel_work_request, wr.id)
refused("NotAuthorizedOrNotFound", 404, oc.get_work_request, "ocid1.objectstorageworkrequest.oc1..nosuch")

# destinationObjectIfNoneMatchETag '*' onto an existing object: the work
# request fails with PreconditionFailed and the object stays as it was.
oc.put_object(ns, "cpdst", "existing", b"keep me")
wr = copied(oc.copy_object(ns, "cpsrc", details("big", "cpdst", "existing", destination_object_if_none_match_e_tag="*")))
assert wr.status == "FAILED", wr
errs = oc.list_work_request_errors(wr.id).data
assert [e.code for e in errs] == ["PreconditionFailed"], errs
assert oc.get_object(ns, "cpdst", "existing").data.content == b"keep me"
wr = copied(oc.copy_object(ns, "cpsrc", details("big", "cpdst", "existing", destination_object_if_match_e_tag="0" * 32)))
assert wr.status == "FAILED", wr
wr = copied(oc.copy_object(ns, "cpsrc", details("big", "cpdst", "fresh", destination_object_if_none_match_e_tag="*")))
assert wr.status == "COMPLETED", wr
wr = copied(oc.copy_object(ns, "cpsrc", details("big", "cpdst", "fresh2", source_object_if_match_e_tag="0" * 32)))
assert wr.status == "FAILED", wr
refused("ObjectNotFound", 404, oc.get_object, ns, "cpdst", "fresh2")

# Refused at once: another region, a missing source, another namespace,
# a missing destination bucket. Nothing is written.
refused("InvalidParameter", 400, oc.copy_object, ns, "cpsrc",
        CopyObjectDetails(source_object_name="small", destination_region="eu-frankfurt-1", destination_namespace=ns,
                          destination_bucket="cpdst", destination_object_name="elsewhere"))
refused("ObjectNotFound", 404, oc.copy_object, ns, "cpsrc", details("missing", "cpdst", "elsewhere"))
refused("BucketNotFound", 404, oc.copy_object, ns, "cpsrc", details("small", "nosuchbucket", "elsewhere"))
refused("NamespaceNotFound", 404, oc.copy_object, ns, "cpsrc",
        CopyObjectDetails(source_object_name="small", destination_region=region, destination_namespace="someoneelse",
                          destination_bucket="cpdst", destination_object_name="elsewhere"))
refused("ObjectNotFound", 404, oc.get_object, ns, "cpdst", "elsewhere")
print("ok", done[0])
`

// TestNativeAPI: the native Object Storage API through the OCI Python
// SDK, with a key uploaded by cairnctl; the same dataset through boto3;
// and the refusals of OCI's signature scheme.
func TestNativeAPI(t *testing.T) {
	py := requirePython(t, "oci")
	// SSE-C over the test's plain HTTP, as the S3 SSE-C tests allow it.
	c := startCluster(t, harness.Options{ExtraGW: []string{"--allow-insecure-ssec"}})
	ctl(t, c, "namespace", "create", "ocitenant")
	ctl(t, c, "user", "create", "-n", "ocitenant", "alice")
	grantAll(t, c, "ocitenant", "alice")
	var s3key ctlKey
	if err := json.Unmarshal(ctl(t, c, "key", "create", "-n", "ocitenant", "-u", "alice", "-o", "json"), &s3key); err != nil {
		t.Fatal(err)
	}
	k := uploadAPIKey(t, c, "ocitenant", "alice")
	if table := string(ctl(t, c, "user", "list", "-n", "ocitenant")); !strings.Contains(table, k.UserOCID) {
		t.Fatalf("user list does not show the user's OCID:\n%s", table)
	}

	t.Run("sdk", func(t *testing.T) {
		if out := runOCI(t, py, c, k, s3key.AccessKeyID, s3key.Secret, ociSDKScript); strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("script printed %q", out)
		}
	})
	t.Run("congruence", func(t *testing.T) {
		if out := runOCI(t, py, c, k, s3key.AccessKeyID, s3key.Secret, congruenceScript); strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("script printed %q", out)
		}
	})
	t.Run("multipart", func(t *testing.T) {
		if out := runOCI(t, py, c, k, s3key.AccessKeyID, s3key.Secret, multipartScript); strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("script printed %q", out)
		}
	})
	t.Run("rename", func(t *testing.T) {
		if out := runOCI(t, py, c, k, s3key.AccessKeyID, s3key.Secret, renameScript); strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("script printed %q", out)
		}
	})

	// CopyObject and its work requests; a caller who may write the
	// destination but not read the source is refused and nothing is
	// written, and does not see the others' work requests.
	t.Run("copy", func(t *testing.T) {
		out := strings.Fields(string(runOCI(t, py, c, k, s3key.AccessKeyID, s3key.Secret, copyScript)))
		if len(out) != 2 || out[0] != "ok" {
			t.Fatalf("script printed %q", out)
		}
		wrID := out[1]
		ctl(t, c, "user", "create", "-n", "ocitenant", "copier")
		ctl(t, c, "group", "create", "-n", "ocitenant", "cpwriters")
		ctl(t, c, "group", "add-user", "-n", "ocitenant", "cpwriters", "copier")
		ctl(t, c, "policy", "create", "-n", "ocitenant", "cpdst-only", "--statement",
			"Allow group cpwriters to manage objects in tenancy where target.bucket.name = 'cpdst'")
		copier := uploadAPIKey(t, c, "ocitenant", "copier")
		do := func(who *ociKey, method, path string, body []byte) (int, string) {
			req, err := http.NewRequest(method, c.Endpoint+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			signedRequest(t, req, who, who.KeyID, time.Now(), body, nil)
			return ociError(t, req)
		}
		copyBody := func(srcName, dstName string) []byte {
			return []byte(`{"sourceObjectName":"` + srcName + `","destinationRegion":"` + c.Region +
				`","destinationNamespace":"ocitenant","destinationBucket":"cpdst","destinationObjectName":"` + dstName + `"}`)
		}
		if status, code := do(copier, http.MethodPost, "/n/ocitenant/b/cpsrc/actions/copyObject", copyBody("small", "copier-copy")); status != 404 || code != "NotAuthorizedOrNotFound" {
			t.Errorf("copy without read on the source: %d %q, want 404 NotAuthorizedOrNotFound", status, code)
		}
		if status, code := do(k, http.MethodGet, "/n/ocitenant/b/cpdst/o/copier-copy", nil); status != 404 || code != "ObjectNotFound" {
			t.Errorf("a refused copy wrote its destination: GET answers %d %q", status, code)
		}
		// Within cpdst, where the copier may read and write, it copies.
		if status, code := do(copier, http.MethodPost, "/n/ocitenant/b/cpdst/actions/copyObject", copyBody("existing", "copier-copy")); status != 202 {
			t.Errorf("the copier's copy within cpdst: %d %q, want 202", status, code)
		}
		if status, _ := do(k, http.MethodGet, "/n/ocitenant/b/cpdst/o/copier-copy", nil); status != 200 {
			t.Errorf("the copier's copy: GET answers %d", status)
		}
		// alice's work request reads cpsrc, which the copier may not inspect.
		for _, path := range []string{"/workRequests/" + wrID, "/workRequests/" + wrID + "/errors", "/workRequests/" + wrID + "/logs"} {
			if status, code := do(copier, http.MethodGet, path, nil); status != 404 || code != "NotAuthorizedOrNotFound" {
				t.Errorf("the copier GET %s: %d %q, want 404 NotAuthorizedOrNotFound", path, status, code)
			}
		}
		if status, _ := do(k, http.MethodGet, "/workRequests/"+wrID, nil); status != 200 {
			t.Errorf("alice GET her work request: %d", status)
		}
	})

	// Buckets live in the compartment compartmentId names (the tenancy's
	// OCID is the root), and ListBuckets lists one compartment. A
	// compartment's name is taken where its OCID is; answers name OCIDs.
	t.Run("compartments", func(t *testing.T) {
		ctl(t, c, "compartment", "create", "-n", "ocitenant", "eng")
		eng := compartmentOCIDs(t, c, "ocitenant")["eng"]
		do := func(method, path string, body []byte) *http.Response {
			req, err := http.NewRequest(method, c.Endpoint+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			signedRequest(t, req, k, k.KeyID, time.Now(), body, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			return resp
		}
		resp := do(http.MethodPost, "/n/ocitenant/b/", []byte(`{"name":"eng-data","compartmentId":"eng"}`))
		var b struct{ Name, CompartmentID string }
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != 200 || b.CompartmentID != eng {
			t.Fatalf("create in eng: %d %+v %v, want compartmentId %s", resp.StatusCode, b, err, eng)
		}
		names := func(comp string) string {
			resp := do(http.MethodGet, "/n/ocitenant/b/?compartmentId="+comp, nil)
			var list []struct{ Name string }
			if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != 200 {
				t.Fatalf("list %s: %d %v", comp, resp.StatusCode, err)
			}
			var out []string
			for _, x := range list {
				out = append(out, x.Name)
			}
			return strings.Join(out, " ")
		}
		if got := names("eng"); got != "eng-data" {
			t.Errorf("compartment eng lists %q", got)
		}
		if got := names(eng); got != "eng-data" {
			t.Errorf("compartment %s lists %q", eng, got)
		}
		if got := names(k.TenancyOCID); strings.Contains(got, "eng-data") {
			t.Errorf("the root compartment lists %q", got)
		}
		resp = do(http.MethodPost, "/n/ocitenant/b/", []byte(`{"name":"nowhere","compartmentId":"no-such-compartment"}`))
		if resp.StatusCode != 404 {
			t.Errorf("create in a missing compartment: %d", resp.StatusCode)
		}
		if resp := do(http.MethodDelete, "/n/ocitenant/b/eng-data/", nil); resp.StatusCode != 204 {
			t.Errorf("delete eng-data: %d", resp.StatusCode)
		}
	})

	// The same groups and policies as S3: a reader reads and cannot
	// write, and loses even that when it leaves its group.
	t.Run("policies", func(t *testing.T) {
		ctl(t, c, "user", "create", "-n", "ocitenant", "bob")
		ctl(t, c, "group", "create", "-n", "ocitenant", "readers")
		ctl(t, c, "group", "add-user", "-n", "ocitenant", "readers", "bob")
		ctl(t, c, "policy", "create", "-n", "ocitenant", "read-all", "--statement", "Allow group readers to read object-family in tenancy")
		bob := uploadAPIKey(t, c, "ocitenant", "bob")
		do := func(method, path string, body []byte) (int, string) {
			req, err := http.NewRequest(method, c.Endpoint+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			signedRequest(t, req, bob, bob.KeyID, time.Now(), body, nil)
			return ociError(t, req)
		}
		if status, code := do(http.MethodGet, "/n/ocitenant/b/shared/o/s3%2Fobj-1000", nil); status != 200 {
			t.Fatalf("reader GET: %d %q", status, code)
		}
		if status, code := do(http.MethodGet, "/n/ocitenant/b/shared/o?prefix=s3/", nil); status != 200 {
			t.Fatalf("reader list: %d %q", status, code)
		}
		for _, tc := range []struct {
			method, path string
			body         []byte
		}{
			{http.MethodPut, "/n/ocitenant/b/shared/o/bob-was-here", []byte("nope")},
			{http.MethodDelete, "/n/ocitenant/b/shared/o/s3%2Fobj-1000", nil},
			{http.MethodDelete, "/n/ocitenant/b/shared/", nil},
			{http.MethodPost, "/n/ocitenant/b/shared/u", []byte(`{"object":"bob-was-here"}`)},
			{http.MethodPost, "/n/ocitenant/b/shared/actions/renameObject", []byte(`{"sourceName":"s3/obj-1000","newName":"bob-was-here"}`)},
		} {
			if status, code := do(tc.method, tc.path, tc.body); status != 404 || code != "NotAuthorizedOrNotFound" {
				t.Errorf("reader %s %s: %d %q, want 404 NotAuthorizedOrNotFound", tc.method, tc.path, status, code)
			}
		}
		req, _ := http.NewRequest(http.MethodHead, c.Endpoint+"/n/ocitenant/b/shared/o/bob-was-here", nil)
		signedRequest(t, req, k, k.KeyID, time.Now(), nil, nil)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 404 {
			t.Fatalf("object of a refused PUT: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		ctl(t, c, "group", "remove-user", "-n", "ocitenant", "readers", "bob")
		start := time.Now()
		for {
			status, code := do(http.MethodGet, "/n/ocitenant/b/shared/o/s3%2Fobj-1000", nil)
			if status == 404 && code == "NotAuthorizedOrNotFound" {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("reader still reads %s after leaving its group (%d %q)", time.Since(start), status, code)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("namespace-metadata", func(t *testing.T) { testNamespaceMetadata(t, py, c, k, s3key) })
	t.Run("pars", func(t *testing.T) { testPARs(t, py, c) })
	t.Run("updatebucket", func(t *testing.T) { testUpdateBucket(t, py, c, k, s3key) })
	t.Run("cli", func(t *testing.T) { testOCICLI(t, c, k) })
	t.Run("ssec", func(t *testing.T) {
		if out := runOCI(t, py, c, k, s3key.AccessKeyID, s3key.Secret, ssecScript); strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("script printed %q", out)
		}
	})
	t.Run("conditional", func(t *testing.T) {
		if out := runOCI(t, py, c, k, s3key.AccessKeyID, s3key.Secret, condScript); strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("script printed %q", out)
		}
	})
	t.Run("ssec-multipart", func(t *testing.T) {
		if out := runOCI(t, py, c, k, s3key.AccessKeyID, s3key.Secret, ssecMultipartScript); strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("script printed %q", out)
		}
	})
	t.Run("ocifs", func(t *testing.T) {
		py := requirePython(t, "ocifs")
		if out := runOCI(t, py, c, k, s3key.AccessKeyID, s3key.Secret, ocifsScript); strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("script printed %q", out)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		nsURL := c.Endpoint + "/n/"
		get := func(keyID string, date time.Time, tamper bool) *http.Request {
			req, err := http.NewRequest(http.MethodGet, nsURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			signedRequest(t, req, k, keyID, date, nil, nil)
			if tamper {
				h := req.Header.Get("Authorization")
				i := strings.Index(h, `signature="`) + len(`signature="`)
				flip := byte('A')
				if h[i] == 'A' {
					flip = 'B'
				}
				req.Header.Set("Authorization", h[:i]+string(flip)+h[i+1:])
			}
			return req
		}
		if status, _ := ociError(t, get(k.KeyID, time.Now(), false)); status != 200 {
			t.Fatalf("a good signature: %d", status)
		}
		wrongFP := k.TenancyOCID + "/" + k.UserOCID + "/" + strings.Repeat("00:", 15) + "00"
		for name, req := range map[string]*http.Request{
			"bad signature":     get(k.KeyID, time.Now(), true),
			"wrong fingerprint": get(wrongFP, time.Now(), false),
			"wrong tenancy":     get("ocid1.tenancy.oc1..nope/"+k.UserOCID+"/"+k.Fingerprint, time.Now(), false),
			"clock 10 min slow": get(k.KeyID, time.Now().Add(-10*time.Minute), false),
			"clock 10 min fast": get(k.KeyID, time.Now().Add(10*time.Minute), false),
		} {
			if status, code := ociError(t, req); status != 401 || code != "NotAuthenticated" {
				t.Errorf("%s: %d %q, want 401 NotAuthenticated", name, status, code)
			}
		}
		// Unsigned, on the native endpoint's host: refused, not S3's.
		req, _ := http.NewRequest(http.MethodGet, nsURL, nil)
		req.Host = "objectstorage.us-east-1.example.com"
		if status, code := ociError(t, req); status != 401 || code != "NotAuthenticated" {
			t.Errorf("unsigned on the native host: %d %q", status, code)
		}

		// A body that is not the one x-content-sha256 names stores nothing.
		bucketURL := c.Endpoint + "/n/ocitenant/b/"
		body := []byte(`{"name":"tampered","compartmentId":"` + k.TenancyOCID + `"}`)
		other := sha256.Sum256([]byte(`{"name":"other"}`))
		req, _ = http.NewRequest(http.MethodPost, bucketURL, nil)
		signedRequest(t, req, k, k.KeyID, time.Now(), body, other[:])
		if status, code, msg := ociErrorMessage(t, req); status != 401 || code != "NotAuthenticated" || !strings.Contains(msg, "x-content-sha256") {
			t.Errorf("wrong x-content-sha256: %d %q %q", status, code, msg)
		}
		req, _ = http.NewRequest(http.MethodGet, bucketURL+"tampered/", nil)
		signedRequest(t, req, k, k.KeyID, time.Now(), nil, nil)
		if status, code := ociError(t, req); status != 404 || code != "BucketNotFound" {
			t.Errorf("bucket of a refused request: %d %q", status, code)
		}

		// So does object data under a signed x-content-sha256 that is not
		// its hash (the SDKs leave object data unsigned; a client may sign it).
		req, _ = http.NewRequest(http.MethodPost, bucketURL, nil)
		signedRequest(t, req, k, k.KeyID, time.Now(), []byte(`{"name":"refusals","compartmentId":"`+k.TenancyOCID+`"}`), nil)
		if status, code := ociError(t, req); status != 200 {
			t.Fatalf("create bucket refusals: %d %q", status, code)
		}
		objURL := c.Endpoint + "/n/ocitenant/b/refusals/o/tampered"
		req, _ = http.NewRequest(http.MethodPut, objURL, nil)
		signedRequest(t, req, k, k.KeyID, time.Now(), bytes.Repeat([]byte("x"), 100<<10), other[:])
		if status, code, msg := ociErrorMessage(t, req); status != 401 || code != "NotAuthenticated" || !strings.Contains(msg, "x-content-sha256") {
			t.Errorf("PUT with a wrong x-content-sha256: %d %q %q", status, code, msg)
		}
		req, _ = http.NewRequest(http.MethodHead, objURL, nil)
		signedRequest(t, req, k, k.KeyID, time.Now(), nil, nil)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 404 {
			t.Errorf("object of a refused PUT: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}

		// OCI's limit: three keys a user.
		uploadAPIKey(t, c, "ocitenant", "alice")
		uploadAPIKey(t, c, "ocitenant", "alice")
		pub := filepath.Join(t.TempDir(), "fourth.pem")
		priv, _ := rsa.GenerateKey(rand.Reader, 2048)
		der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
		_ = os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
		if msg := ctlFails(t, c, "apikey", "upload", "-n", "ocitenant", "-u", "alice", "--public-key", pub); !strings.Contains(msg, "3 API keys") {
			t.Errorf("fourth key: %s", msg)
		}
		if list := string(ctl(t, c, "apikey", "list", "-n", "ocitenant", "-u", "alice")); strings.Count(list, ":") < 3*15 || !strings.Contains(list, k.Fingerprint) {
			t.Errorf("apikey list:\n%s", list)
		}

		// A deleted key is refused within the key cache's window.
		ctl(t, c, "apikey", "delete", "-n", "ocitenant", "-u", "alice", k.Fingerprint)
		start := time.Now()
		for {
			status, code := ociError(t, get(k.KeyID, time.Now(), false))
			if status == 401 && code == "NotAuthenticated" {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("deleted key still accepted after %s (%d %q)", time.Since(start), status, code)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
