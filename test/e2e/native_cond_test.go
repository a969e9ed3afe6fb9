package e2e

// condScript: if-match / if-none-match on GetObject, HeadObject and
// DeleteObject through the OCI SDK: 412 for an if-match that fails, 304
// for an if-none-match that names the ETag, a conditional delete that
// deletes nothing when it fails. boto3's (quoted) ETag is the same one.
const condScript = ociScriptPrelude + `
oc.create_bucket(ns, CreateBucketDetails(name="cond", compartment_id=os.environ["TENANCY"]))
for k, size in (("small", 100), ("big", 300000)):  # inline and erasure coded
    data = os.urandom(size)
    etag = oc.put_object(ns, "cond", k, data).headers["etag"]
    quoted = s3.head_object(Bucket="cond", Key=k)["ETag"]
    assert quoted == '"%s"' % etag, (quoted, etag)
    for tag in (etag, quoted, "*"):
        assert oc.get_object(ns, "cond", k, if_match=tag).data.content == data
        assert oc.head_object(ns, "cond", k, if_match=tag).status == 200
    assert oc.get_object(ns, "cond", k, if_none_match="0" * 32).data.content == data
    assert oc.head_object(ns, "cond", k, if_none_match="0" * 32).status == 200
    refused("PreconditionFailed", 412, oc.get_object, ns, "cond", k, if_match="0" * 32)
    refused("PreconditionFailed", 412, oc.head_object, ns, "cond", k, if_match="0" * 32)
    for f in (oc.get_object, oc.head_object):
        for tag in (etag, quoted):
            try:
                f(ns, "cond", k, if_none_match=tag)
                raise AssertionError("%s with a matching if-none-match succeeded" % f.__name__)
            except oci.exceptions.ServiceError as e:
                assert e.status == 304, (e.status, e.code, e.message)
                assert e.headers.get("etag") == etag, dict(e.headers)
        refused("InvalidParameter", 400, f, ns, "cond", k, if_none_match="*")  # no wildcard, as OCI

    # A delete whose if-match fails deletes nothing.
    refused("PreconditionFailed", 412, oc.delete_object, ns, "cond", k, if_match="0" * 32)
    assert oc.get_object(ns, "cond", k).data.content == data, "a refused delete deleted"
    assert oc.delete_object(ns, "cond", k, if_match=etag if k == "small" else quoted).status == 204
    refused("ObjectNotFound", 404, oc.head_object, ns, "cond", k)
    refused("ObjectNotFound", 404, oc.delete_object, ns, "cond", k, if_match=etag)
refused("ObjectNotFound", 404, oc.get_object, ns, "cond", "small", if_match="*")
print("ok")
`

