package e2e

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/test/harness"
)

// countShards returns how many shards the cluster's data nodes hold.
func countShards(t *testing.T, c *harness.Cluster) int {
	t.Helper()
	total := 0
	for _, p := range c.Datas {
		stream, err := dataClient(t, c, pki.RoleMeta, p.Addr).ListShards(ctxT(t, 30*time.Second), &cairnpb.ListShardsRequest{})
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
			total += len(r.GetShards())
		}
	}
	return total
}

// TestGarbageCollection: shards of overwritten and deleted objects leave
// the data nodes once the grace period has passed, and live objects keep
// theirs.
func TestGarbageCollection(t *testing.T) {
	c := startCluster(t, harness.Options{ExtraMeta: []string{"--gc-grace", "2s"}})
	cl := client(c)
	mustCreateBucket(t, cl, "gc-bucket")
	const n = 20
	live := map[string][]byte{}
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("obj-%d", i)
		mustPut(t, cl, "gc-bucket", key, pattern(int64(i), 100<<10+i)) // erasure coded, 6 shards
		live[key] = pattern(int64(1000+i), 90<<10+i)
		mustPut(t, cl, "gc-bucket", key, live[key]) // overwrite: the first version's shards are garbage
	}
	for i := 0; i < n/2; i++ { // delete half
		key := fmt.Sprintf("obj-%d", i)
		if _, err := cl.DeleteObject(ctxT(t, 30*time.Second), &s3.DeleteObjectInput{Bucket: aws.String("gc-bucket"), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
		delete(live, key)
	}
	if got := countShards(t, c); got < 6*(2*n) {
		t.Fatalf("%d shards right after the writes; expected the garbage to still be there (grace period)", got)
	}
	want := 6 * len(live)
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := countShards(t, c)
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("data nodes hold %d shards, want %d (the live objects' only)", got, want)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for key, body := range live {
		mustGetEqual(t, cl, "gc-bucket", key, body)
	}
}
