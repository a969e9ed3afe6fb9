package placement

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrNotEnoughNodes means fewer nodes were given than placements asked for.
var ErrNotEnoughNodes = errors.New("placement: not enough nodes")

// ErrInvalidNode means a node cannot take part in placement: its ID is
// empty or given twice, or its weight is NaN or +Inf.
var ErrInvalidNode = errors.New("placement: invalid node")

// ErrInvalidCount means a negative number of nodes was asked for.
var ErrInvalidCount = errors.New("placement: negative node count")

// Node is a data node as placement sees it.
type Node struct {
	// ID identifies the node; it is what Place hashes and returns.
	ID string
	// Weight is the node's relative share of placements, typically its
	// capacity. Weight <= 0 means 1.
	Weight float64
	// Zone, Rack and Host are the node's failure domains, outermost first.
	// A rack is identified by (Zone, Rack) and a host by (Zone, Rack, Host).
	// An empty Zone or Rack is one shared value; an empty Host means the
	// node shares its host with no other node.
	Zone, Rack, Host string
}

// Place returns n distinct node IDs for key, shard i going to the i-th. The
// result depends only on the set of nodes, key and n, not on the order of
// nodes.
//
// Each node scores -Weight/ln(u), u in (0, 1) derived from a 64-bit hash of
// (key, ID) (weighted rendezvous hashing). Picks are made one at a time: the
// next pick is the highest-scored remaining node among those whose zone has
// been picked the fewest times so far, among those whose rack has, and then
// whose host has; so zones are used before racks are reused, racks before
// hosts, and domains are filled evenly. Exact score ties go to the smaller ID.
//
// Fewer than n nodes fails with ErrNotEnoughNodes; an unusable node with
// ErrInvalidNode; n < 0 with ErrInvalidCount.
func Place(nodes []Node, key []byte, n int) ([]string, error) {
	return place(nodes, key, n, nil, false, false)
}

// Replace picks n more nodes for key, to join the nodes listed in kept
// (IDs of nodes that already hold shards of key; they must be among nodes
// and are never picked). The domain use counts start from the kept nodes,
// so the picks fill the least-used zones, racks and hosts first, by the
// same order as Place. Unlike Place, Replace never picks a host that
// already holds a shard (kept or picked): with too few distinct hosts left
// it fails with ErrNotEnoughNodes. Repair uses it to rebuild lost shards
// without ever putting two shards of one object on one host.
func Replace(nodes []Node, kept []string, key []byte, n int) ([]string, error) {
	return place(nodes, key, n, kept, true, false)
}

// PlaceUpTo is for a cluster short of nodes, where Place fails: it picks
// by Place's order but never two nodes of one host, and stops when no
// host is left, returning between 0 and n IDs. Degraded writes use it: the
// shards it cannot place are recorded as missing rather than doubled up on
// a host. An unusable node fails with ErrInvalidNode.
func PlaceUpTo(nodes []Node, key []byte, n int) ([]string, error) {
	return place(nodes, key, n, nil, true, true)
}

// Hosts is the number of distinct hosts among nodes: how many shards of
// one key they can hold without two on one host.
func Hosts(nodes []Node) int {
	type hostKey struct{ zone, rack, host string }
	named := map[hostKey]bool{}
	n := 0
	for _, nd := range nodes {
		if nd.Host == "" {
			n++
		} else if !named[hostKey{nd.Zone, nd.Rack, nd.Host}] {
			named[hostKey{nd.Zone, nd.Rack, nd.Host}] = true
			n++
		}
	}
	return n
}

