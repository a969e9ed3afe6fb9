package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/node"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/test/harness"
)

// repairFlags make the repair engine and GC quick for tests.
var repairFlags = []string{"--repair-interval", "1s", "--repair-rate", "-1", "--gc-grace", "1s"}

// putObjects writes n objects of 33..64 KiB (above the inline threshold)
// with par clients and returns their bodies by key.
func putObjects(t *testing.T, cl *s3.Client, bucket string, n, par int, seed uint64) map[string][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	objs := make(map[string][]byte, n)
	keys := make([]string, 0, n)
	for i := range n {
		key := fmt.Sprintf("obj-%05d", i)
		objs[key] = pattern(int64(seed)*100000+int64(i), 33<<10+rng.IntN(31<<10))
		keys = append(keys, key)
	}
	ctx := ctxT(t, 10*time.Minute)
	work := make(chan string)
	errs := make(chan error, par)
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for key := range work {
				if err := put(ctx, cl, bucket, key, objs[key]); err != nil {
					errs <- fmt.Errorf("put %s: %w", key, err)
					return
				}
			}
		})
	}
	start := time.Now()
	for _, k := range keys {
		select {
		case work <- k:
		case err := <-errs:
			close(work)
			t.Fatal(err)
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	t.Logf("wrote %d objects in %v", n, time.Since(start).Round(time.Millisecond))
	return objs
}

// records fetches every object's record from meta.
func records(t *testing.T, c *harness.Cluster, bucket string, keys []string) map[string]*cairnpb.ObjectVersion {
	t.Helper()
	mc := c.MetaClient(t)
	ctx := ctxT(t, 5*time.Minute)
	out := make(map[string]*cairnpb.ObjectVersion, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan string)
	var firstErr error
	for range 8 {
		wg.Go(func() {
			for key := range work {
				r, err := metaclient.Meta(ctx, mc, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
					return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "default", Bucket: bucket, Key: key})
				})
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", key, err)
				}
				out[key] = r.GetVersion()
				mu.Unlock()
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return out
}

// checkProtected asserts every record has k+m shards on distinct nodes, none
// of them in bad.
func checkProtected(t *testing.T, recs map[string]*cairnpb.ObjectVersion, bad ...string) {
	t.Helper()
	for key, v := range recs {
		if err := protected(v, bad...); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
}

func protected(v *cairnpb.ObjectVersion, bad ...string) error {
	want := int(v.GetScheme().GetData() + v.GetScheme().GetParity())
	if v.GetDegraded() {
		return fmt.Errorf("record still degraded: %v", v.GetShards())
	}
	nodes := map[string]bool{}
	for _, s := range v.GetShards() {
		id := s.GetNodeId()
		if id == "" {
			return fmt.Errorf("shard %d has no node", s.GetIndex())
		}
		for _, b := range bad {
			if id == b {
				return fmt.Errorf("shard %d still on %s", s.GetIndex(), id)
			}
		}
		if nodes[id] {
			return fmt.Errorf("two shards on %s: %v", id, v.GetShards())
		}
		nodes[id] = true
	}
	if len(nodes) != want {
		return fmt.Errorf("%d shards on distinct nodes, want %d", len(nodes), want)
	}
	return nil
}

// repairStatus reads the repair engine's status through cairnctl.
func repairStatus(t *testing.T, c *harness.Cluster) map[string]any {
	t.Helper()
	var st struct {
		Repair map[string]any `json:"repair"`
	}
	out := ctl(t, c, "status", "-o", "json")
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	if st.Repair == nil {
		t.Fatalf("status has no repair section:\n%s", out)
	}
	return st.Repair
}

func num(m map[string]any, k string) int64 {
	f, _ := m[k].(float64)
	return int64(f)
}

func readAllBack(t *testing.T, cl *s3.Client, bucket string, objs map[string][]byte) {
	t.Helper()
	ctx := ctxT(t, 10*time.Minute)
	work := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	for range 8 {
		wg.Go(func() {
			for key := range work {
				got, err := get(ctx, cl, bucket, key, "")
				if err != nil || !bytes.Equal(got, objs[key]) {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("%s (%d bytes, err %v)", key, len(got), err))
					mu.Unlock()
				}
			}
		})
	}
	for k := range objs {
		work <- k
	}
	close(work)
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d of %d objects did not read back byte-exact, e.g. %v", len(failed), len(objs), failed[:min(5, len(failed))])
	}
}

