package e2e

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/test/harness"
)

// Issue 10's acceptance: every shard is accounted for. Each test checks
// the end state the same way: every shard location of every record is
// asked of its data node (StatShards, as meta's reconciliation asks), and
// must be there, with the digest the record holds, on k+m distinct nodes.

// unitShards lists the shards of a record as (shard ID, location): the
// version's own and those of its parts.
func unitShards(v *cairnpb.ObjectVersion) map[string]*cairnpb.ShardLocation {
	out := map[string]*cairnpb.ShardLocation{}
	add := func(base string, locs []*cairnpb.ShardLocation) {
		for _, l := range locs {
			out[fmt.Sprintf("%s.%d", base, l.GetIndex())] = l
		}
	}
	add(v.GetVersionId(), v.GetShards())
	for _, p := range v.GetParts() {
		add(p.GetShardBase(), p.GetShards())
	}
	return out
}

// unaccounted returns what is wrong with the shards of recs: records not
// fully placed, and locations their node does not hold with the recorded
// digest. Empty means every shard is where meta says, intact.
func unaccounted(t *testing.T, c *harness.Cluster, recs map[string]*cairnpb.ObjectVersion) []string {
	t.Helper()
	var bad []string
	byNode := map[string]map[string]*cairnpb.ShardLocation{} // node -> shard ID -> location
	for key, v := range recs {
		if v.GetScheme() == nil {
			continue // inline
		}
		units := [][]*cairnpb.ShardLocation{v.GetShards()}
		if len(v.GetParts()) > 0 {
			units = units[:0]
			for _, p := range v.GetParts() {
				if p.GetScheme() != nil {
					units = append(units, p.GetShards())
				}
			}
		}
		for _, locs := range units {
			if err := protected(&cairnpb.ObjectVersion{Scheme: v.GetScheme(), Shards: locs}); err != nil {
				bad = append(bad, fmt.Sprintf("%s: %v", key, err))
			}
		}
		for sid, l := range unitShards(v) {
			if l.GetNodeId() == "" {
				continue
			}
			if byNode[l.GetNodeId()] == nil {
				byNode[l.GetNodeId()] = map[string]*cairnpb.ShardLocation{}
			}
			byNode[l.GetNodeId()][sid] = l
		}
	}
	for node, want := range byNode {
		p := c.Data(node)
		if p == nil {
			bad = append(bad, fmt.Sprintf("%d shards on %s, which the test does not know", len(want), node))
			continue
		}
		ids := make([]string, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		dc := dataClient(t, c, pki.RoleMeta, p.Addr)
		have := map[string]*cairnpb.ShardInfo{}
		for len(ids) > 0 {
			n := min(len(ids), 1000)
			resp, err := dc.StatShards(ctxT(t, 30*time.Second), &cairnpb.StatShardsRequest{ShardIds: ids[:n]})
			if err != nil {
				bad = append(bad, fmt.Sprintf("stat on %s: %v", node, err))
				break
			}
			for _, s := range resp.GetShards() {
				have[s.GetShardId()] = s
			}
			ids = ids[n:]
		}
		for id, l := range want {
			switch s := have[id]; {
			case s == nil:
				bad = append(bad, fmt.Sprintf("shard %s is not on %s", id, node))
			case l.GetDigest() == 0:
				bad = append(bad, fmt.Sprintf("shard %s on %s has no recorded digest", id, node))
			case s.GetDigest() != l.GetDigest():
				bad = append(bad, fmt.Sprintf("shard %s on %s: digest %016x, recorded %016x", id, node, s.GetDigest(), l.GetDigest()))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// waitAccounted waits until every shard of the bucket's keys is accounted
// for, and returns how long that took.
func waitAccounted(t *testing.T, c *harness.Cluster, bucket string, keys []string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		bad := unaccounted(t, c, records(t, c, bucket, keys))
		if len(bad) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("after %v, %d shard problems remain, e.g. %v; repair: %v", within, len(bad), bad[:min(5, len(bad))], repairStatus(t, c))
		}
		time.Sleep(2 * time.Second)
	}
}

// TestWipedDiskIsRebuilt: a data node comes back under its old name on an
// empty directory. It registers as a new incarnation, every shard placed
// on the old one counts as missing, and repair rebuilds them, with default
// repair settings, within five minutes. Then two other nodes die and
// everything still reads.
func TestWipedDiskIsRebuilt(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)
	mustCreateBucket(t, cl, "wipe")
	objs := putObjects(t, cl, "wipe", 1000, 8, 21)
	keys := keysOf(objs)
	if bad := unaccounted(t, c, records(t, c, "wipe", keys)); len(bad) > 0 {
		t.Fatalf("before the wipe: %v", bad[:min(5, len(bad))])
	}

	victim := c.Datas[5]
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(victim.Dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(victim.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	took := waitAccounted(t, c, "wipe", keys, 5*time.Minute)
	t.Logf("every shard accounted for %v after %s came back empty", took.Round(time.Millisecond), victim.Name)
	if !strings.Contains(victim.LogTail(1<<20), "incarnation") {
		t.Errorf("%s's log does not mention its new incarnation", victim.Name)
	}

	for _, p := range []*harness.Proc{c.Datas[0], c.Datas[2]} {
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	readAllBack(t, cl, "wipe", objs)
}

// TestTamperedShardIsReadAroundAndRebuilt: one shard of an object is
// replaced, through the data node's own write path, by other bytes with
// valid block checksums. Every GET still returns the right bytes (the
// node refuses the shard against the digest the record holds, and the
// gateway decodes around it), the gateway reports the shard, and repair
// rebuilds it to the recorded digest.
func TestTamperedShardIsReadAroundAndRebuilt(t *testing.T) {
	c := startCluster(t, harness.Options{ExtraMeta: repairFlags})
	cl := client(c)
	mustCreateBucket(t, cl, "tamper")
	body := pattern(31, 3<<20+12345)
	if err := put(ctxT(t, time.Minute), cl, "tamper", "victim", body); err != nil {
		t.Fatal(err)
	}
	v := objectRecord(t, c, "tamper", "victim")
	loc := v.GetShards()[0] // a data shard: plain reads use it
	holder := c.Data(loc.GetNodeId())
	sid := fmt.Sprintf("%s.%d", v.GetVersionId(), loc.GetIndex())

	// Read the shard's block lengths, then write other bytes of the same
	// shape under the same ID, each block with its own valid CRC.
	var lens []int
	st, err := dataClient(t, c, pki.RoleData, holder.Addr).GetShard(ctxT(t, 30*time.Second), &cairnpb.GetShardRequest{ShardId: sid})
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := st.Recv()
		if err != nil {
			break
		}
		lens = append(lens, len(m.GetBlock().GetData()))
	}
	if len(lens) == 0 {
		t.Fatal("the shard has no blocks")
	}
	w, err := dataClient(t, c, pki.RoleGateway, holder.Addr).PutShard(ctxT(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Header{Header: &cairnpb.ShardHeader{ShardId: sid}}}); err != nil {
		t.Fatal(err)
	}
	for i, n := range lens {
		b := pattern(int64(1000+i), n)
		if err := w.Send(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Block{Block: &cairnpb.Block{Index: int64(i), Data: b, Crc32C: erasure.Checksum(b)}}}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := w.CloseAndRecv()
	if err != nil {
		t.Fatalf("tampering write: %v", err)
	}
	if resp.GetDigest() == loc.GetDigest() {
		t.Fatal("the tampered shard has the recorded digest")
	}
	if bad := unaccounted(t, c, map[string]*cairnpb.ObjectVersion{"victim": v}); len(bad) != 1 || !strings.Contains(bad[0], "digest") {
		t.Fatalf("after tampering, the check finds %v; want the one digest mismatch", bad)
	}

	for i := range 5 {
		got, err := get(ctxT(t, time.Minute), cl, "tamper", "victim", "")
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("GET %d after tampering: %d bytes, %v", i, len(got), err)
		}
	}
	waitAccounted(t, c, "tamper", []string{"victim"}, 2*time.Minute)
	if st := repairStatus(t, c); num(st, "shard_reports_confirmed") < 1 {
		t.Fatalf("no gateway shard report was confirmed: %v", st)
	}
	info, err := dataClient(t, c, pki.RoleMeta, holder.Addr).StatShard(ctxT(t, 10*time.Second), &cairnpb.StatShardRequest{ShardId: sid})
	after := objectRecord(t, c, "tamper", "victim")
	t.Logf("shard %s: stat %v (%v); record now places it on %s", sid, info.GetInfo(), err, after.GetShards()[0].GetNodeId())
	got, err := get(ctxT(t, time.Minute), cl, "tamper", "victim", "")
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GET after repair: %v", err)
	}
}

// TestShardsDeletedBehindTheClustersBack: shards vanish from healthy data
// nodes without any read touching them. Inventory reconciliation finds
// them and repair rebuilds them, and no node is declared lost.
func TestShardsDeletedBehindTheClustersBack(t *testing.T) {
	c := startCluster(t, harness.Options{ExtraMeta: append(append([]string(nil), repairFlags...), inventoryFlags...)})
	cl := client(c)
	mustCreateBucket(t, cl, "behind")
	objs := putObjects(t, cl, "behind", 60, 8, 41)
	keys := keysOf(objs)
	sort.Strings(keys)
	deleted := 0
	for _, key := range keys[:10] {
		v := objectRecord(t, c, "behind", key)
		for _, l := range v.GetShards()[:2] { // two shards of each
			sid := fmt.Sprintf("%s.%d", v.GetVersionId(), l.GetIndex())
			dc := dataClient(t, c, pki.RoleMeta, c.Data(l.GetNodeId()).Addr)
			if _, err := dc.DeleteShard(ctxT(t, 10*time.Second), &cairnpb.DeleteShardRequest{ShardId: sid}); err != nil {
				t.Fatal(err)
			}
			// Gone (reconciliation may find and rebuild it within
			// seconds, so this is checked at once, not after the loop).
			if _, err := dc.StatShard(ctxT(t, 10*time.Second), &cairnpb.StatShardRequest{ShardId: sid}); status.Code(err) != codes.NotFound {
				t.Fatalf("shard %s after its deletion: %v, want NotFound", sid, err)
			}
			deleted++
		}
	}
	took := waitAccounted(t, c, "behind", keys, 3*time.Minute)
	t.Logf("%d deleted shards found and rebuilt in %v", deleted, took.Round(time.Millisecond))
	found := false
	for _, m := range c.Metas {
		found = found || strings.Contains(m.LogTail(8<<20), "inventory reconciliation found shards missing or mismatched")
	}
	if !found {
		t.Error("no meta node logged an inventory reconciliation finding: who rebuilt the shards?")
	}
	if lost := repairStatus(t, c)["lost_nodes"]; lost != nil {
		t.Fatalf("nodes declared lost: %v", lost)
	}
	readAllBack(t, cl, "behind", objs)
}

// TestWritesThroughNodeLoss: with two of six data nodes down, PUTs of
// 1 MiB and 64 MiB and a multipart upload succeed under a write quorum of
// k; once the nodes are back every object reaches 6 of 6. Then, with two
// nodes down for good, more writes succeed, the nodes are removed and
// replaced by fresh ones, and again every object reaches 6 of 6. Any two
// nodes can die afterwards and everything reads.
func TestWritesThroughNodeLoss(t *testing.T) {
	c := startCluster(t, harness.Options{ExtraMeta: repairFlags, ExtraGW: []string{"--write-quorum", "4"}})
	cl := client(c)
	mustCreateBucket(t, cl, "loss")
	objs := map[string][]byte{}
	writeSet := func(tag string, seed int64) {
		t.Helper()
		ctx := ctxT(t, 5*time.Minute)
		for name, size := range map[string]int{"1m": 1 << 20, "64m": 64 << 20} {
			key := tag + "-" + name
			objs[key] = pattern(seed+int64(size), size)
			if err := put(ctx, cl, "loss", key, objs[key]); err != nil {
				t.Fatalf("%s: PUT %s: %v", tag, key, err)
			}
		}
		key := tag + "-multipart"
		parts := [][]byte{pattern(seed+1, 5<<20), pattern(seed+2, 5<<20), pattern(seed+3, 777)}
		objs[key] = bytes.Join(parts, nil)
		mp, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("loss"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("%s: create upload: %v", tag, err)
		}
		var done []types.CompletedPart
		for i, p := range parts {
			out, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("loss"), Key: aws.String(key), UploadId: mp.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
			if err != nil {
				t.Fatalf("%s: part %d: %v", tag, i+1, err)
			}
			done = append(done, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
		}
		if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("loss"), Key: aws.String(key),
			UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
			t.Fatalf("%s: complete: %v", tag, err)
		}
	}
	degraded := func(keys []string) int {
		n := 0
		for _, v := range records(t, c, "loss", keys) {
			for _, l := range unitShards(v) {
				if l.GetNodeId() == "" {
					n++
					break
				}
			}
		}
		return n
	}

	// Two nodes down, then back.
	down := []*harness.Proc{c.Datas[1], c.Datas[4]}
	for _, p := range down {
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	writeSet("outage", 100)
	keys := keysOf(objs)
	if n := degraded(keys); n != len(keys) {
		t.Fatalf("%d of %d objects written during the outage are recorded degraded", n, len(keys))
	}
	readAllBack(t, cl, "loss", objs)
	for _, p := range down {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	took := waitAccounted(t, c, "loss", keys, 4*time.Minute)
	t.Logf("nodes back: every object 6 of 6 after %v", took.Round(time.Millisecond))

	// Two nodes down for good: writes go on; the nodes are removed and
	// replaced by fresh ones.
	gone := []*harness.Proc{c.Datas[0], c.Datas[3]}
	for _, p := range gone {
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	writeSet("replaced", 200)
	keys = keysOf(objs)
	for _, p := range gone {
		ctl(t, c, "node", "remove", p.Name)
	}
	c.AddData(t)
	c.AddData(t)
	took = waitAccounted(t, c, "loss", keys, 6*time.Minute)
	t.Logf("nodes replaced: every object 6 of 6 after %v", took.Round(time.Millisecond))
	for key, v := range records(t, c, "loss", keys) {
		for _, l := range unitShards(v) {
			for _, g := range gone {
				if l.GetNodeId() == g.Name {
					t.Fatalf("%s still places a shard on removed %s", key, g.Name)
				}
			}
		}
	}

	for _, p := range []*harness.Proc{c.Datas[2], c.Datas[5]} {
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	readAllBack(t, cl, "loss", objs)
}

// inventoryFlags make meta's inventory reconciliation quick for tests.
var inventoryFlags = []string{"--inventory-interval", "2s", "--inventory-rate", "-1"}
