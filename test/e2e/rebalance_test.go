package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/placement"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/test/harness"
)

// rebalanceStatus reads the rebalancer's status through cairnctl.
func rebalanceStatus(t *testing.T, c *harness.Cluster) map[string]any {
	t.Helper()
	var st struct {
		Rebalance map[string]any `json:"rebalance"`
	}
	out := ctl(t, c, "status", "-o", "json")
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	if st.Rebalance == nil {
		t.Fatalf("status has no rebalance section:\n%s", out)
	}
	return st.Rebalance
}

// layoutNow is the data-node layout as placement sees it: the active nodes.
func layoutNow(t *testing.T, c *harness.Cluster) []placement.Node {
	t.Helper()
	st, err := c.Status(ctxT(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var out []placement.Node
	for _, ns := range st.GetNodes() {
		d := ns.GetNode()
		if d.GetState() == cairnpb.NodeState_NODE_STATE_ACTIVE {
			out = append(out, placement.Node{ID: d.GetId(), Weight: d.GetWeight(), Zone: d.GetZone(), Rack: d.GetRack(), Host: d.GetHost()})
		}
	}
	return out
}

// offPlacement counts, per record, the shards on nodes that placement over
// layout no longer picks for it: what a minimal rebalance moves.
func offPlacement(t *testing.T, layout []placement.Node, recs map[string]*cairnpb.ObjectVersion) (int, map[string]map[string]bool) {
	t.Helper()
	total := 0
	ideal := make(map[string]map[string]bool, len(recs))
	for key, v := range recs {
		n := int(v.GetScheme().GetData() + v.GetScheme().GetParity())
		ids, err := placement.Place(layout, []byte(v.GetVersionId()), n)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, id := range ids {
			want[id] = true
		}
		ideal[key] = want
		for _, s := range v.GetShards() {
			if !want[s.GetNodeId()] {
				total++
			}
		}
	}
	return total, ideal
}

// shardsChanged counts the shards whose node differs between two sets of
// records.
func shardsChanged(a, b map[string]*cairnpb.ObjectVersion) int {
	n := 0
	for key, va := range a {
		at := map[int32]string{}
		for _, s := range va.GetShards() {
			at[s.GetIndex()] = s.GetNodeId()
		}
		for _, s := range b[key].GetShards() {
			if at[s.GetIndex()] != s.GetNodeId() {
				n++
			}
		}
	}
	return n
}

// waitPlaced waits until every record sits on placement's pick and the
// rebalancer reports a finished pass with nothing left to move; it returns
// the records.
func waitPlaced(t *testing.T, c *harness.Cluster, bucket string, keys []string, ideal map[string]map[string]bool, passesBefore int64) (map[string]*cairnpb.ObjectVersion, map[string]any) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		recs := records(t, c, bucket, keys)
		off := 0
		for key, v := range recs {
			for _, s := range v.GetShards() {
				if !ideal[key][s.GetNodeId()] {
					off++
				}
			}
		}
		st := rebalanceStatus(t, c)
		if off == 0 && num(st, "passes") > passesBefore && st["running"] == false {
			return recs, st
		}
		if time.Now().After(deadline) {
			t.Fatalf("rebalance not done: %d shards still off placement; status %v", off, st)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// sampleProtection reads random records until stop closes and reports the
// first that had fewer than k+m shards on distinct nodes.
func sampleProtection(t *testing.T, c *harness.Cluster, bucket string, keys []string, stop <-chan struct{}) <-chan error {
	mc := c.MetaClient(t)
	out := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(7, 8))
		n := 0
		defer func() { t.Logf("sampled %d records during the rebalance", n) }()
		for {
			select {
			case <-stop:
				out <- nil
				return
			default:
			}
			key := keys[rng.IntN(len(keys))]
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			r, err := metaclient.Meta(ctx, mc, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
				return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "default", Bucket: bucket, Key: key})
			})
			cancel()
			if err != nil {
				out <- fmt.Errorf("%s: %w", key, err)
				return
			}
			n++
			if err := protected(r.GetVersion()); err != nil {
				out <- fmt.Errorf("%s during the rebalance: %w", key, err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return out
}

// TestRebalanceAfterAddingANodeMovesOnlyWhatPlacementChanges: 6 data nodes
// hold 300 objects; a 7th joins. The rebalancer moves exactly the shards
// placement now puts on other nodes (all onto the new node, which ends with
// about its share), records sampled throughout always have 6 shards on
// distinct nodes, the old copies are garbage-collected, and every object
// reads back byte-exact. Then `cairnctl node set-weight` doubles a node's
// weight and again exactly the predicted shards move, onto that node.
func TestRebalanceAfterAddingANodeMovesOnlyWhatPlacementChanges(t *testing.T) {
	c := startCluster(t, harness.Options{Datas: 6, ExtraMeta: repairFlags})
	cl := client(c)
	mustCreateBucket(t, cl, "rebal")
	objs := putObjects(t, cl, "rebal", 300, 8, 21)
	keys := keysOf(objs)
	before := records(t, c, "rebal", keys)
	checkProtected(t, before)

	// A pass asked for on an unchanged layout scans everything and moves
	// nothing.
	var kicked map[string]any
	if err := json.Unmarshal(ctl(t, c, "-o", "json", "node", "rebalance", "--wait", "60s"), &kicked); err != nil {
		t.Fatal(err)
	}
	st := rebalanceStatus(t, c)
	if st["enabled"] != true || num(st, "total_shards_moved") != 0 || num(st, "units_scanned") != int64(len(keys)) || num(st, "shards_to_move") != 0 {
		t.Fatalf("pass on the initial layout: %v; want enabled, %d units scanned, nothing to move", st, len(keys))
	}
	passes := num(st, "passes")

	stop := make(chan struct{})
	sampled := sampleProtection(t, c, "rebal", keys, stop)
	start := time.Now()
	added := c.AddData(t)
	layout := layoutNow(t, c)
	if len(layout) != 7 {
		t.Fatalf("layout has %d active nodes, want 7", len(layout))
	}
	predicted, ideal := offPlacement(t, layout, before)
	after, st := waitPlaced(t, c, "rebal", keys, ideal, passes)
	close(stop)
	if err := <-sampled; err != nil {
		t.Fatal(err)
	}
	moved := shardsChanged(before, after)
	t.Logf("added %s: %d of %d shards moved in %v (placement predicts %d); status %v",
		added.Name, moved, 6*len(keys), time.Since(start).Round(time.Millisecond), predicted, st)
	if moved != predicted || num(st, "total_shards_moved") != int64(predicted) {
		t.Fatalf("%d shards changed node, rebalancer reports %d moved; placement predicts %d", moved, num(st, "total_shards_moved"), predicted)
	}
	if num(st, "failures") != 0 || num(st, "blocked") != 0 {
		t.Fatalf("rebalance failures or blocked units: %v", st)
	}
	checkProtected(t, after)
	onNew := 0
	for key, v := range after {
		for _, s := range v.GetShards() {
			if s.GetNodeId() == added.Name {
				onNew++
				if err := readShard(t, c, added.Addr, fmt.Sprintf("%s.%d", v.GetVersionId(), s.GetIndex())); err != nil {
					t.Fatalf("%s: shard %d on %s: %v", key, s.GetIndex(), added.Name, err)
				}
			}
		}
		for _, s := range before[key].GetShards() {
			if !ideal[key][s.GetNodeId()] && len(before[key].GetShards()) > 0 {
				// Every moved shard went to the new node.
				for _, s2 := range v.GetShards() {
					if s2.GetIndex() == s.GetIndex() && s2.GetNodeId() != added.Name {
						t.Fatalf("%s: shard %d moved to %s, not to the new node", key, s.GetIndex(), s2.GetNodeId())
					}
				}
			}
		}
	}
	share := float64(onNew) / float64(6*len(keys))
	t.Logf("%s holds %d shards, %.3f of all (its share: %.3f)", added.Name, onNew, share, 1.0/7)
	if share < 0.6/7 || share > 1.4/7 {
		t.Fatalf("new node holds %.3f of the shards, want about %.3f", share, 1.0/7)
	}
	if onNew != moved {
		t.Fatalf("new node holds %d shards, %d moved", onNew, moved)
	}

	// The old copies go to the GC and are deleted.
	nodeAddr := map[string]string{}
	for _, p := range c.Datas {
		nodeAddr[p.Name] = p.Addr
	}
	gcDeadline := time.Now().Add(60 * time.Second)
	for key, v := range before {
		for _, s := range v.GetShards() {
			if ideal[key][s.GetNodeId()] {
				continue
			}
			sid := fmt.Sprintf("%s.%d", v.GetVersionId(), s.GetIndex())
			for {
				err := readShard(t, c, nodeAddr[s.GetNodeId()], sid)
				if errors.Is(err, rpcerr.ErrShardNotFound) {
					break
				}
				if time.Now().After(gcDeadline) {
					t.Fatalf("old copy %s on %s not garbage-collected: %v", sid, s.GetNodeId(), err)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	readAllBack(t, cl, "rebal", objs)

	// A weight change moves exactly what placement predicts, onto the node.
	heavy := c.Datas[2].Name
	passes = num(rebalanceStatus(t, c), "passes")
	ctl(t, c, "node", "set-weight", heavy, "2")
	layout = layoutNow(t, c)
	for _, nd := range layout {
		if nd.ID == heavy && nd.Weight != 2 {
			t.Fatalf("%s has weight %v after set-weight 2", heavy, nd.Weight)
		}
	}
	predicted, ideal = offPlacement(t, layout, after)
	if predicted == 0 {
		t.Fatal("doubling a weight changes no placement")
	}
	stop = make(chan struct{})
	sampled = sampleProtection(t, c, "rebal", keys, stop)
	final, st := waitPlaced(t, c, "rebal", keys, ideal, passes)
	close(stop)
	if err := <-sampled; err != nil {
		t.Fatal(err)
	}
	moved = shardsChanged(after, final)
	t.Logf("weight of %s 1 -> 2: %d shards moved (placement predicts %d); status %v", heavy, moved, predicted, st)
	if moved != predicted || num(st, "shards_moved") != int64(predicted) {
		t.Fatalf("%d shards changed node, the pass reports %d; placement predicts %d", moved, num(st, "shards_moved"), predicted)
	}
	for key, v := range final {
		for i, s := range v.GetShards() {
			if old := after[key].GetShards()[i]; old.GetNodeId() != s.GetNodeId() && s.GetNodeId() != heavy {
				t.Fatalf("%s: shard %d moved from %s to %s, not onto %s", key, s.GetIndex(), old.GetNodeId(), s.GetNodeId(), heavy)
			}
		}
	}
	checkProtected(t, final)
	// The weight is the operator's now: it survives the node registering again.
	if err := c.Datas[2].Restart(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctxT(t, time.Minute), len(c.Datas)); err != nil {
		t.Fatal(err)
	}
	for _, nd := range layoutNow(t, c) {
		if nd.ID == heavy && nd.Weight != 2 {
			t.Fatalf("%s has weight %s after a restart, want 2", heavy, strconv.FormatFloat(nd.Weight, 'g', -1, 64))
		}
	}
	readAllBack(t, cl, "rebal", objs)
}

// TestRebalanceOffMovesOnlyWhenAsked: with `cairn meta --rebalance=false`
// a new node takes no existing shards until `cairnctl node rebalance`,
// which then moves exactly what placement predicts.
func TestRebalanceOffMovesOnlyWhenAsked(t *testing.T) {
	c := startCluster(t, harness.Options{Datas: 6, ExtraMeta: append(repairFlags, "--rebalance=false")})
	cl := client(c)
	mustCreateBucket(t, cl, "manual")
	objs := putObjects(t, cl, "manual", 120, 8, 22)
	keys := keysOf(objs)
	before := records(t, c, "manual", keys)
	added := c.AddData(t)
	time.Sleep(4 * time.Second) // four repair intervals: time enough to notice the layout
	st := rebalanceStatus(t, c)
	if st["enabled"] != false || num(st, "total_shards_moved") != 0 {
		t.Fatalf("rebalance off, a node added: %v; want disabled and nothing moved", st)
	}
	if n := shardsChanged(before, records(t, c, "manual", keys)); n != 0 {
		t.Fatalf("%d shards moved with rebalancing off", n)
	}
	predicted, ideal := offPlacement(t, layoutNow(t, c), before)
	var out map[string]any
	if err := json.Unmarshal(ctl(t, c, "-o", "json", "node", "rebalance", "--wait", "60s"), &out); err != nil {
		t.Fatal(err)
	}
	after := records(t, c, "manual", keys)
	moved := shardsChanged(before, after)
	t.Logf("rebalance asked for after adding %s: %d shards moved (placement predicts %d); %v", added.Name, moved, predicted, out)
	if moved != predicted || num(out, "shards_moved") != int64(predicted) || predicted == 0 {
		t.Fatalf("%d shards changed node, the pass reports %v; placement predicts %d", moved, out["shards_moved"], predicted)
	}
	for key, v := range after {
		for _, s := range v.GetShards() {
			if !ideal[key][s.GetNodeId()] {
				t.Fatalf("%s: shard %d on %s, off placement", key, s.GetIndex(), s.GetNodeId())
			}
		}
	}
	checkProtected(t, after)
	readAllBack(t, cl, "manual", objs)
}
