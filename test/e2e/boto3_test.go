package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-store/cairn/test/harness"
)

// boto3UserScript does what a boto3 user does, with boto3's defaults
// (default transfer settings, default checksum behaviour, no extra
// config): presign a GET in our region, upload_file and download_file of a
// large file (multipart both ways), and a paginated listing.
const boto3UserScript = `
import hashlib, json, os, sys
import boto3

ep, ak, sk, region, bucket = (os.environ[k] for k in ("EP", "AK", "SK", "REGION", "BUCKET"))
s3 = boto3.client('s3', region_name=region, aws_access_key_id=ak, aws_secret_access_key=sk, endpoint_url=ep)
out = {}
out["presigned"] = s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'hello.txt'}, ExpiresIn=3600)

src, dst = os.environ["SRC"], os.environ["DST"]
s3.upload_file(src, bucket, "big/file.bin")
head = s3.head_object(Bucket=bucket, Key="big/file.bin")
out["etag"] = head["ETag"]
out["length"] = head["ContentLength"]
s3.download_file(bucket, "big/file.bin", dst)

keys = []
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix="many/", PaginationConfig={'PageSize': 250}):
    keys.extend(o["Key"] for o in page.get("Contents", []))
out["listed"] = keys
print(json.dumps(out))
`

func TestBoto3UserWorkflow(t *testing.T) {
	py := requireBoto3(t)
	c := startCluster(t, harness.Options{Region: "eu-central-1"})
	cl := client(c)
	mustCreateBucket(t, cl, "boto-user")
	hello := []byte("hello from cairn\n")
	mustPut(t, cl, "boto-user", "hello.txt", hello)
	var want []string
	for i := 0; i < 1100; i++ {
		k := "many/" + hex.EncodeToString([]byte{byte(i >> 8), byte(i)})
		want = append(want, k)
		mustPut(t, cl, "boto-user", k, []byte(k))
	}

	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.bin"), filepath.Join(dir, "dst.bin")
	data := pattern(91, 100<<20+333)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout := runBoto3(t, py, c, boto3UserScript, "BUCKET=boto-user", "SRC="+src, "DST="+dst)
	var out struct {
		Presigned string   `json:"presigned"`
		ETag      string   `json:"etag"`
		Length    int64    `json:"length"`
		Listed    []string `json:"listed"`
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("boto3 output: %v\n%s", err, stdout)
	}

	// The presigned URL works with a plain HTTP GET.
	resp, err := http.Get(out.Presigned)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, hello) {
		t.Fatalf("presigned GET %s: %d %q", out.Presigned, resp.StatusCode, body)
	}

	// upload_file went multipart (boto3's default threshold is 8 MiB), and
	// download_file brought back the same bytes.
	if out.Length != int64(len(data)) || len(out.ETag) < 4 || out.ETag[len(out.ETag)-4:] != `-13"` {
		t.Fatalf("uploaded object: length %d etag %s", out.Length, out.ETag)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("download_file: %d bytes differ from the %d uploaded", len(got), len(data))
	}
	mustGetEqual(t, cl, "boto-user", "big/file.bin", data)

	// The paginator saw every key once, in order.
	if len(out.Listed) != len(want) {
		t.Fatalf("paginator listed %d keys, want %d", len(out.Listed), len(want))
	}
	for i := range want {
		if out.Listed[i] != want[i] {
			t.Fatalf("paginator key %d: %q, want %q", i, out.Listed[i], want[i])
		}
	}
}
