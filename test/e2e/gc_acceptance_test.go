package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/test/harness"
)

// shardSet lists every shard the data nodes hold, as "node/shard".
func shardSet(t *testing.T, c *harness.Cluster) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, p := range c.Datas {
		stream, err := dataClient(t, c, pki.RoleMeta, p.Addr).ListShards(ctxT(t, time.Minute), &cairnpb.ListShardsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			r, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("list shards on %s: %v", p.Name, err)
			}
			for _, s := range r.GetShards() {
				out[p.Name+"/"+s.GetShardId()] = true
			}
		}
	}
	return out
}

// TestGCAcceptance: after overwriting 1,000 objects, deleting half of
// them and aborting 50 multipart uploads, the data nodes' own accounting of
// used bytes comes back, once the GC grace has passed, to the live data's
// size times the erasure overhead (6/4) within a stated slack; they hold
// exactly the shards meta references; and every live object reads back
// intact.
func TestGCAcceptance(t *testing.T) {
	const (
		objects = 1000
		uploads = 50
		workers = 16
		// slack bounds what the data nodes may use beyond 1.5 × the live
		// bytes: per shard, the padding of the last stripe (< 4 bytes) and
		// the authentication tags of the sealed packages (16 bytes per
		// 64 KiB package, for the 1 to 3 packages of these objects, 1.5x).
		slackPerObject = 6*4 + 3*16*3/2
	)
	c := startCluster(t, harness.Options{ExtraMeta: []string{"--gc-grace", "3s"}})
	cl := client(c)
	mustCreateBucket(t, cl, "gc-accept")
	ctx := ctxT(t, 20*time.Minute)

	rng := rand.New(rand.NewSource(7))
	sizes := make([][2]int, objects) // first and second version
	for i := range sizes {
		sizes[i] = [2]int{40<<10 + rng.Intn(100<<10), 40<<10 + rng.Intn(100<<10)}
	}
	body := func(i, v int) []byte { return pattern(int64(i*10+v), sizes[i][v]) }
	parallel := func(n int, fn func(i int) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		next := make(chan int)
		for w := 0; w < workers; w++ {
			wg.Go(func() {
				for i := range next {
					if err := fn(i); err != nil {
						errs <- err
					}
				}
			})
		}
		for i := 0; i < n; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	key := func(i int) string { return fmt.Sprintf("obj-%04d", i) }

	start := time.Now()
	parallel(objects, func(i int) error {
		for v := 0; v < 2; v++ {
			if err := put(ctx, cl, "gc-accept", key(i), body(i, v)); err != nil {
				return fmt.Errorf("put %s v%d: %w", key(i), v, err)
			}
		}
		return nil
	})
	parallel(objects/2, func(i int) error {
		_, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("gc-accept"), Key: aws.String(key(2 * i))})
		return err
	})
	parallel(uploads, func(i int) error {
		k := fmt.Sprintf("upload-%02d", i)
		up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("gc-accept"), Key: aws.String(k)})
		if err != nil {
			return err
		}
		for n := int32(1); n <= 2; n++ {
			_, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("gc-accept"), Key: aws.String(k),
				UploadId: up.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(pattern(int64(5000+i*3+int(n)), 200<<10))})
			if err != nil {
				return err
			}
		}
		_, err = cl.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("gc-accept"), Key: aws.String(k), UploadId: up.UploadId})
		return err
	})
	t.Logf("%d PUTs, %d deletes, %d aborted uploads in %v", 2*objects, objects/2, uploads, time.Since(start).Round(time.Second))

	var liveBytes int64
	liveKeys := 0
	for i := 1; i < objects; i += 2 {
		liveBytes += int64(sizes[i][1])
		liveKeys++
	}
	peak := usedBytes(t, c)
	t.Logf("right after the writes: data nodes use %d bytes for %d live bytes (%.2fx)", peak, liveBytes, float64(peak)/float64(liveBytes))

	// The shards meta references: exactly what must be left.
	want := map[string]bool{}
	for i := 1; i < objects; i += 2 {
		v := objectRecord(t, c, "gc-accept", key(i))
		for _, s := range v.GetShards() {
			want[fmt.Sprintf("%s/%s.%d", s.GetNodeId(), v.GetVersionId(), s.GetIndex())] = true
		}
	}
	if len(want) != 6*liveKeys {
		t.Fatalf("meta references %d shards for %d live objects, want %d", len(want), liveKeys, 6*liveKeys)
	}

	deadline := time.Now().Add(3 * time.Minute)
	var got map[string]bool
	for {
		got = shardSet(t, c)
		if len(got) == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("data nodes hold %d shards, want the %d meta references", len(got), len(want))
		}
		time.Sleep(time.Second)
	}
	var extra, missing []string
	for s := range got {
		if !want[s] {
			extra = append(extra, s)
		}
	}
	for s := range want {
		if !got[s] {
			missing = append(missing, s)
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	if len(extra)+len(missing) > 0 {
		t.Fatalf("shards no version references: %v; referenced shards missing: %v", extra, missing)
	}

	used := usedBytes(t, c)
	lo := liveBytes * 3 / 2
	hi := lo + int64(liveKeys)*slackPerObject
	t.Logf("after GC: data nodes use %d bytes for %d live bytes: %.4fx (allowed %d..%d)", used, liveBytes, float64(used)/float64(liveBytes), lo, hi)
	if used < lo || used > hi {
		t.Fatalf("data nodes use %d bytes, want %d..%d (1.5 x %d live bytes + %d per object)", used, lo, hi, liveBytes, slackPerObject)
	}

	// No live object lost.
	parallel(liveKeys, func(j int) error {
		i := 2*j + 1
		got, err := get(ctx, cl, "gc-accept", key(i), "")
		if err != nil {
			return fmt.Errorf("get %s: %w", key(i), err)
		}
		if !bytes.Equal(got, body(i, 1)) {
			return fmt.Errorf("get %s: wrong bytes (%d, want %d)", key(i), len(got), sizes[i][1])
		}
		return nil
	})
	for i := 0; i < objects; i += 2 {
		_, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("gc-accept"), Key: aws.String(key(i))})
		if err == nil {
			t.Fatalf("deleted %s is still there", key(i))
		}
	}
}
