package jobs

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/cairn-store/cairn/placement"
)

// syntheticLayout is n nodes on hosts of their own, spread round-robin over
// the given zones (one shared zone when zones is 0).
func syntheticLayout(n, zones int) []placement.Node {
	out := make([]placement.Node, n)
	for i := range out {
		out[i] = placement.Node{ID: fmt.Sprintf("data-%02d", i+1), Weight: 1, Host: fmt.Sprintf("host-%02d", i+1)}
		if zones > 0 {
			out[i].Zone = fmt.Sprintf("zone-%d", i%zones)
		}
	}
	return out
}

// placeAll places units unit keys on layout, as the gateway does on write.
func placeAll(t *testing.T, layout []placement.Node, units, total int) map[string]map[int32]string {
	t.Helper()
	out := make(map[string]map[int32]string, units)
	for u := range units {
		key := fmt.Sprintf("v%06d", u)
		ids, err := placement.Place(layout, []byte(key), total)
		if err != nil {
			t.Fatal(err)
		}
		locs := make(map[int32]string, total)
		for i, id := range ids {
			locs[int32(i)] = id
		}
		out[key] = locs
	}
	return out
}

// rebalanceCheck plans every unit's moves for layout and checks them
// against a recomputation of placement: after the moves each unit is on
// exactly placement's pick, shards that stay keep their index, and the
// moves are exactly the shards on nodes placement no longer picks. It
// returns the moves per (old node, new node) pair and the total.
func rebalanceCheck(t *testing.T, layout []placement.Node, units map[string]map[int32]string, total int) (map[[2]string]int, int) {
	t.Helper()
	pairs := map[[2]string]int{}
	moved := 0
	for key, locs := range units {
		moves, err := planMoves(layout, locs, []byte(key), total)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		ideal, err := placement.Place(layout, []byte(key), total)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, id := range ideal {
			want[id] = true
		}
		off := 0
		for i := range int32(total) {
			if !want[locs[i]] {
				off++
			}
		}
		if len(moves) != off {
			t.Fatalf("%s: %d moves, but %d shards are off placement %v (at %v)", key, len(moves), off, ideal, locs)
		}
		after := map[string]bool{}
		for i := range int32(total) {
			id := locs[i]
			if to, ok := moves[i]; ok {
				if want[id] {
					t.Fatalf("%s: shard %d moves off %s, which placement still picks", key, i, id)
				}
				pairs[[2]string{id, to}]++
				id = to
			}
			if after[id] {
				t.Fatalf("%s: two shards on %s after the moves", key, id)
			}
			after[id] = true
		}
		for _, id := range ideal {
			if !after[id] {
				t.Fatalf("%s: after the moves the unit is not on placement's pick %v", key, ideal)
			}
		}
		// Applying the plan again moves nothing.
		next := make(map[int32]string, total)
		for i, id := range locs {
			next[i] = id
		}
		for i, to := range moves {
			next[i] = to
		}
		if again, err := planMoves(layout, next, []byte(key), total); err != nil || len(again) != 0 {
			t.Fatalf("%s: second plan %v, %v; want nothing", key, again, err)
		}
		moved += len(moves)
	}
	return pairs, moved
}

func TestRebalancePlan_AddingANodeMovesItsShareOntoItAndNothingElse(t *testing.T) {
	const n, units, total = 12, 6000, 6
	before := syntheticLayout(n, 0)
	placed := placeAll(t, before, units, total)
	if _, moved := rebalanceCheck(t, before, placed, total); moved != 0 {
		t.Fatalf("unchanged layout: %d moves, want 0", moved)
	}
	after := append(append([]placement.Node(nil), before...), placement.Node{ID: "data-new", Weight: 1, Host: "host-new"})
	pairs, moved := rebalanceCheck(t, after, placed, total)
	for p, c := range pairs {
		if p[1] != "data-new" {
			t.Fatalf("%d shards move from %s to %s; only the new node should gain shards", c, p[0], p[1])
		}
	}
	frac := float64(moved) / float64(units*total)
	want := 1.0 / float64(n+1)
	t.Logf("adding 1 node to %d: %d of %d shards move (%.4f, expected %.4f)", n, moved, units*total, frac, want)
	if math.Abs(frac-want) > 0.15*want {
		t.Fatalf("moved fraction %.4f, want about %.4f", frac, want)
	}
	// Every old node gives up about the same number of shards.
	for _, nd := range before {
		c := pairs[[2]string{nd.ID, "data-new"}]
		if exp := float64(moved) / n; math.Abs(float64(c)-exp) > 0.35*exp {
			t.Errorf("%s gives %d shards, want about %.0f", nd.ID, c, exp)
		}
	}
}

