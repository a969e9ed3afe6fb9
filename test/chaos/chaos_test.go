package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/test/harness"
)

// cairnBin is the binary under test, built once by TestMain.
var cairnBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cairn-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	root, err := filepath.Abs("../..")
	if err == nil {
		cairnBin, err = harness.Build(root, dir, "cairn")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// clusterFlags make the background machinery busy during a run: garbage
// collection, orphan and inventory reconciliation and repair work while
// the faults happen.
var clusterFlags = harness.Options{ExtraMeta: []string{"--gc-grace", "5s", "--orphan-grace", "40s", "--orphan-interval", "3s",
	"--inventory-interval", "5s", "--repair-interval", "5s"}}

// chaosDuration is how long the randomized run injects faults:
// CAIRN_CHAOS_DURATION, else def.
func chaosDuration(t *testing.T, def time.Duration) time.Duration {
	s := os.Getenv("CAIRN_CHAOS_DURATION")
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("CAIRN_CHAOS_DURATION=%q: %v", s, err)
	}
	return d
}

// startChaosCluster starts an isolated cluster when the machine allows
// it, else a plain one (net nil: no partitions, and why is logged).
func startChaosCluster(t *testing.T) (*harness.Cluster, *harness.Network) {
	if err := harness.NetnsSupport(); err != nil {
		t.Logf("network partitions skipped: %v", err)
		return harness.Start(t, cairnBin, clusterFlags), nil
	}
	return harness.StartIsolated(t, cairnBin, clusterFlags)
}

