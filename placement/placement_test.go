package placement

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func key(i int) []byte { return fmt.Appendf(nil, "version-%08d", i) }

func mustPlace(t testing.TB, nodes []Node, k []byte, n int) []string {
	t.Helper()
	ids, err := Place(nodes, k, n)
	if err != nil {
		t.Fatalf("Place(%d nodes, %q, %d): %v", len(nodes), k, n, err)
	}
	return ids
}

// flat returns n nodes with no failure domains in common (distinct hosts,
// one zone, one rack).
func flat(n int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = Node{ID: fmt.Sprintf("node-%02d", i), Weight: 1}
	}
	return nodes
}

// randomCluster draws zones, racks, hosts (some empty) and weights (some
// zero or negative, meaning 1).
func randomCluster(rng *rand.Rand) []Node {
	zones := 1 + rng.IntN(4)
	nodes := make([]Node, 1+rng.IntN(24))
	for i := range nodes {
		nd := Node{ID: fmt.Sprintf("n%d-%x", i, rng.Uint32()), Weight: float64(rng.IntN(5)) - 1}
		if rng.IntN(5) > 0 {
			nd.Zone = fmt.Sprintf("z%d", rng.IntN(zones))
		}
		if rng.IntN(4) > 0 {
			nd.Rack = fmt.Sprintf("r%d", rng.IntN(3))
		}
		if rng.IntN(3) > 0 {
			nd.Host = fmt.Sprintf("h%d", rng.IntN(6))
		}
		nodes[i] = nd
	}
	return nodes
}

// oracleScore computes the rendezvous score independently of the package:
// the standard library's FNV-1a over len(key) (8 bytes LE), key and ID, the
// MurmurHash3 finalizer, then -w/ln(u).
func oracleScore(nd Node, k []byte) float64 {
	h := fnv.New64a()
	_ = binary.Write(h, binary.LittleEndian, uint64(len(k)))
	h.Write(k)
	h.Write([]byte(nd.ID))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	u := (float64(x>>11) + 0.5) / (1 << 53)
	w := nd.Weight
	if w <= 0 {
		w = 1
	}
	return -w / math.Log(u)
}

// oraclePlace is the naive statement of the rule: sort by score, then for
// each pick keep the remaining nodes of the least-used zones, of those the
// least-used racks, of those the least-used hosts, and take the first.
func oraclePlace(nodes []Node, k []byte, n int) []string {
	type scored struct {
		Node
		score float64
	}
	rest := make([]scored, len(nodes))
	for i, nd := range nodes {
		rest[i] = scored{nd, oracleScore(nd, k)}
	}
	sort.Slice(rest, func(i, j int) bool {
		if rest[i].score != rest[j].score {
			return rest[i].score > rest[j].score
		}
		return rest[i].ID < rest[j].ID
	})
	zone := func(s scored) string { return s.Zone }
	rack := func(s scored) string { return s.Zone + "\x00" + s.Rack }
	host := func(s scored) string {
		if s.Host == "" {
			return "own\x00" + s.ID
		}
		return s.Zone + "\x00" + s.Rack + "\x00" + s.Host
	}
	used := map[string]int{}
	var out []string
	for len(out) < n {
		cands := rest
		for _, dom := range []func(scored) string{zone, rack, host} {
			least := math.MaxInt
			for _, c := range cands {
				least = min(least, used[dom(c)])
			}
			var keep []scored
			for _, c := range cands {
				if used[dom(c)] == least {
					keep = append(keep, c)
				}
			}
			cands = keep
		}
		pick := cands[0]
		out = append(out, pick.ID)
		for _, dom := range []func(scored) string{zone, rack, host} {
			used[dom(pick)]++
		}
		rest = slices.DeleteFunc(rest, func(s scored) bool { return s.ID == pick.ID })
	}
	return out
}

