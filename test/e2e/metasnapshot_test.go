package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/test/harness"
)

type objectMeta struct {
	size int64
	etag string
}

// bucketObjects lists a bucket completely and HEADs every object.
func bucketObjects(t *testing.T, cl *s3.Client, bucket string) map[string]objectMeta {
	t.Helper()
	out := map[string]objectMeta{}
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(7)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctxT(t, 30*time.Second))
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			head, err := cl.HeadObject(ctxT(t, 30*time.Second), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatalf("head %s/%s: %v", bucket, aws.ToString(o.Key), err)
			}
			if aws.ToInt64(head.ContentLength) != aws.ToInt64(o.Size) || aws.ToString(head.ETag) != aws.ToString(o.ETag) {
				t.Fatalf("%s/%s: list says %d %s, head says %d %s", bucket, aws.ToString(o.Key),
					aws.ToInt64(o.Size), aws.ToString(o.ETag), aws.ToInt64(head.ContentLength), aws.ToString(head.ETag))
			}
			out[aws.ToString(o.Key)] = objectMeta{aws.ToInt64(head.ContentLength), aws.ToString(head.ETag)}
		}
	}
	return out
}

type bucketStatsRow struct {
	Namespace     string `json:"namespace"`
	Name          string `json:"name"`
	Objects       int64  `json:"objects"`
	Bytes         int64  `json:"bytes"`
	Shards        int64  `json:"shards"`
	InlineObjects int64  `json:"inline_objects"`
}