func keysOf(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRepairRebuildsARemovedNode: a 4+2 region of 7 data nodes loses one
// for good; `cairnctl node remove` makes the repair engine rebuild its
// shards elsewhere until every object has 6 healthy shards again, none on
// the dead node, even though the meta leader is killed midway. Then two
// more nodes die and everything still reads.
func TestRepairRebuildsARemovedNode(t *testing.T) {
	c := startCluster(t, harness.Options{Datas: 7, ExtraMeta: repairFlags})
	cl := client(c)
	mustCreateBucket(t, cl, "repair")
	objs := putObjects(t, cl, "repair", 2000, 8, 11)
	keys := keysOf(objs)
	before := records(t, c, "repair", keys)
	checkProtected(t, before)

	dead := c.Datas[6]
	held := 0
	for _, v := range before {
		for _, s := range v.GetShards() {
			if s.GetNodeId() == dead.Name {
				held++
			}
		}
	}
	t.Logf("%s holds %d shards; killing it for good", dead.Name, held)
	if err := dead.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctl(t, c, "node", "remove", dead.Name)
	// Repair survives a change of meta leader: the new one rescans.
	time.Sleep(3 * time.Second)
	leader, err := c.Leader(ctxT(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	mid := repairStatus(t, c)
	t.Logf("3s into the repair: %v; killing the meta leader %s", mid, leader.Name)
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	out := ctl(t, c, "node", "remove", dead.Name, "--wait", "8m", "-o", "json")
	took := time.Since(start)
	var res struct {
		State  string         `json:"state"`
		Repair map[string]any `json:"repair"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node remove output: %v\n%s", err, out)
	}
	if res.State != "removed" || res.Repair == nil || num(res.Repair, "under_replicated") != 0 || num(res.Repair, "lost_units") != 0 {
		t.Fatalf("node remove: %s", out)
	}
	st := repairStatus(t, c)
	t.Logf("repair of %d shards done in %v: %v", held, took.Round(time.Millisecond), st)
	if num(st, "under_replicated") != 0 || num(st, "units_scanned") < int64(len(keys)) {
		t.Fatalf("repair status after remove: %v", st)
	}
	after := records(t, c, "repair", keys)
	checkProtected(t, after, dead.Name)
	repaired := 0
	for k, v := range after {
		if !sameShards(v, before[k]) {
			repaired++
		}
	}
	if repaired != held {
		t.Errorf("%d records changed, want the %d that had a shard on %s", repaired, held, dead.Name)
	}

	for _, p := range []*harness.Proc{c.Datas[0], c.Datas[3]} {
		t.Logf("killing %s", p.Name)
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	readAllBack(t, cl, "repair", objs)
}

func sameShards(a, b *cairnpb.ObjectVersion) bool {
	if len(a.GetShards()) != len(b.GetShards()) {
		return false
	}
	for i := range a.GetShards() {
		if a.GetShards()[i].GetNodeId() != b.GetShards()[i].GetNodeId() || a.GetShards()[i].GetIndex() != b.GetShards()[i].GetIndex() {
			return false
		}
	}
	return true
}

// TestDrainEmptiesANodeWithoutLosingRedundancy: `cairnctl node drain`
// moves every shard off a live node; sampled throughout, no object ever has
// fewer than 6 shards on distinct live nodes, and afterwards the node's own
// store holds nothing and new objects avoid it.
func TestDrainEmptiesANodeWithoutLosingRedundancy(t *testing.T) {
	c := startCluster(t, harness.Options{Datas: 7, ExtraMeta: append(repairFlags, "--repair-parallel", "2")})
	cl := client(c)
	mustCreateBucket(t, cl, "drain")
	objs := putObjects(t, cl, "drain", 400, 8, 12)
	keys := keysOf(objs)
	victim := c.Datas[1]
	h, err := dataClient(t, c, pki.RoleMeta, victim.Addr).Health(ctxT(t, 10*time.Second), &cairnpb.HealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s holds %d shards before the drain", victim.Name, h.GetShards())
	if h.GetShards() == 0 {
		t.Fatal("victim holds no shards")
	}

	// Sample records while the drain runs.
	mc := c.MetaClient(t)
	stop := make(chan struct{})
	sampled := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(3, 4))
		n := 0
		for {
			select {
			case <-stop:
				t.Logf("sampled %d records during the drain", n)
				sampled <- nil
				return
			default:
			}
			key := keys[rng.IntN(len(keys))]
			r, err := metaclient.Meta(context.Background(), mc, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
				return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "default", Bucket: "drain", Key: key})
			})
			if err == nil {
				err = protected(r.GetVersion())
			}
			if err != nil {
				sampled <- fmt.Errorf("%s during the drain: %w", key, err)
				return
			}
			n++
		}
	}()
	out := ctl(t, c, "node", "drain", victim.Name, "--wait", "8m", "-o", "json")
	close(stop)
	if err := <-sampled; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"draining"`) {
		t.Fatalf("node drain: %s", out)
	}
	checkProtected(t, records(t, c, "drain", keys), victim.Name)

	// The old copies go with the GC (1s grace, 5s rounds).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		h, err := dataClient(t, c, pki.RoleMeta, victim.Addr).Health(ctxT(t, 10*time.Second), &cairnpb.HealthRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if h.GetShards() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still holds %d shards after the drain", victim.Name, h.GetShards())
		}
		time.Sleep(time.Second)
	}
	mustCreateBucket(t, cl, "fresh")
	fresh := putObjects(t, cl, "fresh", 50, 4, 13)
	checkProtected(t, records(t, c, "fresh", keysOf(fresh)), victim.Name)
	readAllBack(t, cl, "drain", objs)
}

// TestScrubFindsCorruptShardsAndRepairRebuildsThem plants bit rot in 10
// shards of one data node's Pebble files; the node's scrubber finds all 10
// and reports them, and the repair engine rebuilds them from parity so
// every shard every record names reads back clean.
func TestScrubFindsCorruptShardsAndRepairRebuildsThem(t *testing.T) {
	c := startCluster(t, harness.Options{Datas: 7, ExtraMeta: repairFlags,
		ExtraData: []string{"--scrub-interval", "2s", "--scrub-rate", "-1"}})
	cl := client(c)
	mustCreateBucket(t, cl, "scrub")
	objs := putObjects(t, cl, "scrub", 200, 8, 14)
	keys := keysOf(objs)
	victim := c.Datas[2]
	if err := victim.Stop(); err != nil {
		t.Fatal(err)
	}
	planted := plantBitrot(t, victim.Dir, 10)
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}

	// Every planted shard leaves the victim's column of its record.
	byVersion := map[string]string{}
	for k, v := range records(t, c, "scrub", keys) {
		byVersion[v.GetVersionId()] = k
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		left := 0
		for _, sid := range planted {
			vid := sid[:strings.LastIndexByte(sid, '.')]
			v := objectRecord(t, c, "scrub", byVersion[vid])
			idx := sid[strings.LastIndexByte(sid, '.')+1:]
			for _, s := range v.GetShards() {
				if fmt.Sprint(s.GetIndex()) == idx && s.GetNodeId() == victim.Name {
					left++
				}
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d corrupt shards not repaired; repair: %v", left, len(planted), repairStatus(t, c))
		}
		time.Sleep(time.Second)
	}
	if found := strings.Count(victim.LogTail(64<<20), "scrub found a corrupt shard"); found != len(planted) {
		t.Errorf("scrubber logged %d corrupt shards, planted %d", found, len(planted))
	}

	// Every shard every record names now reads clean: no read is degraded.
	// A record read just before a later repair round moves one of its
	// shards on (and GC, at a 1 s grace, deletes the old copy) names a
	// shard that is gone by the time it is read; what must hold is that
	// the records settle with every shard readable, so a failed read
	// re-reads the records, within a deadline.
	addrs := map[string]string{}
	for _, p := range c.Datas {
		addrs[p.Name] = p.Addr
	}
	settle := time.Now().Add(time.Minute)
	for {
		bad := ""
		for key, v := range records(t, c, "scrub", keys) {
			if err := protected(v); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			for _, s := range v.GetShards() {
				sid := fmt.Sprintf("%s.%d", v.GetVersionId(), s.GetIndex())
				if err := readShard(t, c, addrs[s.GetNodeId()], sid); err != nil && bad == "" {
					bad = fmt.Sprintf("%s: shard %s on %s: %v", key, sid, s.GetNodeId(), err)
				}
			}
		}
		if bad == "" {
			break
		}
		if time.Now().After(settle) {
			t.Fatal(bad)
		}
		t.Logf("not settled yet: %s", bad)
		time.Sleep(2 * time.Second)
	}
	readAllBack(t, cl, "scrub", objs)
	if st := repairStatus(t, c); num(st, "under_replicated") != 0 {
		t.Fatalf("repair status: %v", st)
	}
}

func readShard(t *testing.T, c *harness.Cluster, addr, sid string) error {
	st, err := dataClient(t, c, pki.RoleData, addr).GetShard(ctxT(t, 30*time.Second), &cairnpb.GetShardRequest{ShardId: sid})
	if err != nil {
		return err
	}
	for {
		_, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return rpcerr.FromStatus(err)
		}
	}
}