func TestRebalancePlan_WeightChangeMovesOnlyToOrFromThatNode(t *testing.T) {
	const n, units, total = 12, 6000, 6
	before := syntheticLayout(n, 0)
	placed := placeAll(t, before, units, total)

	heavier := append([]placement.Node(nil), before...)
	heavier[4].Weight = 2
	pairs, moved := rebalanceCheck(t, heavier, placed, total)
	if moved == 0 {
		t.Fatal("doubling a weight moved nothing")
	}
	for p, c := range pairs {
		if p[1] != heavier[4].ID {
			t.Fatalf("%d shards move from %s to %s; only %s should gain shards", c, p[0], p[1], heavier[4].ID)
		}
	}
	// The node's share of shards grows towards its share of the weight.
	held := 0
	for _, locs := range placed {
		for _, id := range locs {
			if id == heavier[4].ID {
				held++
			}
		}
	}
	share := float64(held+moved) / float64(units*total)
	t.Logf("weight 1 -> 2: %d of %d shards move; the node holds %.3f of all shards (was %.3f)", moved, units*total, share, float64(held)/float64(units*total))
	if share <= float64(held)/float64(units*total)*1.4 {
		t.Fatalf("share %.3f: the heavier node did not gain enough", share)
	}

	lighter := append([]placement.Node(nil), before...)
	lighter[7].Weight = 0.5
	pairs, moved = rebalanceCheck(t, lighter, placed, total)
	if moved == 0 {
		t.Fatal("halving a weight moved nothing")
	}
	for p, c := range pairs {
		if p[0] != lighter[7].ID {
			t.Fatalf("%d shards move from %s to %s; only %s should lose shards", c, p[0], p[1], lighter[7].ID)
		}
	}
}

func TestRebalancePlan_FollowsPlacementAcrossZones(t *testing.T) {
	const units, total = 3000, 6
	before := syntheticLayout(9, 3)
	placed := placeAll(t, before, units, total)
	after := append(append([]placement.Node(nil), before...), placement.Node{ID: "data-new", Weight: 1, Zone: "zone-0", Host: "host-new"})
	_, moved := rebalanceCheck(t, after, placed, total)
	t.Logf("adding 1 node to 9 in 3 zones: %d of %d shards move", moved, units*total)
	if moved == 0 {
		t.Fatal("nothing moved")
	}
}

func TestRebalancePlan_NeverTwoShardsOnOneHost(t *testing.T) {
	layout := syntheticLayout(7, 0)
	layout[6].Host = layout[5].Host // 6 hosts left for 6 shards
	layout[5].Weight = 100
	locs := map[int32]string{0: "data-01", 1: "data-02", 2: "data-03", 3: "data-04", 4: "data-05", 5: "data-06"}
	for u := range 200 {
		key := []byte(fmt.Sprintf("v%d", u))
		moves, err := planMoves(layout, locs, key, 6)
		if errors.Is(err, errRebalanceBlocked) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		hosts := map[string]bool{}
		for i := range int32(6) {
			id := locs[i]
			if to, ok := moves[i]; ok {
				id = to
			}
			h := hostKeyOf(layout[nodeIndex(layout, id)])
			if hosts[h.host] {
				t.Fatalf("%s: two shards on host %s after %v", key, h.host, moves)
			}
			hosts[h.host] = true
		}
	}
	// Fewer hosts than shards: placement must double up, so nothing moves.
	small := syntheticLayout(6, 0)
	small[5].Host = small[4].Host
	if _, err := planMoves(small, locs, []byte("x"), 6); !errors.Is(err, errRebalanceBlocked) {
		t.Fatalf("5 hosts for 6 shards: %v, want errRebalanceBlocked", err)
	}
}

func nodeIndex(layout []placement.Node, id string) int {
	for i, nd := range layout {
		if nd.ID == id {
			return i
		}
	}
	panic("no node " + id)
}

func TestLayoutFingerprintIgnoresOrderAndSeesWeights(t *testing.T) {
	a := syntheticLayout(5, 2)
	b := []placement.Node{a[3], a[1], a[4], a[0], a[2]}
	if layoutFingerprint(a) != layoutFingerprint(b) {
		t.Fatal("fingerprint depends on node order")
	}
	c := append([]placement.Node(nil), a...)
	c[2].Weight = 3
	if layoutFingerprint(a) == layoutFingerprint(c) {
		t.Fatal("fingerprint misses a weight change")
	}
	if layoutFingerprint(a) == layoutFingerprint(a[:4]) {
		t.Fatal("fingerprint misses a removed node")
	}
}
