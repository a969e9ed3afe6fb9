package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/cairn-store/cairn/placement"
)

// errRebalanceBlocked means a unit cannot be put where placement wants it
// without two of its shards on one host (too few hosts for k+m).
var errRebalanceBlocked = errors.New("meta: rebalance: placement puts two shards on one host")

// planMoves returns the moves (shard index -> new node) that put a unit's
// total shards, now at locs, on the nodes placement picks for key among
// layout; nil when they are there already. Only shards on nodes that
// placement no longer picks move, each to a picked node that holds no shard
// of the unit, so the result is the minimum: with rendezvous hashing,
// adding one node to N moves about 1/(N+1) of all shards, all of them onto
// the new node. Which shard index goes to which node does not matter to a
// reader, so indexes that stay are never reshuffled.
//
// It fails with errRebalanceBlocked when placement's pick would put two
// shards on one host, and with placement's errors (too few nodes).
func planMoves(layout []placement.Node, locs map[int32]string, key []byte, total int) (map[int32]string, error) {
	ideal, err := placement.Place(layout, key, total)
	if err != nil {
		return nil, err
	}
	hostOf := make(map[string]hostKey, len(layout))
	for _, nd := range layout {
		hostOf[nd.ID] = hostKeyOf(nd)
	}
	hosts := make(map[hostKey]bool, total)
	want := make(map[string]bool, total)
	for _, id := range ideal {
		h := hostOf[id]
		if hosts[h] {
			return nil, fmt.Errorf("%w: %v", errRebalanceBlocked, ideal)
		}
		hosts[h] = true
		want[id] = true
	}
	used := make(map[string]bool, total)
	var movers []int32
	for i := range int32(total) {
		id := locs[i]
		if want[id] && !used[id] {
			used[id] = true
			continue
		}
		movers = append(movers, i)
	}
	if len(movers) == 0 {
		return nil, nil
	}
	var free []string
	for _, id := range ideal {
		if !used[id] {
			free = append(free, id)
		}
	}
	moves := make(map[int32]string, len(movers))
	for j, i := range movers {
		moves[i] = free[j]
	}
	return moves, nil
}

// hostKey is a host as failure domain: (zone, rack, host); an empty host
// label is a host of the node's own.
type hostKey struct{ zone, rack, host string }

func hostKeyOf(nd placement.Node) hostKey {
	if nd.Host == "" {
		return hostKey{host: "\x00" + nd.ID}
	}
	return hostKey{nd.Zone, nd.Rack, nd.Host}
}

// layoutFingerprint identifies a layout: its nodes with their weights and
// failure domains, in any order. Placement depends on nothing else.
func layoutFingerprint(layout []placement.Node) string {
	nodes := append([]placement.Node(nil), layout...)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].ID < nodes[j].ID })
	h := sha256.New()
	for _, nd := range nodes {
		for _, f := range []string{nd.ID, strconv.FormatFloat(nd.Weight, 'g', -1, 64), nd.Zone, nd.Rack, nd.Host} {
			h.Write([]byte(strconv.Itoa(len(f))))
			h.Write([]byte{':'})
			h.Write([]byte(f))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