func TestPlace_MatchesNaiveOracleOnRandomClusters(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		nodes := randomCluster(rng)
		n := rng.IntN(len(nodes) + 1)
		k := key(i)
		got := mustPlace(t, nodes, k, n)
		if want := oraclePlace(nodes, k, n); !slices.Equal(got, want) {
			t.Fatalf("cluster %d %+v, n=%d:\n got  %v\n want %v", i, nodes, n, got, want)
		}
	}
}

func TestPlace_DeterministicAndIndependentOfNodeOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		nodes := randomCluster(rng)
		n := rng.IntN(len(nodes) + 1)
		k := key(i)
		want := mustPlace(t, nodes, k, n)
		for range 3 {
			shuffled := slices.Clone(nodes)
			rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
			if got := mustPlace(t, shuffled, k, n); !slices.Equal(got, want) {
				t.Fatalf("cluster %d: shuffled nodes give %v, want %v", i, got, want)
			}
		}
	}
}

func TestPlace_ReturnsNDistinctNodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 500 {
		nodes := randomCluster(rng)
		known := map[string]bool{}
		for _, nd := range nodes {
			known[nd.ID] = true
		}
		for _, n := range []int{0, 1, len(nodes) / 2, len(nodes)} {
			ids := mustPlace(t, nodes, key(i), n)
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] || !known[id] {
					t.Fatalf("cluster %d n=%d: %v repeats or invents %q", i, n, ids, id)
				}
				seen[id] = true
			}
			if len(ids) != n {
				t.Fatalf("cluster %d: got %d IDs, want %d", i, len(ids), n)
			}
		}
	}
}

// The first choice lands on each node in proportion to its weight (weight
// <= 0 counting as 1).
func TestPlace_FirstChoiceIsProportionalToWeight(t *testing.T) {
	nodes := []Node{
		{ID: "a", Weight: 1}, {ID: "b", Weight: 2}, {ID: "c", Weight: 3},
		{ID: "d", Weight: 4}, {ID: "e", Weight: 0}, {ID: "f", Weight: -5},
	}
	const keys = 60000
	total := 1.0 + 2 + 3 + 4 + 1 + 1
	counts := map[string]int{}
	for i := range keys {
		counts[mustPlace(t, nodes, key(i), 1)[0]]++
	}
	for _, nd := range nodes {
		w := max(nd.Weight, 0)
		if w == 0 {
			w = 1
		}
		want := keys * w / total
		got := float64(counts[nd.ID])
		// The smallest share (1/12 of 60000 = 5000) has a standard
		// deviation of about 68; 6% is over 4 sigma.
		if math.Abs(got-want) > 0.06*want {
			t.Errorf("node %s (weight %v): %v first choices, want %.0f ± 6%%", nd.ID, nd.Weight, got, want)
		}
	}
}

// Placements fill zones evenly: 3 zones of 3 nodes, n=6, gives 2 per zone.
func TestPlace_SpreadsEvenlyOverZones(t *testing.T) {
	var nodes []Node
	for z := range 3 {
		for i := range 3 {
			nodes = append(nodes, Node{ID: fmt.Sprintf("z%d-n%d", z, i), Zone: fmt.Sprintf("zone-%d", z), Host: fmt.Sprintf("h%d%d", z, i)})
		}
	}
	zoneOf := map[string]string{}
	for _, nd := range nodes {
		zoneOf[nd.ID] = nd.Zone
	}
	for i := range 2000 {
		ids := mustPlace(t, nodes, key(i), 6)
		per := map[string]int{}
		for j, id := range ids {
			per[zoneOf[id]]++
			if j == 2 && len(per) != 3 {
				t.Fatalf("key %d: the first three picks %v are not one per zone", i, ids[:3])
			}
		}
		for z, c := range per {
			if c != 2 {
				t.Fatalf("key %d: %v puts %d in %s, want 2 per zone", i, ids, c, z)
			}
		}
	}
}

