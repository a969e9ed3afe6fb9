package e2e

// ssecScript: SSE-C both ways. boto3 writes with a customer key and the
// OCI SDK reads the bytes with the same key in opc-sse-customer-*
// headers; the OCI SDK writes with the key and boto3 reads it. Without
// the key, or with another, each API refuses in its own vocabulary.
const ssecScript = ociScriptPrelude + `
import os, oci, boto3, base64, hashlib
from botocore.config import Config
from botocore.exceptions import ClientError
from oci.object_storage.models import CreateBucketDetails
def oci_key(k):
    return {"opc_sse_customer_algorithm": "AES256", "opc_sse_customer_key": base64.b64encode(k).decode(),
            "opc_sse_customer_key_sha256": base64.b64encode(hashlib.sha256(k).digest()).decode()}

key, other = os.urandom(32), os.urandom(32)
ns = oc.get_namespace().data
oc.create_bucket(ns, CreateBucketDetails(name="ssec", compartment_id=os.environ["TENANCY"]))
for size in (1000, 300000):  # inline and erasure coded
    data = os.urandom(size)
    k = "from-s3-%d" % size
    s3.put_object(Bucket="ssec", Key=k, Body=data, Metadata={"origin": "boto3"},
                  SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    g = oc.get_object(ns, "ssec", k, **oci_key(key))
    assert g.data.content == data, "the SDK read other bytes"
    assert g.headers["opc-meta-origin"] == "boto3", dict(g.headers)
    assert g.headers["opc-sse-customer-key-sha256"] == oci_key(key)["opc_sse_customer_key_sha256"], dict(g.headers)
    assert "content-md5" not in g.headers, "an SSE-C object's MD5 is not told"
    r = oc.get_object(ns, "ssec", k, range="bytes=10-19", **oci_key(key))
    assert r.status == 206 and r.data.content == data[10:20]
    h = oc.head_object(ns, "ssec", k, **oci_key(key))
    assert h.headers["content-length"] == str(size), dict(h.headers)
    refused("InvalidParameter", 400, oc.get_object, ns, "ssec", k)
    refused("InvalidParameter", 400, oc.get_object, ns, "ssec", k, **oci_key(other))
    bad = dict(oci_key(key), opc_sse_customer_key_sha256=oci_key(other)["opc_sse_customer_key_sha256"])
    refused("InvalidParameter", 400, oc.get_object, ns, "ssec", k, **bad)

    k = "from-oci-%d" % size
    put = oc.put_object(ns, "ssec", k, data, opc_meta={"origin": "oci"}, **oci_key(key))
    assert put.headers["opc-sse-customer-algorithm"] == "AES256", dict(put.headers)
    b = s3.get_object(Bucket="ssec", Key=k, SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    assert b["Body"].read() == data and b["Metadata"] == {"origin": "oci"}, "boto3 read other bytes"
    assert b["ETag"].strip('"') == put.headers["etag"], (b["ETag"], put.headers["etag"])
    for kw in ({}, {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": other}):
        try:
            s3.get_object(Bucket="ssec", Key=k, **kw)
            raise AssertionError("boto3 read SSE-C data without its key")
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403), e.response
    assert oc.get_object(ns, "ssec", k, **oci_key(key)).data.content == data
print("ok")
`

// ocifsScript: boto3 writes a file and ocifs (fsspec) reads it through
// the native API, pointed at the gateway with config_kwargs.
const ocifsScript = ociScriptPrelude + `
import os, boto3, ocifs
from botocore.config import Config
s3.create_bucket(Bucket="fsspec")
data = os.urandom(300000)
s3.put_object(Bucket="fsspec", Key="dir/file.bin", Body=data)
s3.put_object(Bucket="fsspec", Key="dir/small.txt", Body=b"small")
fs = ocifs.OCIFileSystem(config=cfg, config_kwargs={"service_endpoint": os.environ["EP"]})
with fs.open("oci://fsspec@ocitenant/dir/file.bin", "rb") as f:
    assert f.read() == data, "ocifs read other bytes"
assert fs.cat("oci://fsspec@ocitenant/dir/small.txt") == b"small"
assert fs.info("oci://fsspec@ocitenant/dir/file.bin")["size"] == len(data)
names = sorted(fs.ls("oci://fsspec@ocitenant/dir/"))
assert names == ["fsspec@ocitenant/dir/file.bin", "fsspec@ocitenant/dir/small.txt"], names
print("ok")
`