// plantBitrot flips bytes of one block of n shards in the Pebble table
// files under dir (the data node must be stopped) and returns their IDs.
func plantBitrot(t *testing.T, dir string, n int) []string {
	t.Helper()
	ctx := ctxT(t, time.Minute)
	st, err := node.OpenStore(ctx, dir, node.StoreOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	needles := map[string][]byte{}
	for info, err := range st.ListShards(ctx, "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) < n && info.Bytes >= 4<<10 && info.Blocks == 1 {
			ids = append(ids, info.ID)
		}
	}
	for _, id := range ids {
		r, err := st.GetShard(ctx, id, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		mid := len(b.Data) / 2
		needles[id] = bytes.Clone(b.Data[mid : mid+64])
		r.Close()
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != n {
		t.Fatalf("found %d shards to damage, want %d", len(ids), n)
	}
	hits := map[string]int{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || !(strings.HasSuffix(path, ".sst") || strings.HasSuffix(path, ".blob")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		for id, needle := range needles {
			off := bytes.Index(data, needle)
			if off < 0 {
				continue
			}
			at := int64(off + 16)
			if _, err := f.WriteAt([]byte{data[at] ^ 0xff, data[at+1] ^ 0x01}, at); err != nil {
				return err
			}
			hits[id]++
		}
		return f.Sync()
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if hits[id] == 0 {
			t.Fatalf("shard %s not found in the table files", id)
		}
	}
	t.Logf("planted bit rot in %d shards: %v", len(ids), hits)
	return ids
}