func newWorkload(t *testing.T, c *harness.Cluster, bucket string) *Workload {
	t.Helper()
	cl, err := NewS3Client(c.Endpoint, c.Region, c.AccessKey, c.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := 0; i < 6; i++ {
		keys = append(keys, fmt.Sprintf("key-%d", i))
	}
	return &Workload{
		S3: cl, Bucket: bucket, Keys: keys, History: NewHistory(),
		// Inline, one stripe, and several blocks per shard.
		Sizes:     []int{200, 48 << 10, 1<<20 + 77},
		OpTimeout: 10 * time.Second,
		Pause:     40 * time.Millisecond,
	}
}

// checkHistory runs the checker and fails the test on a violation, with
// the offending operations and an HTML view of the history.
func checkHistory(t *testing.T, w *Workload) {
	t.Helper()
	ops := w.History.Ops()
	t.Logf("history: %d operations: %s", len(ops), w.History.Counts())
	acked := 0
	for _, o := range ops {
		if o.Outcome == OK && o.Kind == Put {
			acked++
		}
	}
	if acked < 20 {
		t.Fatalf("only %d acknowledged PUTs: the run checked too little", acked)
	}
	start := time.Now()
	res := Check(ops, w.Keys, 2*time.Minute)
	t.Logf("checked in %v", time.Since(start).Round(time.Millisecond))
	if res.Unknown {
		t.Logf("the linearizability check timed out without finding a violation")
	}
	if len(res.Violations) == 0 {
		return
	}
	for _, v := range res.Violations {
		t.Errorf("violation: %s", v)
	}
	if lines := Explain(ops, w.Keys, 25, time.Minute); len(lines) > 0 {
		t.Logf("where it fails:\n%s", strings.Join(lines, "\n"))
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("cairn-chaos-%s-%d.html", t.Name(), time.Now().Unix()))
	if err := res.Visualize(path); err != nil {
		t.Logf("visualization: %v", err)
	} else {
		t.Logf("history visualization: %s", path)
	}
	var lines []string
	for _, o := range ops {
		lines = append(lines, o.String())
	}
	t.Logf("full history:\n%s", strings.Join(lines, "\n"))
}

// TestChaosRandomized: clients run PUT/GET/DELETE/LIST on six keys while a
// nemesis kills -9, pauses and (as root) cuts off random processes, one at
// a time; the history must check out (see Check).
func TestChaosRandomized(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	dur := chaosDuration(t, 75*time.Second)
	c, nw := startChaosCluster(t)
	w := newWorkload(t, c, "chaos")
	const clients = 4
	seed := time.Now().UnixNano()
	t.Logf("seed %d, %v of faults", seed, dur)
	stop := w.Run(clients, seed)
	// The short run is sure to include a wiped disk and a tampered shard.
	nem := &Nemesis{Cluster: c, Net: nw, Rand: rand.New(rand.NewSource(seed)), Logf: t.Logf, Now: w.History.Now,
		TB: t, First: []string{"wipe", "tamper"}}
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	err := nem.Run(ctx)
	cancel()
	if nw != nil {
		if herr := nw.Heal(); herr != nil {
			t.Error(herr)
		}
	}
	if err != nil {
		stop()
		t.Fatal(err)
	}
	// A calm stretch: whatever the faults left pending settles.
	time.Sleep(3 * time.Second)
	stop()
	if err := c.WaitReady(ctxT(t, 90*time.Second), len(c.Datas)); err != nil {
		t.Fatal(err)
	}
	if err := w.FinalReads(clients, time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d faults: %s", len(nem.Faults()), strings.Join(nem.Faults(), "; "))
	for _, p := range c.All() {
		if !p.Running() {
			t.Errorf("%s is not running at the end; its log ends:\n%s", p.Name, p.LogTail(3000))
		}
	}
	checkHistory(t, w)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// leaderSeenBy asks the meta nodes at addrs who leads.
func leaderSeenBy(ctx context.Context, c *harness.Cluster, addrs []string) (string, error) {
	mc, err := c.AdminMetaClientAt(addrs)
	if err != nil {
		return "", err
	}
	defer mc.Close()
	st, err := metaclient.Admin(ctx, mc, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.StatusResponse, error) {
		return a.Status(ctx, &cairnpb.StatusRequest{})
	})
	if err != nil {
		return "", err
	}
	return st.GetLeaderId(), nil
}

// TestChaosMetaLeaderPartition: the meta leader is cut off from every other
// process while clients run. A new leader takes over; the old one stops
// accepting writes (a write sent to it directly is not acknowledged and
// never appears); after healing, no acknowledged write is lost and the
// history is linearizable.
func TestChaosMetaLeaderPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	if err := harness.NetnsSupport(); err != nil {
		t.Skipf("needs network namespaces: %v", err)
	}
	c, nw := harness.StartIsolated(t, cairnBin, clusterFlags)
	w := newWorkload(t, c, "partition")
	const clients = 4
	stop := w.Run(clients, time.Now().UnixNano())
	defer stop()
	time.Sleep(5 * time.Second)

	old, err := c.Leader(ctxT(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var rest, restAddrs []string
	var others []*harness.Proc
	for _, p := range c.All() {
		if p != old {
			others = append(others, p)
		}
	}
	for _, p := range c.Metas {
		if p != old {
			rest = append(rest, p.Name)
			restAddrs = append(restAddrs, p.Addr)
		}
	}
	cc, err := grpc.NewClient(old.Addr, c.Transport(t, pki.RoleGateway, "chaos-probe").Dial(pki.RoleMeta))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	oldMeta := cairnpb.NewMetaClient(cc)
	probe := func(name string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := oldMeta.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "default", Name: name})
		return err
	}

	t.Logf("cutting the meta leader %s off from %d processes", old.Name, len(others))
	cut := time.Now()
	if err := nw.Partition([]*harness.Proc{old}, others); err != nil {
		t.Fatal(err)
	}
	// A write sent to the old leader right away, while it may still think
	// it leads: it cannot reach a quorum, so it must not be acknowledged.
	early := make(chan error, 1)
	go func() { early <- probe("probe-early") }()

	// A new leader among the rest.
	var leader string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		leader, err = leaderSeenBy(ctx, c, restAddrs)
		cancel()
		if err == nil && leader != "" && leader != old.Name {
			break
		}
		if time.Since(cut) > 30*time.Second {
			t.Fatalf("no new leader 30 s after the partition (last: %q, %v)", leader, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%s leads %v after the partition", leader, time.Since(cut).Round(time.Millisecond))

	// The old leader, reachable by the test only, acknowledges no write:
	// neither the one sent as it was cut off nor one sent now.
	if err := <-early; err == nil {
		t.Fatalf("the partitioned old leader %s acknowledged a write sent as it was cut off", old.Name)
	} else {
		t.Logf("the old leader did not acknowledge the write sent as it was cut off: %v", err)
	}
	if err := probe("probe-late"); err == nil {
		t.Fatalf("the partitioned old leader %s acknowledged a write", old.Name)
	} else {
		t.Logf("the old leader refused a write after the new election: %v", err)
	}
	// Nor does it answer a read once another leader exists: its read lease
	// (at most half a heartbeat timeout) ended before anyone could be
	// elected, so the read needs a confirmation it cannot get.
	readCtx, cancelRead := context.WithTimeout(context.Background(), 10*time.Second)
	_, err = oldMeta.GetBucket(readCtx, &cairnpb.GetBucketRequest{Namespace: "default", Name: "partition"})
	cancelRead()
	if err == nil {
		t.Fatalf("the partitioned old leader %s served a read after %s was elected", old.Name, leader)
	}
	t.Logf("the old leader refused a read after the new election: %v", err)

	// Clients go on against the new leader for a while.
	time.Sleep(8 * time.Second)
	if err := nw.Heal(); err != nil {
		t.Fatal(err)
	}
	t.Logf("healed after %v", time.Since(cut).Round(time.Millisecond))
	if err := c.WaitReady(ctxT(t, 90*time.Second), len(c.Datas)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	stop()
	if err := w.FinalReads(clients, time.Minute); err != nil {
		t.Fatal(err)
	}

	// The unacknowledged writes never show up.
	mc := c.MetaClient(t)
	for _, name := range []string{"probe-early", "probe-late"} {
		_, err = metaclient.Meta(ctxT(t, 10*time.Second), mc, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetBucketResponse, error) {
			return m.GetBucket(ctx, &cairnpb.GetBucketRequest{Namespace: "default", Name: name})
		})
		if !errors.Is(err, rpcerr.ErrBucketNotFound) {
			t.Fatalf("bucket %s, written only to the partitioned old leader: %v, want %v", name, err, rpcerr.ErrBucketNotFound)
		}
	}
	st, err := c.Status(ctxT(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("leader after healing: %s", st.GetLeaderId())
	checkHistory(t, w)
}
