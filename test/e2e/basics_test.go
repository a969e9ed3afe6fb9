package e2e

import (
	"context"
	"fmt"
	"math/rand"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/test/harness"
)

// TestBasics runs the non-destructive acceptance checks against one
// multi-process cluster (3 meta, 6 data, 1 gateway).
func TestBasics(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, c, cl) })
	t.Run("ListObjectsV2", func(t *testing.T) { testListing(t, cl) })
	t.Run("ShardsOnDistinctNodes", func(t *testing.T) { testShardPlacement(t, c, cl) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, c, cl) })
}

func testRoundTrip(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	mustCreateBucket(t, cl, "roundtrip")
	sizes := []int{0, 1, 5<<20 + 7, 64 << 20}
	objs := map[string][]byte{}
	for i, n := range sizes {
		key := fmt.Sprintf("obj-%d", n)
		objs[key] = pattern(int64(i+1), n)
		mustPut(t, cl, "roundtrip", key, objs[key])
	}
	for key, want := range objs {
		mustGetEqual(t, cl, "roundtrip", key, want)
		head, err := cl.HeadObject(ctxT(t, 30*time.Second), &s3.HeadObjectInput{Bucket: aws.String("roundtrip"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("head %s: %v", key, err)
		}
		if aws.ToInt64(head.ContentLength) != int64(len(want)) {
			t.Fatalf("head %s: length %d, want %d", key, aws.ToInt64(head.ContentLength), len(want))
		}
	}

	// Ranges: stripe boundaries ±1 (4 x 256 KiB stripes), the tail, suffix
	// and open ranges, and random slices.
	rng := rand.New(rand.NewSource(42))
	for _, key := range []string{"obj-5242887", "obj-67108864"} {
		data := objs[key]
		size := int64(len(data))
		type r struct {
			spec     string
			off, end int64
		}
		var cases []r
		for _, b := range []int64{1 << 20, 2 << 20, 256 << 10, 5 << 20} {
			for _, d := range []int64{-1, 0, 1} {
				off := b + d
				if off < size {
					cases = append(cases, r{fmt.Sprintf("bytes=%d-%d", off, min(off+300000, size-1)), off, min(off+300000, size-1)})
				}
			}
		}
		cases = append(cases,
			r{"bytes=0-0", 0, 0},
			r{fmt.Sprintf("bytes=%d-", size-10), size - 10, size - 1},
			r{"bytes=-1000", size - 1000, size - 1},
			r{fmt.Sprintf("bytes=100-%d", size+5000), 100, size - 1},
		)
		for i := 0; i < 20; i++ {
			off := rng.Int63n(size)
			end := off + rng.Int63n(min(size-off, 3<<20))
			cases = append(cases, r{fmt.Sprintf("bytes=%d-%d", off, end), off, end})
		}
		for _, tc := range cases {
			got, err := get(ctxT(t, time.Minute), cl, "roundtrip", key, tc.spec)
			if err != nil {
				t.Fatalf("%s %s: %v", key, tc.spec, err)
			}
			if want := data[tc.off : tc.end+1]; string(got) != string(want) {
				t.Fatalf("%s %s: got %d bytes, want %d (content differs)", key, tc.spec, len(got), len(want))
			}
		}
	}
	// A range past the end is 416 InvalidRange.
	_, err := get(ctxT(t, time.Minute), cl, "roundtrip", "obj-1", "bytes=5-10")
	wantAPIError(t, err, "InvalidRange", http.StatusRequestedRangeNotSatisfiable)
}

func testListing(t *testing.T, cl *s3.Client) {
	mustCreateBucket(t, cl, "listing")
	// 2,500 keys over a few prefixes, written concurrently.
	var keys []string
	for i := 0; i < 2500; i++ {
		keys = append(keys, fmt.Sprintf("dir%d/sub%d/key-%05d", i%5, i%7, i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	sem := make(chan struct{}, 32)
	for _, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func(k string) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := put(context.Background(), cl, "listing", k, []byte(k)); err != nil {
				errs <- fmt.Errorf("%s: %w", k, err)
			}
		}(k)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sort.Strings(keys)

	listAll := func(prefix, delim string, page int32) (objs, prefixes []string) {
		p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{
			Bucket: aws.String("listing"), Prefix: aws.String(prefix), Delimiter: aws.String(delim), MaxKeys: aws.Int32(page),
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctxT(t, time.Minute))
			if err != nil {
				t.Fatalf("list prefix=%q delim=%q: %v", prefix, delim, err)
			}
			if n := len(out.Contents) + len(out.CommonPrefixes); n > int(page) {
				t.Fatalf("page of %d entries exceeds max-keys %d", n, page)
			}
			for _, o := range out.Contents {
				objs = append(objs, aws.ToString(o.Key))
			}
			for _, cp := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(cp.Prefix))
			}
		}
		return objs, prefixes
	}
	exactlyOnceInOrder := func(what string, got, want []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d entries, want %d", what, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: entry %d is %q, want %q", what, i, got[i], want[i])
			}
		}
	}

	all, _ := listAll("", "", 137)
	exactlyOnceInOrder("full listing", all, keys)

	var dir2 []string
	for _, k := range keys {
		if strings.HasPrefix(k, "dir2/") {
			dir2 = append(dir2, k)
		}
	}
	got, _ := listAll("dir2/", "", 100)
	exactlyOnceInOrder("prefix listing", got, dir2)

	objs, prefixes := listAll("", "/", 2)
	if len(objs) != 0 {
		t.Fatalf("delimiter listing at the root returned objects %v", objs)
	}
	exactlyOnceInOrder("root common prefixes", prefixes, []string{"dir0/", "dir1/", "dir2/", "dir3/", "dir4/"})

	objs, prefixes = listAll("dir3/", "/", 3)
	if len(objs) != 0 {
		t.Fatalf("objects directly under dir3/: %v", objs)
	}
	var want []string
	for i := 0; i < 7; i++ {
		want = append(want, fmt.Sprintf("dir3/sub%d/", i))
	}
	exactlyOnceInOrder("dir3 common prefixes", prefixes, want)

	// StartAfter skips exactly the keys up to and including it.
	out, err := cl.ListObjectsV2(ctxT(t, time.Minute), &s3.ListObjectsV2Input{Bucket: aws.String("listing"), StartAfter: aws.String(keys[1000]), MaxKeys: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 5 || aws.ToString(out.Contents[0].Key) != keys[1001] {
		t.Fatalf("start-after: got %d keys starting %q", len(out.Contents), aws.ToString(out.Contents[0].Key))
	}
}

func testShardPlacement(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	mustCreateBucket(t, cl, "placement")
	ctx := ctxT(t, time.Minute)
	mc := c.MetaClient(t)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	for _, n := range st.GetNodes() {
		addrs[n.GetNode().GetId()] = n.GetNode().GetAddr()
	}
	for i := 0; i < 10; i++ {
		key := fmt.Sprintf("o%d", i)
		mustPut(t, cl, "placement", key, pattern(int64(100+i), 1<<20+i))
		v, err := metaclient.Meta(ctx, mc, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
			return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "default", Bucket: "placement", Key: key})
		})
		if err != nil {
			t.Fatal(err)
		}
		shards := v.GetVersion().GetShards()
		if len(shards) != 6 {
			t.Fatalf("%s: %d shards, want 6", key, len(shards))
		}
		seen := map[string]bool{}
		for _, s := range shards {
			if s.GetNodeId() == "" || seen[s.GetNodeId()] {
				t.Fatalf("%s: shard %d on %q; nodes must be distinct: %v", key, s.GetIndex(), s.GetNodeId(), shards)
			}
			seen[s.GetNodeId()] = true
			// The node really holds it.
			info := statShard(t, c, addrs[s.GetNodeId()], fmt.Sprintf("%s.%d", v.GetVersion().GetVersionId(), s.GetIndex()))
			if info.GetBytes() == 0 {
				t.Fatalf("%s: shard %d on %s is empty", key, s.GetIndex(), s.GetNodeId())
			}
		}
	}
}

