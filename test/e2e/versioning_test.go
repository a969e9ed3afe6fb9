package e2e

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// errHeader returns a response header of a failed SDK call.
func errHeader(err error, name string) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get(name)
	}
	return ""
}

func getVersion(t *testing.T, cl *s3.Client, bucket, key, id string) ([]byte, *s3.GetObjectOutput, error) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if id != "" {
		in.VersionId = aws.String(id)
	}
	out, err := cl.GetObject(ctxT(t, time.Minute), in)
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return b, out, err
}

// versionList renders ListObjectVersions as "key:id[*]" for versions and
// "key:id[*]D" for delete markers, in the order S3 lists them (by key,
// newest first).
func versionList(t *testing.T, cl *s3.Client, bucket string, maxKeys int32) []string {
	t.Helper()
	type entry struct {
		key, id string
		latest  bool
		marker  bool
	}
	var out []string
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)}
	if maxKeys > 0 {
		in.MaxKeys = aws.Int32(maxKeys)
	}
	for range 100 {
		res, err := cl.ListObjectVersions(ctxT(t, time.Minute), in)
		if err != nil {
			t.Fatalf("list versions: %v", err)
		}
		// The SDK splits versions and markers; merge them back by key,
		// the latest first (these tests have at most one marker per key,
		// and it is the latest).
		var es []entry
		for _, v := range res.Versions {
			es = append(es, entry{aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToBool(v.IsLatest), false})
		}
		for _, m := range res.DeleteMarkers {
			es = append(es, entry{aws.ToString(m.Key), aws.ToString(m.VersionId), aws.ToBool(m.IsLatest), true})
		}
		for i := 1; i < len(es); i++ {
			for j := i; j > 0 && (es[j].key < es[j-1].key || es[j].key == es[j-1].key && es[j].latest && !es[j-1].latest); j-- {
				es[j], es[j-1] = es[j-1], es[j]
			}
		}
		for _, e := range es {
			s := e.key + ":" + e.id
			if e.latest {
				s += "*"
			}
			if e.marker {
				s += "D"
			}
			out = append(out, s)
		}
		if !aws.ToBool(res.IsTruncated) {
			return out
		}
		in.KeyMarker, in.VersionIdMarker = res.NextKeyMarker, res.NextVersionIdMarker
	}
	t.Fatal("listing does not end")
	return nil
}

func wantVersions(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("versions\n got %q\nwant %q", got, want)
	}
}

