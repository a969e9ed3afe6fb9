package e2e

import (
	"encoding/json"
	"testing"

	"github.com/cairn-store/cairn/test/harness"
)

// boto3SSECScript round-trips SSE-C objects with boto3 defaults: sizes 0,
// 1, 64 KiB ± 1, ranges at 64 KiB package boundaries ± 1, and refusals
// without the key or with another one.
const boto3SSECScript = `
import base64, hashlib, json, os
import boto3, botocore

ep, ak, sk, region, bucket = (os.environ[k] for k in ("EP", "AK", "SK", "REGION", "BUCKET"))
s3 = boto3.client('s3', region_name=region, aws_access_key_id=ak, aws_secret_access_key=sk, endpoint_url=ep)
key, other = bytes(range(32)), bytes(range(1, 33))
sse = dict(SSECustomerAlgorithm="AES256", SSECustomerKey=key)
out = {"ok": [], "errors": {}}
for n in (0, 1, 65535, 65536, 65537, 300000):
    data = hashlib.sha256(str(n).encode()).digest() * (n // 32 + 1)
    data = data[:n]
    s3.put_object(Bucket=bucket, Key=f"k{n}", Body=data, **sse)
    got = s3.get_object(Bucket=bucket, Key=f"k{n}", **sse)["Body"].read()
    assert got == data, n
    if n > 65537:
        for lo, hi in ((65535, 65536), (65536, 131072), (131071, 131073), (1, 200000)):
            r = s3.get_object(Bucket=bucket, Key=f"k{n}", Range=f"bytes={lo}-{hi}", **sse)["Body"].read()
            assert r == data[lo:hi+1], (lo, hi)
    out["ok"].append(n)
for name, kw in (("nokey", {}), ("otherkey", dict(SSECustomerAlgorithm="AES256", SSECustomerKey=other))):
    try:
        s3.head_object(Bucket=bucket, Key="k300000", **kw)
        out["errors"][name] = 200
    except botocore.exceptions.ClientError as e:
        out["errors"][name] = e.response["ResponseMetadata"]["HTTPStatusCode"]
print(json.dumps(out))
`

func TestBoto3SSEC(t *testing.T) {
	py := requireBoto3(t)
	c := startCluster(t, harness.Options{ExtraGW: []string{"--allow-insecure-ssec"}})
	mustCreateBucket(t, client(c), "boto-ssec")
	stdout := runBoto3(t, py, c, boto3SSECScript, "BUCKET=boto-ssec")
	var out struct {
		OK     []int          `json:"ok"`
		Errors map[string]int `json:"errors"`
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("boto3 output: %v\n%s", err, stdout)
	}
	if len(out.OK) != 6 {
		t.Fatalf("round trips: %v", out.OK)
	}
	if out.Errors["nokey"] != 400 || out.Errors["otherkey"] != 403 {
		t.Fatalf("HEAD without the key / with another key: %v (want 400 / 403)", out.Errors)
	}
}