// ssecMultipartScript: SSE-C multipart uploads through the native API.
// The SDK's UploadManager uploads 5 MiB + 1000 bytes in two parts with a
// key, read back through the SDK and boto3 with it and refused without
// it; explicit calls show a part without the key, or with another, is
// refused; one upload takes parts through both APIs, begun through
// either.
const ssecMultipartScript = ociScriptPrelude + `
from oci.object_storage import UploadManager
key, other = os.urandom(32), os.urandom(32)
oc.create_bucket(ns, CreateBucketDetails(name="ssecmp", compartment_id=os.environ["TENANCY"]))
part1, part2 = os.urandom(5 << 20), os.urandom(1000)
data = part1 + part2
def readable(k):
    g = oc.get_object(ns, "ssecmp", k, **oci_key(key))
    assert g.data.content == data, "the SDK read other bytes of " + k
    assert g.headers["opc-sse-customer-key-sha256"] == oci_key(key)["opc_sse_customer_key_sha256"], dict(g.headers)
    assert "opc-multipart-md5" not in g.headers and "content-md5" not in g.headers, dict(g.headers)
    b = s3.get_object(Bucket="ssecmp", Key=k, SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    assert b["Body"].read() == data, "boto3 read other bytes of " + k
    refused("InvalidParameter", 400, oc.get_object, ns, "ssecmp", k)
    refused("InvalidParameter", 400, oc.head_object, ns, "ssecmp", k, **oci_key(other))
    for kw in ({}, {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": other}):
        try:
            s3.get_object(Bucket="ssecmp", Key=k, **kw)
            raise AssertionError("boto3 read SSE-C data without its key")
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403), e.response

with tempfile.NamedTemporaryFile() as f:
    f.write(data)
    f.flush()
    um = UploadManager(oc, allow_parallel_uploads=False)
    um.upload_file(ns, "ssecmp", "managed", f.name, part_size=5 << 20, **oci_key(key))
readable("managed")

# Begun through the native API; part 1 through it, part 2 through S3.
made = oc.create_multipart_upload(ns, "ssecmp", CreateMultipartUploadDetails(object="mixed"), **oci_key(key))
assert made.headers["opc-sse-customer-algorithm"] == "AES256", dict(made.headers)
uid = made.data.upload_id
refused("InvalidParameter", 400, oc.upload_part, ns, "ssecmp", "mixed", uid, 1, part1)
refused("InvalidParameter", 400, oc.upload_part, ns, "ssecmp", "mixed", uid, 1, part1, **oci_key(other))
p1 = oc.upload_part(ns, "ssecmp", "mixed", uid, 1, part1, **oci_key(key))
assert p1.headers["opc-sse-customer-key-sha256"] == oci_key(key)["opc_sse_customer_key_sha256"], dict(p1.headers)
try:
    s3.upload_part(Bucket="ssecmp", Key="mixed", UploadId=uid, PartNumber=2, Body=part2)
    raise AssertionError("S3 took a part of an SSE-C upload without its key")
except ClientError as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response
p2 = s3.upload_part(Bucket="ssecmp", Key="mixed", UploadId=uid, PartNumber=2, Body=part2,
                    SSECustomerAlgorithm="AES256", SSECustomerKey=key)
listed = oc.list_multipart_upload_parts(ns, "ssecmp", "mixed", uid).data
assert [p.part_number for p in listed] == [1, 2] and not any(p.md5 for p in listed), listed
done = oc.commit_multipart_upload(ns, "ssecmp", "mixed", uid, CommitMultipartUploadDetails(parts_to_commit=[
    CommitMultipartUploadPartDetails(part_num=1, etag=p1.headers["etag"]),
    CommitMultipartUploadPartDetails(part_num=2, etag=p2["ETag"])]))
assert "opc-multipart-md5" not in done.headers, dict(done.headers)
readable("mixed")

# Begun through S3 with the key; parts through the native API, finished through S3.
uid = s3.create_multipart_upload(Bucket="ssecmp", Key="from-s3", SSECustomerAlgorithm="AES256",
                                 SSECustomerKey=key)["UploadId"]
refused("InvalidParameter", 400, oc.upload_part, ns, "ssecmp", "from-s3", uid, 1, part1)
parts = [oc.upload_part(ns, "ssecmp", "from-s3", uid, n, body, **oci_key(key)).headers["etag"]
         for n, body in ((1, part1), (2, part2))]
s3.complete_multipart_upload(Bucket="ssecmp", Key="from-s3", UploadId=uid, MultipartUpload={"Parts": [
    {"PartNumber": n + 1, "ETag": '"%s"' % e} for n, e in enumerate(parts)]})
readable("from-s3")

# An upload without a key takes no key on its parts.
uid = oc.create_multipart_upload(ns, "ssecmp", CreateMultipartUploadDetails(object="plain")).data.upload_id
refused("InvalidParameter", 400, oc.upload_part, ns, "ssecmp", "plain", uid, 1, b"x" * 10, **oci_key(key))
oc.abort_multipart_upload(ns, "ssecmp", "plain", uid)
print("ok")
`
