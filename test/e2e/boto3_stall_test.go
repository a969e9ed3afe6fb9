package e2e

import (
	"encoding/json"
	"testing"

	"github.com/cairn-store/cairn/test/harness"
)

// boto3ConcurrentPuts runs 300 PUTs from 16 threads sharing one boto3
// client (boto3 sends Expect: 100-continue on PUTs), three times, each on
// a fresh client, and prints the slowest request of each run.
const boto3ConcurrentPuts = `
import json, os, time
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config

ep, ak, sk, region, bucket = (os.environ[k] for k in ("EP", "AK", "SK", "REGION", "BUCKET"))
body = os.urandom(64 * 1024 + 17)
runs = []
for run in range(3):
    s3 = boto3.client('s3', region_name=region, aws_access_key_id=ak, aws_secret_access_key=sk, endpoint_url=ep,
                      config=Config(retries={'max_attempts': 1}, read_timeout=30))
    def put(i):
        start = time.monotonic()
        s3.put_object(Bucket=bucket, Key="run%d/key-%03d" % (run, i), Body=body)
        return time.monotonic() - start
    with ThreadPoolExecutor(max_workers=16) as pool:
        took = list(pool.map(put, range(300)))
    runs.append({"max": max(took), "over5s": sum(1 for t in took if t > 5)})
print(json.dumps(runs))
`

// TestBoto3ConcurrentPutsNeverStall: no PUT of a multi-threaded boto3
// client (default connection pool of 10 for 16 threads) waits on the
// gateway. A few PUTs per run were once seen hanging until the client's
// read timeout, though the gateway had finished them; on this machine the
// stall did not reproduce, with or without the Expect: 100-continue fix,
// so this test guards against it rather than proving its cause.
func TestBoto3ConcurrentPutsNeverStall(t *testing.T) {
	py := requireBoto3(t)
	c := startCluster(t, harness.Options{})
	mustCreateBucket(t, client(c), "stall")
	out := runBoto3(t, py, c, boto3ConcurrentPuts, "BUCKET=stall")
	var runs []struct {
		Max    float64 `json:"max"`
		Over5s int     `json:"over5s"`
	}
	if err := json.Unmarshal(out, &runs); err != nil || len(runs) != 3 {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	for i, r := range runs {
		t.Logf("run %d: 300 PUTs, slowest %.2f s", i+1, r.Max)
		if r.Over5s > 0 || r.Max > 5 {
			t.Errorf("run %d: %d PUTs took over 5 s (slowest %.1f s)", i+1, r.Over5s, r.Max)
		}
	}
}

// boto3OtherRegion uses a boto3 client configured for a region the
// gateway does not serve: the refusal names the region served, and boto3
// signs again for it.
const boto3OtherRegion = `
import json, os
import boto3
ep, ak, sk, bucket = (os.environ[k] for k in ("EP", "AK", "SK", "BUCKET"))
s3 = boto3.client('s3', region_name='ap-south-1', aws_access_key_id=ak, aws_secret_access_key=sk, endpoint_url=ep)
s3.put_object(Bucket=bucket, Key='elsewhere', Body=b'signed for the wrong region first')
body = s3.get_object(Bucket=bucket, Key='elsewhere')['Body'].read().decode()
print(json.dumps({"body": body}))
`

// TestBoto3FollowsTheRegionNamedInTheRefusal: issue 14's region mismatch.
func TestBoto3FollowsTheRegionNamedInTheRefusal(t *testing.T) {
	py := requireBoto3(t)
	c := startCluster(t, harness.Options{Region: "eu-central-1"})
	mustCreateBucket(t, client(c), "elsewhere")
	out := runBoto3(t, py, c, boto3OtherRegion, "BUCKET=elsewhere")
	var res struct{ Body string }
	if err := json.Unmarshal(out, &res); err != nil || res.Body != "signed for the wrong region first" {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
}
