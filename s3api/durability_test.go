package s3api

import (
	"bytes"
	"context"
	"io"
	"math/rand"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/placement"
)

// gatewayWithQuorum is newTestGateway with a write quorum (0: default).
func gatewayWithQuorum(t *testing.T, quorum int) (*s3.Client, *fakeIndex, *fakeShards) {
	t.Helper()
	idx, sh := newFakeIndex(6), newFakeShards()
	srv, err := New(Config{Index: idx, Shards: sh, Credentials: map[string]string{"AK": "SK"}, BlockSize: 64 << 10,
		InlineThreshold: 1024, MasterKey: testMasterKey(t), WriteQuorum: quorum})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cl := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AK", "SK", ""), Retryer: aws.NopRetryer{},
	})
	if _, err := cl.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	return cl, idx, sh
}

func TestWriteQuorumBounds(t *testing.T) {
	for _, q := range []int{3, 7} {
		if _, err := New(Config{Index: newFakeIndex(6), Shards: newFakeShards(), MasterKey: testMasterKey(t), WriteQuorum: q}); err == nil {
			t.Errorf("write quorum %d for 4+2 accepted", q)
		}
	}
}

func TestDegradedWritesKeepTheQuorumAndRecordWhatIsMissing(t *testing.T) {
	ctx := context.Background()
	body := make([]byte, 300<<10)
	rand.New(rand.NewSource(3)).Read(body)
	put := func(cl *s3.Client, key string) error {
		_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: bytes.NewReader(body)})
		return err
	}

	// Default quorum (k+1 = 5): five healthy hosts take a degraded write.
	cl, idx, _ := gatewayWithQuorum(t, 0)
	idx.SetNodes(5)
	if err := put(cl, "five"); err != nil {
		t.Fatalf("PUT with 5 of 6 hosts: %v", err)
	}
	v := idx.objects["bkt"]["five"]
	missing := 0
	for _, l := range v.GetShards() {
		switch {
		case l.GetNodeId() == "":
			missing++
		case l.GetDigest() == 0 || l.GetIncarnation() != 7:
			t.Fatalf("shard %d recorded without digest or incarnation: %v", l.GetIndex(), l)
		}
	}
	if len(v.GetShards()) != 6 || missing != 1 || !v.GetDegraded() {
		t.Fatalf("record: %d locations, %d missing, degraded %v; want 6, 1, true", len(v.GetShards()), missing, v.GetDegraded())
	}
	for _, l := range v.GetShards()[:4] {
		if l.GetNodeId() == "" {
			t.Fatalf("a data shard was left unplaced: %v", v.GetShards())
		}
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("five")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	if !bytes.Equal(got, body) {
		t.Fatal("degraded object reads back different")
	}

	// Four hosts are below the default quorum: 503 ServiceUnavailable
	// saying why, never SlowDown.
	idx.SetNodes(4)
	err = put(cl, "four")
	if code(err) != "ServiceUnavailable" || !strings.Contains(err.Error(), "Only 4 data nodes on distinct hosts are healthy; a write needs 5 of its 6 shards") {
		t.Fatalf("PUT with 4 hosts under quorum 5: %v", err)
	}

	// A quorum of k takes it.
	cl4, idx4, _ := gatewayWithQuorum(t, 4)
	idx4.SetNodes(4)
	if err := put(cl4, "four"); err != nil {
		t.Fatalf("PUT with 4 hosts under quorum 4: %v", err)
	}
	idx4.SetNodes(3)
	if err := put(cl4, "three"); code(err) != "ServiceUnavailable" {
		t.Fatalf("PUT with 3 hosts under quorum 4: %v", err)
	}
}

func TestReadsReportMissingShards(t *testing.T) {
	ctx := context.Background()
	cl, idx, sh := gatewayWithQuorum(t, 0)
	body := make([]byte, 300<<10)
	rand.New(rand.NewSource(4)).Read(body)
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	sh.Edit(func(shards map[string][][]byte) {
		for id := range shards {
			if strings.HasSuffix(id, ".1") {
				delete(shards, id)
			}
		}
	})
	for range 3 { // reported once, however often it is met
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(out.Body); !bytes.Equal(got, body) {
			t.Fatal("read around a missing shard differs")
		}
	}
	waitFor(t, "the report", func() bool { return len(idx.ShardProblems()) > 0 })
	problems := idx.ShardProblems()
	if len(problems) != 1 {
		t.Fatalf("%d reports, want 1: %v", len(problems), problems)
	}
	p := problems[0]
	idx.mu.Lock()
	defer idx.mu.Unlock()
	v := idx.objects["bkt"]["k"]
	if p.GetIndex() != 1 || p.GetReason() != "missing" || p.GetKey() != "k" || p.GetVersionId() != v.GetVersionId() ||
		p.GetNodeId() != v.GetShards()[1].GetNodeId() || !bytes.Equal(p.GetBucketId(), v.GetBucketId()) {
		t.Fatalf("report %v does not name shard 1 of %v", p, v)
	}
}

func TestRecordedDigestIsTheShardsDigest(t *testing.T) {
	ctx := context.Background()
	cl, idx, sh := gatewayWithQuorum(t, 0)
	body := make([]byte, 200<<10)
	rand.New(rand.NewSource(5)).Read(body)
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	v := idx.objects["bkt"]["k"]
	sh.Edit(func(shards map[string][][]byte) {
		for _, l := range v.GetShards() {
			d := erasure.NewDigest()
			for _, b := range shards[l.GetNodeId()+"/"+placement.ShardID(v.GetVersionId(), int(l.GetIndex()))] {
				d.Add(len(b), erasure.Checksum(b))
			}
			if d.Sum() != l.GetDigest() {
				t.Errorf("shard %d: recorded digest %x, shard has %x", l.GetIndex(), l.GetDigest(), d.Sum())
			}
		}
	})
}