// TestMetaSnapshotRestore: namespaces, users, keys, buckets and objects
// (inline and erasure-coded) survive `cairnctl meta snapshot save` and a
// restore into a new meta group (new IDs, directories and ports) serving
// the same data nodes: listings, HEAD sizes and ETags, bytes, the tenant's
// access key, node list and bucket statistics all match.
func TestMetaSnapshotRestore(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)

	ctl(t, c, "namespace", "create", "snapten")
	ctl(t, c, "user", "create", "-n", "snapten", "carol")
	var key ctlKey
	if err := json.Unmarshal(ctl(t, c, "key", "create", "-n", "snapten", "-u", "carol", "-o", "json"), &key); err != nil {
		t.Fatal(err)
	}
	tenantKnown(t, c, key)

	bodies := map[string]map[string][]byte{"snap-a": {}, "snap-b": {}}
	for bucket := range bodies {
		mustCreateBucket(t, cl, bucket)
	}
	for i := 0; i < 24; i++ {
		bucket := "snap-a"
		if i%3 == 0 {
			bucket = "snap-b"
		}
		size := []int{0, 100, 3000, 70 << 10, 1 << 20}[i%5]
		k := fmt.Sprintf("dir%d/obj-%02d", i%4, i)
		body := pattern(int64(1000+i), size)
		mustPut(t, cl, bucket, k, body)
		bodies[bucket][k] = body
	}
	before := map[string]map[string]objectMeta{}
	for bucket := range bodies {
		before[bucket] = bucketObjects(t, cl, bucket)
	}
	statsBefore := ctl(t, c, "bucket", "stats", "snap-a", "-o", "json")

	file := filepath.Join(t.TempDir(), "meta.snapshot")
	out := string(ctl(t, c, "meta", "snapshot", "save", file))
	if !strings.Contains(out, "sha256") {
		t.Fatalf("snapshot save: %s", out)
	}
	ctl(t, c, "meta", "snapshot", "verify", file)

	// A write after the snapshot is not in it.
	mustPut(t, cl, "snap-a", "after-snapshot", []byte("not saved"))

	c.ReplaceMetas(t, "restored", 3, file)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx, len(c.Datas)); err != nil {
		t.Fatalf("restored cluster not ready: %v", err)
	}
	var members []memberRow
	if err := json.Unmarshal(ctl(t, c, "meta", "members", "-o", "json"), &members); err != nil || len(members) != 3 {
		t.Fatalf("restored members: %v %+v", err, members)
	}
	for _, m := range members {
		if !strings.HasPrefix(m.ID, "restored-") {
			t.Fatalf("restored group lists member %s", m.ID)
		}
	}

	cl = client(c)
	for bucket, want := range before {
		got := bucketObjects(t, cl, bucket)
		if len(got) != len(want) {
			t.Fatalf("%s: %d objects after restore, want %d", bucket, len(got), len(want))
		}
		for k, m := range want {
			if got[k] != m {
				t.Fatalf("%s/%s: %+v after restore, want %+v", bucket, k, got[k], m)
			}
			mustGetEqual(t, cl, bucket, k, bodies[bucket][k])
		}
	}
	if _, err := get(ctxT(t, 30*time.Second), cl, "snap-a", "after-snapshot", ""); err == nil {
		t.Fatal("an object written after the snapshot exists after the restore")
	}
	// The tenant's namespace, user and key came back too.
	tenantKnown(t, c, key)
	var keys []ctlKey
	if err := json.Unmarshal(ctl(t, c, "key", "list", "-n", "snapten", "-o", "json"), &keys); err != nil ||
		len(keys) != 1 || keys[0].AccessKeyID != key.AccessKeyID || keys[0].User != "carol" || !keys[0].Active {
		t.Fatalf("keys of snapten after restore: %v %+v", err, keys)
	}

	// cairnctl's inventory agrees.
	if got := ctl(t, c, "bucket", "stats", "snap-a", "-o", "json"); string(got) != string(statsBefore) {
		t.Fatalf("bucket stats: before %s after %s", statsBefore, got)
	}
	var st bucketStatsRow
	if err := json.Unmarshal(statsBefore, &st); err != nil {
		t.Fatal(err)
	}
	var wantBytes int64
	for _, b := range bodies["snap-a"] {
		wantBytes += int64(len(b))
	}
	if st.Objects != int64(len(bodies["snap-a"])) || st.Bytes != wantBytes || st.Shards == 0 || st.InlineObjects == 0 {
		t.Fatalf("bucket stats %+v: want %d objects, %d bytes, some shards and some inline", st, len(bodies["snap-a"]), wantBytes)
	}
	var buckets []struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	}
	if err := json.Unmarshal(ctl(t, c, "bucket", "list", "-o", "json"), &buckets); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range buckets {
		names = append(names, b.Namespace+"/"+b.Name)
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != st.Namespace+"/snap-a" || names[1] != st.Namespace+"/snap-b" {
		t.Fatalf("bucket list: %v", names)
	}
	if table := string(ctl(t, c, "bucket", "list", "--namespace", st.Namespace)); !strings.Contains(table, "snap-b") {
		t.Fatalf("bucket list --namespace %s:\n%s", st.Namespace, table)
	}
	if table := string(ctl(t, c, "bucket", "list", "--namespace", "snapten")); strings.Contains(table, "snap-a") {
		t.Fatalf("bucket list --namespace snapten:\n%s", table)
	}
	var nodes []struct {
		ID      string `json:"id"`
		Host    string `json:"host"`
		Healthy bool   `json:"healthy"`
	}
	if err := json.Unmarshal(ctl(t, c, "node", "list", "-o", "json"), &nodes); err != nil || len(nodes) != len(c.Datas) {
		t.Fatalf("node list: %v %+v", err, nodes)
	}
	for _, n := range nodes {
		if !n.Healthy {
			t.Fatalf("node %s unhealthy after restore", n.ID)
		}
	}
	if table := string(ctl(t, c, "node", "list")); !strings.Contains(table, "CAPACITY") || !strings.Contains(table, "data-1") {
		t.Fatalf("node list table:\n%s", table)
	}
	// Errors an operator can act on, with non-zero exits.
	if msg := ctlFails(t, c, "bucket", "stats", "no-such-bucket"); !strings.Contains(msg, "not found") {
		t.Fatalf("stats of a missing bucket: %s", msg)
	}
	if msg := ctlFails(t, c, "meta", "remove", "no-such-member"); !strings.Contains(msg, "not in the meta group") {
		t.Fatalf("remove a missing member: %s", msg)
	}
}

// tenantKnown checks that the gateway knows the tenant's access key and
// secret: a signed request is not refused for its key or signature (its
// permissions are another matter).
func tenantKnown(t *testing.T, c *harness.Cluster, key ctlKey) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s3Client(c, key.AccessKeyID, key.Secret).ListBuckets(ctxT(t, 30*time.Second), &s3.ListBucketsInput{})
		code, _ := apiCode(err)
		if code != "InvalidAccessKeyId" && code != "SignatureDoesNotMatch" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tenant's key is refused: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