func place(nodes []Node, key []byte, n int, kept []string, strictHost, partial bool) ([]string, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: %d", ErrInvalidCount, n)
	}
	if partial {
		n = min(n, len(nodes))
	}
	if n+len(kept) > len(nodes) {
		return nil, fmt.Errorf("%w: %d nodes for %d placements", ErrNotEnoughNodes, len(nodes), n+len(kept))
	}

	type rackKey struct{ zone, rack string }
	type hostKey struct{ zone, rack, host string }
	zones := make(map[string]int, len(nodes))
	racks := make(map[rackKey]int, len(nodes))
	hosts := make(map[hostKey]int, len(nodes)) // named hosts only
	nHosts := 0
	ids := make(map[string]struct{}, len(nodes))
	cands := make([]candidate, len(nodes))
	base := keyState(key)
	for i, nd := range nodes {
		if nd.ID == "" {
			return nil, fmt.Errorf("%w: node %d has an empty ID", ErrInvalidNode, i)
		}
		if _, dup := ids[nd.ID]; dup {
			return nil, fmt.Errorf("%w: duplicate ID %q", ErrInvalidNode, nd.ID)
		}
		ids[nd.ID] = struct{}{}
		if math.IsNaN(nd.Weight) || math.IsInf(nd.Weight, 1) {
			return nil, fmt.Errorf("%w: node %q has weight %v", ErrInvalidNode, nd.ID, nd.Weight)
		}
		c := &cands[i]
		c.id = nd.ID
		c.score = score(nd.Weight, nodeHash(base, nd.ID))
		c.zone = index(zones, nd.Zone)
		c.rack = index(racks, rackKey{nd.Zone, nd.Rack})
		if nd.Host == "" {
			c.host = nHosts // a host of its own
			nHosts++
		} else if h, ok := hosts[hostKey{nd.Zone, nd.Rack, nd.Host}]; ok {
			c.host = h
		} else {
			c.host = nHosts
			hosts[hostKey{nd.Zone, nd.Rack, nd.Host}] = nHosts
			nHosts++
		}
	}

	zoneUse := make([]int, len(zones))
	rackUse := make([]int, len(racks))
	hostUse := make([]int, nHosts)
	for _, id := range kept {
		found := false
		for i := range cands {
			if c := &cands[i]; c.id == id && !c.taken {
				c.taken = true
				zoneUse[c.zone]++
				rackUse[c.rack]++
				hostUse[c.host]++
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: kept node %q is not among the nodes (or listed twice)", ErrInvalidNode, id)
		}
	}
	out := make([]string, 0, n)
	for len(out) < n {
		best := -1
		for i := range cands {
			if cands[i].taken || (strictHost && hostUse[cands[i].host] > 0) {
				continue
			}
			if best < 0 || cands[i].better(&cands[best], zoneUse, rackUse, hostUse) {
				best = i
			}
		}
		if best < 0 && partial {
			break
		}
		if best < 0 {
			return nil, fmt.Errorf("%w: no host left without a shard of this key for %d more placements", ErrNotEnoughNodes, n-len(out))
		}
		c := &cands[best]
		c.taken = true
		zoneUse[c.zone]++
		rackUse[c.rack]++
		hostUse[c.host]++
		out = append(out, c.id)
	}
	return out, nil
}

// candidate is one node during a Place call; zone, rack and host are dense
// indexes into the use counters.
type candidate struct {
	id               string
	score            float64
	zone, rack, host int
	taken            bool
}

// better reports whether c should be picked before d given the domain use
// counts so far: least-used zone, then rack, then host, then higher score,
// then smaller ID.
func (c *candidate) better(d *candidate, zoneUse, rackUse, hostUse []int) bool {
	if a, b := zoneUse[c.zone], zoneUse[d.zone]; a != b {
		return a < b
	}
	if a, b := rackUse[c.rack], rackUse[d.rack]; a != b {
		return a < b
	}
	if a, b := hostUse[c.host], hostUse[d.host]; a != b {
		return a < b
	}
	if c.score != d.score {
		return c.score > d.score
	}
	return c.id < d.id
}

// index returns k's dense index in m, adding it if new.
func index[K comparable](m map[K]int, k K) int {
	i, ok := m[k]
	if !ok {
		i = len(m)
		m[k] = i
	}
	return i
}

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// fnv1a continues an FNV-1a 64 hash state h over b.
func fnv1a(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}

// keyState is the FNV-1a 64 state after the key's length (8 bytes, little
// endian) and the key, so that (key, ID) pairs hash unambiguously and the
// key is hashed once per call.
func keyState(key []byte) uint64 {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(key)))
	return fnv1a(fnv1a(fnvOffset64, n[:]), key)
}

// nodeHash finishes the hash of (key, id) from the key's state: FNV-1a over
// the ID bytes, then the MurmurHash3 64-bit finalizer so that every output
// bit depends on every input bit.
func nodeHash(keyState uint64, id string) uint64 {
	h := keyState
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= fnvPrime64
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// score maps a hash to the node's rendezvous score -w/ln(u), with u the top
// 53 bits of h mapped to the open interval (0, 1). The score is positive and
// P(score_a > score_b for all b) is proportional to w_a.
func score(weight float64, h uint64) float64 {
	if !(weight > 0) {
		weight = 1
	}
	u := (float64(h>>11) + 0.5) / (1 << 53)
	return -weight / math.Log(u)
}

// ShardID names shard index of the data unit shardBase (a version ID, or
// a part's shard base) on its data node. Gateways write shards under this
// name and meta finds them by it, so it is decided here, once.
func ShardID(shardBase string, index int) string {
	return shardBase + "." + strconv.Itoa(index)
}
