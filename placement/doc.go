// Package placement owns the choice of data nodes for an object version:
// given the cluster's nodes and a key (the version ID), Place returns the n
// distinct nodes that hold its shards, shard i on the i-th node returned.
//
// The choice is weighted rendezvous (highest random weight) hashing: every
// node gets a score -Weight/ln(u) from a hash u of (key, node ID), so a node
// is first with probability proportional to its weight and adding or
// removing a node only moves the keys that pick, or picked, that node.
// Failure domains are then spread greedily: each next pick is the
// best-scored node among those whose zone, then rack, then host has been
// used the fewest times so far.
//
// # Invariants
//
//   - Place is a pure function of (the set of nodes, key, n): it does not
//     depend on the order of nodes, on the process, the machine or the Go
//     version. The hash (FNV-1a 64 with a fixed final mix) is written here
//     and must not change: every gateway, whatever its build, and any tool
//     that recomputes where a key belongs must agree.
//     TestPlace_GoldenPlacementsNeverChange pins it.
//   - The returned IDs are distinct, and there are exactly n of them.
//   - The package has no state: no globals, no caches.
package placement