// waitShards waits until the data nodes hold exactly want shards.
func waitShards(t *testing.T, c *harness.Cluster, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := countShards(t, c)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("data nodes hold %d shards, want %d", got, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestVersioning runs S3 versioning end to end on a multi-process
// cluster: versions and delete markers, reads, copies and tags of old
// versions, listings, Suspended null versions, and shards that stay until
// their version is deleted for good.
func TestVersioning(t *testing.T) {
	c := startCluster(t, harness.Options{ExtraMeta: []string{"--gc-grace", "1s"}})
	cl := client(c)
	ctx := ctxT(t, 10*time.Minute)
	mustCreateBucket(t, cl, "ver")
	b := aws.String("ver")
	k := aws.String("k")

	got, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	if err != nil || got.Status != "" {
		t.Fatalf("versioning of a new bucket: %v %v", got, err)
	}
	body0, body1, body2 := pattern(1, 100<<10), pattern(2, 120<<10), []byte("small version two")
	p0, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader(body0)})
	if err != nil || p0.VersionId != nil {
		t.Fatalf("put in an unversioned bucket: version %v, %v", aws.ToString(p0.VersionId), err)
	}
	_, err = cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled, MFADelete: types.MFADeleteEnabled}})
	wantAPIError(t, err, "NotImplemented", 501)
	if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	if got, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b}); err != nil || got.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning: %v %v", got, err)
	}
	p1, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader(body1)})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader(body2)})
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := aws.ToString(p1.VersionId), aws.ToString(p2.VersionId)
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" {
		t.Fatalf("version ids %q %q", v1, v2)
	}

	// Every version reads back by ID; the newest without one.
	for _, c := range []struct {
		id   string
		want []byte
	}{{"", body2}, {v2, body2}, {v1, body1}, {"null", body0}} {
		data, out, err := getVersion(t, cl, "ver", "k", c.id)
		if err != nil || !bytes.Equal(data, c.want) {
			t.Fatalf("get version %q: %d bytes, %v", c.id, len(data), err)
		}
		if want := c.id; want != "" && aws.ToString(out.VersionId) != want {
			t.Fatalf("get version %q answered version %q", c.id, aws.ToString(out.VersionId))
		}
	}
	if h, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k, VersionId: aws.String(v1)}); err != nil || aws.ToInt64(h.ContentLength) != int64(len(body1)) {
		t.Fatalf("head v1: %v %v", h, err)
	}
	_, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k, VersionId: aws.String("0123456789abcdef0123456789abcdef")})
	wantAPIError(t, err, "", 404)
	_, _, err = getVersion(t, cl, "ver", "k", "0123456789abcdef0123456789abcdef")
	wantAPIError(t, err, "NoSuchVersion", 404)

	// A simple DELETE puts a delete marker on top.
	d, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k})
	if err != nil || !aws.ToBool(d.DeleteMarker) || aws.ToString(d.VersionId) == "" {
		t.Fatalf("delete: %+v %v", d, err)
	}
	marker := aws.ToString(d.VersionId)
	_, _, err = getVersion(t, cl, "ver", "k", "")
	wantAPIError(t, err, "NoSuchKey", 404)
	if errHeader(err, "x-amz-delete-marker") != "true" || errHeader(err, "x-amz-version-id") != marker {
		t.Fatalf("GET under a delete marker: headers %q %q", errHeader(err, "x-amz-delete-marker"), errHeader(err, "x-amz-version-id"))
	}
	_, _, err = getVersion(t, cl, "ver", "k", marker)
	wantAPIError(t, err, "MethodNotAllowed", 405)
	if errHeader(err, "x-amz-delete-marker") != "true" {
		t.Fatal("GET of a delete marker lacks x-amz-delete-marker")
	}
	wantVersions(t, versionList(t, cl, "ver", 0), "k:"+marker+"*D", "k:"+v2, "k:"+v1, "k:null")
	wantVersions(t, versionList(t, cl, "ver", 1), "k:"+marker+"*D", "k:"+v2, "k:"+v1, "k:null")
	if lo, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b}); err != nil || len(lo.Contents) != 0 {
		t.Fatalf("ListObjectsV2 under a delete marker: %+v %v", lo, err)
	}

	// Old versions can be copied and tagged.
	cp, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: aws.String("copy"), CopySource: aws.String("ver/k?versionId=" + v1)})
	if err != nil || aws.ToString(cp.CopySourceVersionId) != v1 || aws.ToString(cp.VersionId) == "" {
		t.Fatalf("copy of v1: %+v %v", cp, err)
	}
	mustGetEqual(t, cl, "ver", "copy", body1)
	_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: aws.String("copy2"), CopySource: aws.String("ver/k?versionId=" + marker)})
	wantAPIError(t, err, "InvalidRequest", 400)
	if _, err := cl.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: b, Key: k, VersionId: aws.String(v1),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("old"), Value: aws.String("yes")}}}}); err != nil {
		t.Fatal(err)
	}
	tg, err := cl.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: k, VersionId: aws.String(v1)})
	if err != nil || len(tg.TagSet) != 1 || aws.ToString(tg.VersionId) != v1 {
		t.Fatalf("tags of v1: %+v %v", tg, err)
	}
	if tg, err := cl.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: k, VersionId: aws.String(v2)}); err != nil || len(tg.TagSet) != 0 {
		t.Fatalf("tags of v2: %+v %v", tg, err)
	}

	// Multipart uploads make versions too.
	mp, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	up, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("mp"), UploadId: mp.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("one part"))})
	if err != nil {
		t.Fatal(err)
	}
	done, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("mp"), UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag}}}})
	if err != nil || aws.ToString(done.VersionId) == "" || aws.ToString(done.VersionId) == "null" {
		t.Fatalf("complete: %+v %v", done, err)
	}

	// The bucket cannot go while versions remain.
	_, err = cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b})
	wantAPIError(t, err, "BucketNotEmpty", 409)

	// Shards stay with their versions: body0, body1 and the copy are
	// erasure coded (6 shards each); the rest is inline.
	time.Sleep(3 * time.Second) // past the GC grace period
	waitShards(t, c, 18)

	// Removing the marker brings v2 back; removing v1 frees its shards.
	if d, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k, VersionId: aws.String(marker)}); err != nil || !aws.ToBool(d.DeleteMarker) {
		t.Fatalf("delete the marker: %+v %v", d, err)
	}
	mustGetEqual(t, cl, "ver", "k", body2)
	if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k, VersionId: aws.String(v1)}); err != nil {
		t.Fatal(err)
	}
	waitShards(t, c, 12)
	wantVersions(t, versionList(t, cl, "ver", 0), "copy:"+aws.ToString(cp.VersionId)+"*", "k:"+v2+"*", "k:null", "mp:"+aws.ToString(done.VersionId)+"*")

	// Suspended: writes are the null version, replacing the old one (and
	// freeing body0's shards).
	if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	p3, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("suspended")})
	// As AWS: the write makes the null version and names none.
	if err != nil || p3.VersionId != nil {
		t.Fatalf("put while suspended: %v %v", aws.ToString(p3.VersionId), err)
	}
	waitShards(t, c, 6)
	wantVersions(t, versionList(t, cl, "ver", 0), "copy:"+aws.ToString(cp.VersionId)+"*", "k:null*", "k:"+v2, "mp:"+aws.ToString(done.VersionId)+"*")
	data, _, err := getVersion(t, cl, "ver", "k", "null")
	if err != nil || string(data) != "suspended" {
		t.Fatalf("null version: %q %v", data, err)
	}

	// DeleteObjects with version IDs empties the bucket.
	var ids []types.ObjectIdentifier
	for _, e := range versionList(t, cl, "ver", 0) {
		key, id, _ := strings.Cut(strings.TrimRight(e, "*D"), ":")
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(key), VersionId: aws.String(id)})
	}
	del, err := cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Objects: ids}})
	if err != nil || len(del.Errors) != 0 || len(del.Deleted) != len(ids) {
		t.Fatalf("delete objects: %+v %v", del, err)
	}
	if got := versionList(t, cl, "ver", 0); len(got) != 0 {
		t.Fatalf("left: %q", got)
	}
	waitShards(t, c, 0)
	if _, err := cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
		t.Fatalf("delete the emptied bucket: %v", err)
	}

	// A bucket that never had versioning: no version IDs, no markers.
	mustCreateBucket(t, cl, "plain")
	mustPut(t, cl, "plain", "x", []byte("x"))
	if d, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("plain"), Key: aws.String("x")}); err != nil || d.DeleteMarker != nil || d.VersionId != nil {
		t.Fatalf("delete in a plain bucket: %+v %v", d, err)
	}
	if got := versionList(t, cl, "plain", 0); len(got) != 0 {
		t.Fatalf("plain bucket versions: %q", got)
	}
	t.Run("Boto3", func(t *testing.T) { testBoto3Versioning(t, c, cl) })
}

