package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/test/harness"
)

// usedBytes returns the live bytes every data node reports for itself
// (Health: the store's own accounting of its shards), summed.
func usedBytes(t *testing.T, c *harness.Cluster) int64 {
	t.Helper()
	var total int64
	for _, p := range c.Datas {
		h, err := dataClient(t, c, pki.RoleMeta, p.Addr).Health(ctxT(t, 10*time.Second), &cairnpb.HealthRequest{})
		if err != nil {
			t.Fatalf("health of %s: %v", p.Name, err)
		}
		total += h.GetUsedBytes()
	}
	return total
}

// waitUsedBytes waits until the data nodes' used bytes equal want.
func waitUsedBytes(t *testing.T, c *harness.Cluster, want int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := usedBytes(t, c)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("data nodes use %d bytes, want %d (%+d)", got, want, got-want)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// plantShard writes a shard straight to a data node, the way a gateway
// writes one before committing its version: what a gateway that died
// between the two leaves behind. It returns the shard's size.
func plantShard(t *testing.T, c *harness.Cluster, addr, id string, size int) int64 {
	t.Helper()
	stream, err := dataClient(t, c, pki.RoleGateway, addr).PutShard(ctxT(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Header{Header: &cairnpb.ShardHeader{ShardId: id}}}); err != nil {
		t.Fatal(err)
	}
	data := pattern(int64(len(id)), size)
	const block = 256 << 10
	for i := 0; len(data) > 0; i++ {
		n := min(block, len(data))
		b := &cairnpb.Block{Index: int64(i), Data: data[:n], Crc32C: erasure.Checksum(data[:n])}
		if err := stream.Send(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Block{Block: b}}); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatalf("plant shard %s on %s: %v", id, addr, err)
	}
	return resp.GetBytes()
}

// gatewayVersionID makes an ID the way a gateway names a new version's
// data: the write's start time, then random bytes.
func gatewayVersionID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}

// killGatewayMidPut streams part of a large PUT, kills -9 the gateway and
// starts it again.
func killGatewayMidPut(t *testing.T, c *harness.Cluster, bucket, key string) {
	t.Helper()
	const size = 48 << 20
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPut, c.Endpoint+"/"+bucket+"/"+key, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Length", strconv.Itoa(size))
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey},
		req, "UNSIGNED-PAYLOAD", "s3", c.Region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("PUT finished with status %d", resp.StatusCode)
		}
		done <- err
	}()
	chunk := pattern(7, 1<<20)
	for i := 0; i < 24; i++ {
		if _, err := pw.Write(chunk); err != nil {
			t.Fatalf("writing body: %v", err)
		}
	}
	if err := c.Gateway.Kill(); err != nil {
		t.Fatal(err)
	}
	pw.CloseWithError(errors.New("client gives up"))
	if err := <-done; err == nil {
		t.Fatal("the PUT cannot have succeeded")
	}
	if err := c.Gateway.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctxT(t, time.Minute), len(c.Datas)); err != nil {
		t.Fatal(err)
	}
}

// TestOrphanReconciliation: shards of writes that never committed — a
// gateway killed mid-PUT, and shards written for a version or a multipart
// part whose commit never came — are reclaimed once older than the orphan
// grace, by reconciling against meta; younger ones are left alone, and
// every committed object and uploaded part keeps its shards.
func TestOrphanReconciliation(t *testing.T) {
	const grace = 12 * time.Second
	c := startCluster(t, harness.Options{ExtraMeta: []string{
		"--orphan-grace", grace.String(), "--orphan-interval", "1s", "--gc-grace", "1s"}})
	cl := client(c)
	mustCreateBucket(t, cl, "orphans")

	live := map[string][]byte{}
	for i, n := range []int{300 << 10, 2<<20 + 5, 9 << 20} {
		key := fmt.Sprintf("live-%d", i)
		live[key] = pattern(int64(300+i), n)
		mustPut(t, cl, "orphans", key, live[key])
	}
	// A multipart upload in progress: its part is referenced by the upload
	// only, not by any object, and must survive.
	up, err := cl.CreateMultipartUpload(ctxT(t, 30*time.Second), &s3.CreateMultipartUploadInput{Bucket: aws.String("orphans"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	part1 := pattern(401, 5<<20)
	pout, err := cl.UploadPart(ctxT(t, time.Minute), &s3.UploadPartInput{Bucket: aws.String("orphans"), Key: aws.String("mp"),
		UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(part1)})
	if err != nil {
		t.Fatal(err)
	}
	baseline := usedBytes(t, c)
	t.Logf("live data: %d bytes on the data nodes", baseline)

	killGatewayMidPut(t, c, "orphans", "crashed")

	// Shards a gateway wrote and never committed: a plain version's and a
	// multipart part's (parts are named the same way).
	var planted int64
	var plantedIDs [][2]string // addr, shard
	for _, base := range []string{gatewayVersionID(time.Now()), gatewayVersionID(time.Now())} {
		for i := 0; i < 3; i++ {
			p := c.Datas[i]
			id := fmt.Sprintf("%s.%d", base, i)
			planted += plantShard(t, c, p.Addr, id, 600<<10+i)
			plantedIDs = append(plantedIDs, [2]string{p.Addr, id})
		}
	}
	afterCrash := usedBytes(t, c)
	t.Logf("after the killed PUT and the planted shards: %d bytes (+%d, %d planted)", afterCrash, afterCrash-baseline, planted)
	if afterCrash < baseline+planted {
		t.Fatalf("used bytes %d < baseline %d + planted %d", afterCrash, baseline, planted)
	}

	// Younger than the grace: reconciliation rounds run every second but
	// must leave them alone.
	time.Sleep(grace / 2)
	for _, ps := range plantedIDs {
		statShard(t, c, ps[0], ps[1])
	}

	// Older than the grace: gone, and only they.
	waitUsedBytes(t, c, baseline, grace+60*time.Second)
	for key, body := range live {
		mustGetEqual(t, cl, "orphans", key, body)
	}
	_, err = cl.HeadObject(ctxT(t, 30*time.Second), &s3.HeadObjectInput{Bucket: aws.String("orphans"), Key: aws.String("crashed")})
	wantAPIError(t, err, "", http.StatusNotFound)
	// The upload in progress still completes with its part intact.
	part2 := pattern(402, 1<<20)
	pout2, err := cl.UploadPart(ctxT(t, time.Minute), &s3.UploadPartInput{Bucket: aws.String("orphans"), Key: aws.String("mp"),
		UploadId: up.UploadId, PartNumber: aws.Int32(2), Body: bytes.NewReader(part2)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.CompleteMultipartUpload(ctxT(t, time.Minute), &s3.CompleteMultipartUploadInput{Bucket: aws.String("orphans"), Key: aws.String("mp"),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: pout.ETag}, {PartNumber: aws.Int32(2), ETag: pout2.ETag}}}})
	if err != nil {
		t.Fatal(err)
	}
	mustGetEqual(t, cl, "orphans", "mp", append(append([]byte(nil), part1...), part2...))
}
