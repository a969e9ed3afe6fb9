package placement

import (
	"errors"
	"fmt"
	"testing"
)

// failureDomainNodes is a small region: 3 zones, 2 racks per zone, 2
// hosts per rack, 2 disks (nodes) per host.
func failureDomainNodes() []Node {
	var nodes []Node
	for z := range 3 {
		for r := range 2 {
			for h := range 2 {
				for d := range 2 {
					nodes = append(nodes, Node{
						ID:   fmt.Sprintf("z%d-r%d-h%d-d%d", z, r, h, d),
						Zone: fmt.Sprintf("z%d", z), Rack: fmt.Sprintf("r%d", r), Host: fmt.Sprintf("h%d", h),
					})
				}
			}
		}
	}
	return nodes
}

func domainsOf(nodes []Node) map[string]Node {
	m := map[string]Node{}
	for _, n := range nodes {
		m[n.ID] = n
	}
	return m
}

// Six shards over 3 zones x 2 racks x 2 hosts x 2 disks: never two on one
// host, and every zone and every rack used evenly (2 per zone, 1 per rack).
func TestPlace_NeverTwoShardsOnOneHostAndSpreadsOverRacksAndZones(t *testing.T) {
	nodes := failureDomainNodes()
	byID := domainsOf(nodes)
	for k := range 500 {
		key := []byte(fmt.Sprintf("version-%d", k))
		ids, err := Place(nodes, key, 6)
		if err != nil {
			t.Fatal(err)
		}
		hosts, racks, zones := map[string]int{}, map[string]int{}, map[string]int{}
		for _, id := range ids {
			n := byID[id]
			hosts[n.Zone+"/"+n.Rack+"/"+n.Host]++
			racks[n.Zone+"/"+n.Rack]++
			zones[n.Zone]++
		}
		for h, c := range hosts {
			if c > 1 {
				t.Fatalf("key %s: %d shards on host %s: %v", key, c, h, ids)
			}
		}
		if len(racks) != 6 || len(zones) != 3 {
			t.Fatalf("key %s: racks %v zones %v", key, racks, zones)
		}
		for z, c := range zones {
			if c != 2 {
				t.Fatalf("key %s: zone %s holds %d shards", key, z, c)
			}
		}
	}
}

// Replacing lost shards keeps the survivors, fills the emptiest domains
// and never reuses a host that holds a shard.
func TestReplace_FillsEmptiestDomainsAndNeverReusesAHost(t *testing.T) {
	nodes := failureDomainNodes()
	byID := domainsOf(nodes)
	for k := range 300 {
		key := []byte(fmt.Sprintf("v-%d", k))
		ids, err := Place(nodes, key, 6)
		if err != nil {
			t.Fatal(err)
		}
		// Lose the two shards of the first zone used.
		lostZone := byID[ids[0]].Zone
		var kept []string
		var alive []Node
		for _, id := range ids {
			if byID[id].Zone != lostZone {
				kept = append(kept, id)
			}
		}
		for _, n := range nodes {
			if n.Zone != lostZone || n.Rack != byID[ids[0]].Rack {
				alive = append(alive, n)
			}
		}
		picked, err := Replace(alive, kept, key, 6-len(kept))
		if err != nil {
			t.Fatal(err)
		}
		hosts := map[string]bool{}
		zones := map[string]int{}
		for _, id := range append(append([]string(nil), kept...), picked...) {
			n := byID[id]
			h := n.Zone + "/" + n.Rack + "/" + n.Host
			if hosts[h] {
				t.Fatalf("key %s: host %s used twice (kept %v, picked %v)", key, h, kept, picked)
			}
			hosts[h] = true
			zones[n.Zone]++
		}
		for z, c := range zones {
			if c != 2 {
				t.Fatalf("key %s: zone %s holds %d shards after repair: kept %v picked %v", key, z, c, kept, picked)
			}
		}
	}
}

func TestReplace_FailsWithoutAFreeHost(t *testing.T) {
	nodes := []Node{
		{ID: "a1", Host: "a"}, {ID: "a2", Host: "a"},
		{ID: "b1", Host: "b"}, {ID: "c1", Host: "c"},
	}
	if _, err := Replace(nodes, []string{"a1", "b1", "c1"}, []byte("k"), 1); !errors.Is(err, ErrNotEnoughNodes) {
		t.Fatalf("Replace onto a used host: %v, want ErrNotEnoughNodes", err)
	}
	got, err := Replace(nodes, []string{"a1", "b1"}, []byte("k"), 1)
	if err != nil || len(got) != 1 || got[0] != "c1" {
		t.Fatalf("Replace = %v, %v; want [c1]", got, err)
	}
	if _, err := Replace(nodes, []string{"zz"}, []byte("k"), 1); !errors.Is(err, ErrInvalidNode) {
		t.Fatalf("unknown kept node: %v", err)
	}
}