func testBadInput(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	ctx := ctxT(t, 2*time.Minute)
	mustCreateBucket(t, cl, "badinput")
	original := pattern(7, 100<<10)
	mustPut(t, cl, "badinput", "keep", original)

	wrongSecret := s3Client(c, c.AccessKey, "not-the-secret")
	err := put(ctx, wrongSecret, "badinput", "keep", []byte("overwrite!"))
	wantAPIError(t, err, "SignatureDoesNotMatch", http.StatusForbidden)
	_, err = wrongSecret.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("badinput"), Key: aws.String("keep")})
	wantAPIError(t, err, "SignatureDoesNotMatch", http.StatusForbidden)

	unknown := s3Client(c, "NOSUCHACCESSKEY", "whatever")
	err = put(ctx, unknown, "badinput", "keep", []byte("overwrite!"))
	wantAPIError(t, err, "InvalidAccessKeyId", http.StatusForbidden)
	_, err = unknown.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("badinput")})
	wantAPIError(t, err, "InvalidAccessKeyId", http.StatusForbidden)

	_, err = get(ctx, cl, "no-such-bucket", "k", "")
	wantAPIError(t, err, "NoSuchBucket", http.StatusNotFound)
	err = put(ctx, cl, "no-such-bucket", "k", []byte("x"))
	wantAPIError(t, err, "NoSuchBucket", http.StatusNotFound)

	_, err = get(ctx, cl, "badinput", "no-such-key", "")
	wantAPIError(t, err, "NoSuchKey", http.StatusNotFound)

	// Path-style creation follows OCI's naming rule (the seeds' own
	// example bucket is PresignedBlog); what it refuses is refused.
	for _, name := range []string{"Bad Bucket", "star*", "über", strings.Repeat("x", 257)} {
		_, err = cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		wantAPIError(t, err, "InvalidBucketName", http.StatusBadRequest)
	}
	mustCreateBucket(t, cl, "PresignedBlog")
	mustPut(t, cl, "PresignedBlog", "Mixed_Case/key", []byte("oci names"))
	mustGetEqual(t, cl, "PresignedBlog", "Mixed_Case/key", []byte("oci names"))

	_, err = cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("badinput")})
	wantAPIError(t, err, "BucketNotEmpty", http.StatusConflict)

	// Nothing changed: the object and the bucket are intact, and no bad
	// bucket was created.
	mustGetEqual(t, cl, "badinput", "keep", original)
	lb, err := cl.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range lb.Buckets {
		if n := aws.ToString(b.Name); n == "Bad Bucket" || n == "star*" {
			t.Fatalf("invalid bucket %q was created", n)
		}
	}
	list, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("badinput")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "keep" {
		t.Fatalf("bucket contents changed: %v", list.Contents)
	}

	// Errors are S3 XML with a request ID.
	req, _ := http.NewRequest(http.MethodGet, c.Endpoint+"/badinput/keep", nil)
	status, body := httpStatus(t, req)
	if status != http.StatusForbidden || !strings.Contains(string(body), "<Code>AccessDenied</Code>") || !strings.Contains(string(body), "<RequestId>") {
		t.Fatalf("anonymous GET: %d %s", status, body)
	}
}