// Within a zone, racks are used before a rack is reused.
func TestPlace_SpreadsOverRacksWithinZones(t *testing.T) {
	var nodes []Node
	for z := range 2 {
		for r := range 3 {
			for i := range 2 {
				nodes = append(nodes, Node{ID: fmt.Sprintf("z%d-r%d-n%d", z, r, i), Zone: fmt.Sprint(z), Rack: fmt.Sprint(r)})
			}
		}
	}
	rackOf := map[string]string{}
	for _, nd := range nodes {
		rackOf[nd.ID] = nd.Zone + "/" + nd.Rack
	}
	for i := range 2000 {
		ids := mustPlace(t, nodes, key(i), 6)
		racks := map[string]bool{}
		for _, id := range ids {
			racks[rackOf[id]] = true
		}
		if len(racks) != 6 {
			t.Fatalf("key %d: %v uses %d racks, want all 6", i, ids, len(racks))
		}
	}
}

// 6 hosts with 2 nodes each, n=6: never two nodes of the same host.
func TestPlace_SpreadsOverHosts(t *testing.T) {
	var nodes []Node
	for h := range 6 {
		for i := range 2 {
			nodes = append(nodes, Node{ID: fmt.Sprintf("h%d-disk%d", h, i), Host: fmt.Sprintf("host-%d", h), Weight: float64(1 + i*3)})
		}
	}
	for i := range 2000 {
		ids := mustPlace(t, nodes, key(i), 6)
		hosts := map[string]bool{}
		for _, id := range ids {
			hosts[id[:2]] = true
		}
		if len(hosts) != 6 {
			t.Fatalf("key %d: %v shares a host", i, ids)
		}
	}
}

// An empty Host is a host of its own; an empty Zone or Rack is one shared
// value, not "a different zone per node".
func TestPlace_EmptyDomainsAreSharedExceptHost(t *testing.T) {
	nodes := []Node{
		{ID: "a", Host: "shared"}, {ID: "b", Host: "shared"},
		{ID: "c"}, {ID: "d"},
		{ID: "e", Zone: "z1"},
	}
	for i := range 2000 {
		ids := mustPlace(t, nodes, key(i), 4)
		// "e" is alone in zone z1, every other node is in the empty zone:
		// e is always among the first two picks.
		if ids[0] != "e" && ids[1] != "e" {
			t.Fatalf("key %d: %v does not use zone z1 second at the latest", i, ids)
		}
		// Four picks fit on distinct hosts (a|b, c, d, e), so a and b are
		// never both chosen.
		if slices.Contains(ids, "a") && slices.Contains(ids, "b") {
			t.Fatalf("key %d: %v puts two shards on host \"shared\"", i, ids)
		}
	}
}

// Adding an 11th node takes about 1/11 of the first choices, all of them
// for itself.
func TestPlace_AddingANodeMovesAboutOneEleventhOfFirstChoices(t *testing.T) {
	before := flat(10)
	after := append(slices.Clone(before), Node{ID: "newcomer", Weight: 1})
	const keys = 30000
	moved := 0
	for i := range keys {
		a := mustPlace(t, before, key(i), 1)[0]
		b := mustPlace(t, after, key(i), 1)[0]
		if a != b {
			moved++
			if b != "newcomer" {
				t.Fatalf("key %d moved from %s to %s, not to the new node", i, a, b)
			}
		}
	}
	frac := float64(moved) / keys
	if math.Abs(frac-1.0/11) > 0.01 {
		t.Errorf("%.4f of first choices moved, want about %.4f", frac, 1.0/11)
	}
}

