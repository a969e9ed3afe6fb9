package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/test/harness"
)

// dataClient calls the data node at addr as a test identity of role
// (issued from c's CA).
func dataClient(t *testing.T, c *harness.Cluster, role pki.Role, addr string) cairnpb.DataClient {
	t.Helper()
	cc, err := grpc.NewClient(addr, c.Transport(t, role, "e2e-probe").Dial(pki.RoleData),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cairnpb.NewDataClient(cc)
}

func statShard(t *testing.T, c *harness.Cluster, addr, shardID string) *cairnpb.ShardInfo {
	t.Helper()
	r, err := dataClient(t, c, pki.RoleMeta, addr).StatShard(ctxT(t, 10*time.Second), &cairnpb.StatShardRequest{ShardId: shardID})
	if err != nil {
		t.Fatalf("stat shard %s on %s: %v", shardID, addr, err)
	}
	return r.GetInfo()
}

func objectRecord(t *testing.T, c *harness.Cluster, bucket, key string) *cairnpb.ObjectVersion {
	t.Helper()
	mc := c.MetaClient(t)
	r, err := metaclient.Meta(ctxT(t, 30*time.Second), mc, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
		return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "default", Bucket: bucket, Key: key})
	})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetVersion()
}

// TestSurvivesTwoDataNodeKills: with 4+2 coding, any two data nodes may
// die and every object still reads back identical. Data nodes stopped
// (their connections go quiet instead of closing) hold nothing up: with
// one stopped, writes go on degraded; with two, everything still reads.
func TestSurvivesTwoDataNodeKills(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)
	mustCreateBucket(t, cl, "survive")
	objs := map[string][]byte{}
	for i, n := range []int{1, 40 << 10, 300 << 10, 1<<20 + 3, 5<<20 + 7, 17 << 20} {
		key := fmt.Sprintf("obj-%d", i)
		objs[key] = pattern(int64(1000+i), n)
		mustPut(t, cl, "survive", key, objs[key])
	}
	for _, pair := range [][2]int{{0, 1}, {2, 5}, {3, 4}} {
		a, b := c.Datas[pair[0]], c.Datas[pair[1]]
		t.Logf("killing %s and %s", a.Name, b.Name)
		if err := a.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := b.Kill(); err != nil {
			t.Fatal(err)
		}
		for key, want := range objs {
			mustGetEqual(t, cl, "survive", key, want)
		}
		// Ranged reads reconstruct too.
		want := objs["obj-4"]
		got, err := get(ctxT(t, time.Minute), cl, "survive", "obj-4", "bytes=1048570-3145730")
		if err != nil || !bytes.Equal(got, want[1048570:3145731]) {
			t.Fatalf("ranged read with %s and %s down: err=%v equal=%v", a.Name, b.Name, err, bytes.Equal(got, want[1048570:3145731]))
		}
		if err := a.Start(); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitReady(ctxT(t, time.Minute), len(c.Datas)); err != nil {
			t.Fatal(err)
		}
	}

	// Two data nodes stopped (SIGSTOP) rather than killed: their
	// connections stay open and simply go quiet. Reads give up on them
	// after the stall limit and rebuild from parity instead of waiting
	// for them to come back.
	a, b := c.Datas[1], c.Datas[4]
	// With one stopped, writes give up on its shard after the write stall
	// and are recorded degraded.
	t.Logf("stopping %s", a.Name)
	if err := a.Pause(); err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{40 << 10, 5<<20 + 7} {
		key := fmt.Sprintf("while-stopped-%d", i)
		objs[key] = pattern(int64(2000+i), n)
		start := time.Now()
		if err := put(ctxT(t, 30*time.Second), cl, "survive", key, objs[key]); err != nil {
			t.Fatalf("write of %s with %s stopped: %v", key, a.Name, err)
		}
		t.Logf("%s (%d bytes) written in %v", key, n, time.Since(start).Round(time.Millisecond))
	}
	t.Logf("stopping %s", b.Name)
	if err := b.Pause(); err != nil {
		t.Fatal(err)
	}
	for key, want := range objs {
		start := time.Now()
		got, err := get(ctxT(t, 20*time.Second), cl, "survive", key, "")
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read of %s with %s and %s stopped: err=%v, %d of %d bytes", key, a.Name, b.Name, err, len(got), len(want))
		}
		t.Logf("%s (%d bytes) read in %v", key, len(want), time.Since(start).Round(time.Millisecond))
	}
	for _, p := range []*harness.Proc{a, b} {
		if err := p.Resume(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMetaLeaderKill: kill -9 the meta leader; a new leader is elected and
// PUT/GET work again within 10 s, with no acknowledged object lost.
func TestMetaLeaderKill(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)
	mustCreateBucket(t, cl, "failover")

	var mu sync.Mutex
	acked := map[string][]byte{}
	for i := 0; i < 30; i++ {
		key := fmt.Sprintf("before-%d", i)
		body := pattern(int64(i), 1000+i*3000)
		mustPut(t, cl, "failover", key, body)
		acked[key] = body
	}

	// A writer keeps going through the failover; whatever it gets acked must
	// survive.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("during-%d", i)
			body := pattern(int64(10000+i), 2000+i%5*70000)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := put(ctx, cl, "failover", key, body); err == nil {
				mu.Lock()
				acked[key] = body
				mu.Unlock()
			}
			cancel()
		}
	}()

	time.Sleep(300 * time.Millisecond)
	leader, err := c.Leader(ctxT(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killing meta leader %s", leader.Name)
	killed := time.Now()
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	// PUT and GET must work again within 10 s.
	var recovered time.Duration
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		body := []byte("after failover")
		err := put(ctx, cl, "failover", "probe", body)
		if err == nil {
			var got []byte
			got, err = get(ctx, cl, "failover", "probe", "")
			if err == nil && !bytes.Equal(got, body) {
				err = errors.New("probe read back wrong bytes")
			}
		}
		cancel()
		if err == nil {
			recovered = time.Since(killed)
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("PUT/GET still failing 10 s after killing the leader: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("PUT+GET worked again %v after the leader was killed", recovered.Round(time.Millisecond))
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	st, err := c.Status(ctxT(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.GetLeaderId() == "" || st.GetLeaderId() == leader.Name {
		t.Fatalf("leader after failover: %q (killed %s)", st.GetLeaderId(), leader.Name)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("checking %d acknowledged objects", len(acked))
	for key, want := range acked {
		mustGetEqual(t, cl, "failover", key, want)
	}
	// The old leader comes back as a follower and catches up.
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctxT(t, time.Minute), len(c.Datas)); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptShardBlock: bytes flipped on a data node's disk are caught by
// the block checksum, and the GET still returns the right bytes.
func TestCorruptShardBlock(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)
	mustCreateBucket(t, cl, "rot")
	data := pattern(99, 8<<20)
	mustPut(t, cl, "rot", "victim", data)
	v := objectRecord(t, c, "rot", "victim")

	// Shard 0 holds, verbatim, the first block of each stripe of the sealed
	// (encrypted) stream: its bytes [0, 256 KiB), the object's first
	// package among them. Take the needle from the node itself.
	var holder *harness.Proc
	for _, s := range v.GetShards() {
		if s.GetIndex() == 0 {
			holder = c.Data(s.GetNodeId())
		}
	}
	if holder == nil {
		t.Fatalf("no node for shard 0: %v", v.GetShards())
	}
	first, err := dataClient(t, c, pki.RoleData, holder.Addr).GetShard(ctxT(t, 30*time.Second), &cairnpb.GetShardRequest{ShardId: v.GetVersionId() + ".0", BlockCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	block, err := first.Recv()
	if err != nil {
		t.Fatal(err)
	}
	needle := bytes.Clone(block.GetBlock().GetData()[4096 : 4096+64])
	if err := holder.Kill(); err != nil {
		t.Fatal(err)
	}
	flipped := flipBytes(t, holder.Dir, needle)
	if flipped == 0 {
		t.Fatalf("the block's bytes were not found under %s", holder.Dir)
	}
	t.Logf("flipped a byte in %d place(s) under %s", flipped, holder.Dir)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctxT(t, time.Minute), len(c.Datas)); err != nil {
		t.Fatal(err)
	}

	// The node itself refuses to serve the rotten block.
	stream, err := dataClient(t, c, pki.RoleData, holder.Addr).GetShard(ctxT(t, 30*time.Second), &cairnpb.GetShardRequest{ShardId: v.GetVersionId() + ".0"})
	if err != nil {
		t.Fatal(err)
	}
	var rerr error
	for rerr == nil {
		_, rerr = stream.Recv()
	}
	if status.Code(rerr) != codes.DataLoss {
		t.Fatalf("reading the corrupted shard from the node: %v, want DataLoss", rerr)
	}
	// The gateway reconstructs from parity.
	mustGetEqual(t, cl, "rot", "victim", data)
	got, err := get(ctxT(t, time.Minute), cl, "rot", "victim", "bytes=4000-5000")
	if err != nil || !bytes.Equal(got, data[4000:5001]) {
		t.Fatalf("ranged read over the rotten block: err=%v", err)
	}
}

// flipBytes flips one byte inside every occurrence of needle in the files
// under dir, and returns how many it changed.
func flipBytes(t *testing.T, dir string, needle []byte) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		changed := false
		for off := 0; ; {
			i := bytes.Index(b[off:], needle)
			if i < 0 {
				break
			}
			b[off+i+len(needle)/2] ^= 0xFF
			off += i + len(needle)
			changed = true
			n++
		}
		if changed {
			return os.WriteFile(path, b, 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGatewayKilledMidPut: a gateway killed in the middle of a PUT leaves
// no visible object, and an existing version of the key stays intact.
func TestGatewayKilledMidPut(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)
	mustCreateBucket(t, cl, "midput")
	old := pattern(5, 3<<20)
	mustPut(t, cl, "midput", "existing", old)

	for _, key := range []string{"fresh", "existing"} {
		const size = 64 << 20
		pr, pw := io.Pipe()
		req, err := http.NewRequest(http.MethodPut, c.Endpoint+"/midput/"+key, pr)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = size
		req.Header.Set("Content-Length", strconv.Itoa(size))
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		signer := v4.NewSigner()
		err = signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey},
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
		chunk := pattern(6, 1<<20)
		for i := 0; i < 20; i++ { // 20 of 64 MiB, then the gateway dies
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
	// No half-written object is visible, and the old version is intact.
	_, err := cl.HeadObject(ctxT(t, 30*time.Second), &s3.HeadObjectInput{Bucket: aws.String("midput"), Key: aws.String("fresh")})
	wantAPIError(t, err, "", http.StatusNotFound)
	mustGetEqual(t, cl, "midput", "existing", old)
	out, err := cl.ListObjectsV2(ctxT(t, 30*time.Second), &s3.ListObjectsV2Input{Bucket: aws.String("midput")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "existing" || aws.ToInt64(out.Contents[0].Size) != int64(len(old)) {
		var keys []string
		for _, o := range out.Contents {
			keys = append(keys, fmt.Sprintf("%s(%d)", aws.ToString(o.Key), aws.ToInt64(o.Size)))
		}
		t.Fatalf("listing after the killed PUTs: %v", keys)
	}
	sum := sha256.Sum256(old)
	t.Logf("old version intact (sha256 %s)", hex.EncodeToString(sum[:8]))
}