// boto3VersioningScript runs the versioning calls of boto3 (its XML
// parsing of ListVersionsResult included) and prints what it saw.
const boto3VersioningScript = `
import json, os
import boto3
from botocore.config import Config

s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=os.environ["EP"], aws_access_key_id=os.environ["AK"],
                  aws_secret_access_key=os.environ["SK"], config=Config(s3={"addressing_style": "path"}))
b = os.environ["BUCKET"]
s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
out = {"status": s3.get_bucket_versioning(Bucket=b)["Status"]}
v1 = s3.put_object(Bucket=b, Key="doc", Body=b"first")["VersionId"]
v2 = s3.put_object(Bucket=b, Key="doc", Body=b"second")["VersionId"]
d = s3.delete_object(Bucket=b, Key="doc")
out["marker"] = d.get("DeleteMarker", False)
out["old"] = s3.get_object(Bucket=b, Key="doc", VersionId=v1)["Body"].read().decode()
lv = s3.list_object_versions(Bucket=b)
out["versions"] = [[v["VersionId"] == v2, v["IsLatest"]] for v in lv["Versions"]]
out["markers"] = [[m["VersionId"] == d["VersionId"], m["IsLatest"]] for m in lv["DeleteMarkers"]]
print(json.dumps(out))
`

func testBoto3Versioning(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	py := requireBoto3(t)
	mustCreateBucket(t, cl, "ver-boto")
	stdout := runBoto3(t, py, c, boto3VersioningScript, "BUCKET=ver-boto")
	want := `{"status": "Enabled", "marker": true, "old": "first", "versions": [[true, false], [false, false]], "markers": [[true, true]]}`
	if strings.TrimSpace(string(stdout)) != want {
		t.Fatalf("boto3 saw %s\nwant      %s", stdout, want)
	}
}