// Removing a node moves only the keys that had it: first choices anywhere,
// and whole placements when failure domains play no part.
func TestPlace_RemovingANodeOnlyMovesKeysThatHadIt(t *testing.T) {
	const gone = "node-04"
	before := flat(10)
	after := slices.DeleteFunc(slices.Clone(before), func(nd Node) bool { return nd.ID == gone })
	for i := range 5000 {
		a := mustPlace(t, before, key(i), 4)
		b := mustPlace(t, after, key(i), 4)
		if !slices.Contains(a, gone) && !slices.Equal(a, b) {
			t.Fatalf("key %d: placement %v without %s changed to %v", i, a, gone, b)
		}
		if slices.Contains(a, gone) {
			// The survivors keep their relative order; one node is added.
			kept := slices.DeleteFunc(slices.Clone(a), func(id string) bool { return id == gone })
			if !slices.Equal(kept, b[:3]) {
				t.Fatalf("key %d: %v became %v", i, a, b)
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 2000 {
		nodes := randomCluster(rng)
		if len(nodes) < 2 {
			continue
		}
		drop := nodes[rng.IntN(len(nodes))].ID
		rest := slices.DeleteFunc(slices.Clone(nodes), func(nd Node) bool { return nd.ID == drop })
		a := mustPlace(t, nodes, key(i), 1)[0]
		b := mustPlace(t, rest, key(i), 1)[0]
		if a != drop && a != b {
			t.Fatalf("cluster %d: first choice %s moved to %s when %s left", i, a, b, drop)
		}
	}
}

func TestPlace_ErrorsForBadInput(t *testing.T) {
	nodes := flat(5)
	if _, err := Place(nodes, key(1), 6); !errors.Is(err, ErrNotEnoughNodes) {
		t.Errorf("6 of 5: %v, want ErrNotEnoughNodes", err)
	}
	if _, err := Place(nil, key(1), 1); !errors.Is(err, ErrNotEnoughNodes) {
		t.Errorf("1 of 0: %v, want ErrNotEnoughNodes", err)
	}
	if ids, err := Place(nodes, key(1), 5); err != nil || len(ids) != 5 {
		t.Errorf("5 of 5: %v, %v", ids, err)
	}
	if ids, err := Place(nil, key(1), 0); err != nil || len(ids) != 0 {
		t.Errorf("0 of 0: %v, %v", ids, err)
	}
	if _, err := Place(nodes, key(1), -1); !errors.Is(err, ErrInvalidCount) {
		t.Errorf("n=-1: %v, want ErrInvalidCount", err)
	}
	for name, bad := range map[string]Node{
		"duplicate ID": {ID: "node-02"},
		"empty ID":     {},
		"NaN weight":   {ID: "x", Weight: math.NaN()},
		"+Inf weight":  {ID: "x", Weight: math.Inf(1)},
	} {
		if _, err := Place(append(slices.Clone(nodes), bad), key(1), 2); !errors.Is(err, ErrInvalidNode) {
			t.Errorf("%s: %v, want ErrInvalidNode", name, err)
		}
	}
}

// The package's hash is FNV-1a 64 (checked against hash/fnv) over
// len(key), key and ID, followed by the MurmurHash3 finalizer.
func TestNodeHash_IsFNV1aWithFinalMix(t *testing.T) {
	for _, tc := range []struct{ key, id string }{{"", ""}, {"k", "n"}, {"version-1", "node-7"}, {"ab", "c"}, {"a", "bc"}} {
		h := fnv.New64a()
		_ = binary.Write(h, binary.LittleEndian, uint64(len(tc.key)))
		h.Write([]byte(tc.key + tc.id))
		x := h.Sum64()
		x ^= x >> 33
		x *= 0xff51afd7ed558ccd
		x ^= x >> 33
		x *= 0xc4ceb9fe1a85ec53
		x ^= x >> 33
		if got := nodeHash(keyState([]byte(tc.key)), tc.id); got != x {
			t.Errorf("nodeHash(%q, %q) = %#x, want %#x", tc.key, tc.id, got, x)
		}
	}
	if nodeHash(keyState([]byte("ab")), "c") == nodeHash(keyState([]byte("a")), "bc") {
		t.Error("(ab, c) and (a, bc) hash alike: the key length is not part of the hash")
	}
}

// Placements are part of Cairn's on-disk contract (every gateway build must
// agree): these must never change.
func TestPlace_GoldenPlacementsNeverChange(t *testing.T) {
	nodes := []Node{
		{ID: "dn-01", Zone: "eu-1a", Rack: "r1", Host: "h1", Weight: 1},
		{ID: "dn-02", Zone: "eu-1a", Rack: "r1", Host: "h2", Weight: 1},
		{ID: "dn-03", Zone: "eu-1a", Rack: "r2", Host: "h3", Weight: 2},
		{ID: "dn-04", Zone: "eu-1b", Rack: "r1", Host: "h4", Weight: 1},
		{ID: "dn-05", Zone: "eu-1b", Rack: "r2", Host: "h5", Weight: 1},
		{ID: "dn-06", Zone: "eu-1b", Rack: "r2", Host: "h5", Weight: 1},
		{ID: "dn-07", Zone: "eu-1c", Rack: "r1", Host: "h7", Weight: 3},
		{ID: "dn-08", Zone: "eu-1c", Rack: "r1", Host: "h8", Weight: 1},
	}
	golden := map[string][]string{
		"":                    {"dn-07", "dn-04", "dn-01", "dn-06", "dn-03", "dn-08"},
		"v1":                  {"dn-05", "dn-07", "dn-02", "dn-04", "dn-03", "dn-08"},
		"0193a6f0-7c1e-7a2b":  {"dn-05", "dn-03", "dn-07", "dn-02", "dn-04", "dn-08"},
		"bucket/key/version3": {"dn-07", "dn-05", "dn-01", "dn-03", "dn-04", "dn-08"},
	}
	for k, want := range golden {
		got := mustPlace(t, nodes, []byte(k), 6)
		if !slices.Equal(got, want) {
			t.Errorf("Place(%q) = %#v, want %#v", k, got, want)
		}
		if o := oraclePlace(nodes, []byte(k), 6); !slices.Equal(o, want) {
			t.Errorf("oracle(%q) = %#v, want %#v", k, o, want)
		}
	}
}

func BenchmarkPlace(b *testing.B) {
	var nodes []Node
	for i := range 120 {
		nodes = append(nodes, Node{ID: fmt.Sprintf("dn-%03d", i), Zone: fmt.Sprint(i % 3), Rack: fmt.Sprint(i % 12), Host: fmt.Sprint(i / 2), Weight: 1})
	}
	k := key(42)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Place(nodes, k, 6); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPlaceUpToNeverDoublesAHost(t *testing.T) {
	nodes := []Node{
		{ID: "a1", Host: "a"}, {ID: "a2", Host: "a"},
		{ID: "b1", Host: "b"}, {ID: "c1", Host: "c"}, {ID: "d1"},
	}
	if got := Hosts(nodes); got != 4 {
		t.Fatalf("Hosts = %d, want 4", got)
	}
	for k := range 50 {
		got, err := PlaceUpTo(nodes, key(k), 6)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 {
			t.Fatalf("key %d: %d picks %v, want 4 (one per host)", k, len(got), got)
		}
		if slices.Contains(got, "a1") && slices.Contains(got, "a2") {
			t.Fatalf("key %d: two picks on host a: %v", k, got)
		}
	}
	// With hosts enough, PlaceUpTo picks what Place picks.
	wide := []Node{{ID: "n1"}, {ID: "n2"}, {ID: "n3"}, {ID: "n4"}, {ID: "n5"}, {ID: "n6"}, {ID: "n7"}}
	for k := range 50 {
		a, _ := Place(wide, key(k), 6)
		b, err := PlaceUpTo(wide, key(k), 6)
		if err != nil || !slices.Equal(a, b) {
			t.Fatalf("key %d: Place %v, PlaceUpTo %v (%v)", k, a, b, err)
		}
	}
	// The first picks of a short placement are the ones Place makes for
	// the same nodes and fewer shards.
	short := wide[:4]
	for k := range 50 {
		a, _ := Place(short, key(k), 4)
		b, _ := PlaceUpTo(short, key(k), 6)
		if !slices.Equal(a, b) {
			t.Fatalf("key %d: Place(4) %v, PlaceUpTo(6) %v", k, a, b)
		}
	}
}
