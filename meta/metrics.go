package meta

import (
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"

	"github.com/cairn-store/cairn/meta/fsm"
)

// Stats is a snapshot of a meta node's state for monitoring, by this
// node's view (a follower's FSM may trail the leader's slightly).
type Stats struct {
	Leader       bool
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	// LastContact is how long ago this node last heard from the leader: 0
	// on the leader, negative when it never has.
	LastContact time.Duration
	// GCQueue is the number of shards waiting for deletion, counted up to
	// GCQueueLimit.
	GCQueue int
	// DataNodesHealthy and DataNodesUnhealthy count registered data nodes
	// by whether they heartbeated within the health window.
	DataNodesHealthy, DataNodesUnhealthy int
	// Repair is the repair engine's progress; all zero on followers.
	Repair RepairStats
	// Rebalance is the rebalancer's progress; all zero on followers.
	Rebalance RebalanceStats
}

// RebalanceStats is the rebalancer's progress, of its current or last pass
// (TotalShardsMoved: since this node became leader).
type RebalanceStats struct {
	Running                               bool
	ShardsToMove, ShardsMoved, BytesMoved int64
	TotalShardsMoved, Blocked, Failures   int64
}

// RepairStats is the repair engine's progress as of the leader's last scan.
type RepairStats struct {
	UnderReplicated, ToMove, LostUnits int64
	UnitsLeft, BytesLeft               int64
	UnitsRepaired, BytesRepaired       int64
	Failures, CorruptReports           int64
	RateBytesPerSecond                 float64
	ETASeconds                         float64 // -1 when unknown
	// BlockedUnits counts units placement cannot fully repair now
	// (RepairStatus.blocked says why).
	BlockedUnits int64
	// Inventory reconciliation: shards found missing and mismatched by
	// the pass under way, and the duration of the last full pass.
	InventoryMissing, InventoryMismatched int64
	InventoryLastPass                     time.Duration
}

// GCQueueLimit caps how many GC queue entries Stats counts, so a long
// queue never makes a metrics scrape slow.
const GCQueueLimit = 100_000

// Stats returns a snapshot of the node's Raft state, GC queue length and
// data-node health. It reads the local FSM and never goes through Raft.
func (s *Server) Stats() (Stats, error) {
	r := s.node.raft
	st := Stats{
		Leader:       r.State() == raft.Leader,
		Term:         r.CurrentTerm(),
		CommitIndex:  r.CommitIndex(),
		AppliedIndex: r.AppliedIndex(),
	}
	if !st.Leader {
		if t := r.LastContact(); t.IsZero() {
			st.LastContact = -1
		} else {
			st.LastContact = time.Since(t)
		}
	}
	st.Repair.ETASeconds = -1
	if st.Leader {
		rs := s.node.jobSet.RepairStatus()
		st.Repair = RepairStats{
			UnderReplicated: rs.GetUnderReplicated(), ToMove: rs.GetToMove(), LostUnits: rs.GetLostUnits(),
			UnitsLeft: rs.GetUnitsLeft(), BytesLeft: rs.GetBytesLeft(),
			UnitsRepaired: rs.GetUnitsRepaired(), BytesRepaired: rs.GetBytesRepaired(),
			Failures: rs.GetFailures(), CorruptReports: rs.GetCorruptReports(),
			RateBytesPerSecond: rs.GetRateBytesPerSecond(), ETASeconds: rs.GetEtaSeconds(),
			BlockedUnits:     rs.GetBlockedUnits(),
			InventoryMissing: rs.GetInventory().GetFoundMissing(), InventoryMismatched: rs.GetInventory().GetFoundMismatched(),
			InventoryLastPass: time.Duration(rs.GetInventory().GetLastPassDurationNanos()),
		}
		bs := s.node.jobSet.RebalanceStatus()
		st.Rebalance = RebalanceStats{
			Running: bs.GetRunning(), ShardsToMove: bs.GetShardsToMove(), ShardsMoved: bs.GetShardsMoved(),
			BytesMoved: bs.GetBytesMoved(), TotalShardsMoved: bs.GetTotalShardsMoved(),
			Blocked: bs.GetBlocked(), Failures: bs.GetFailures(),
		}
	}
	err := s.node.store.View(func(rd pebble.Reader) error {
		statuses, err := s.nodeStatuses(rd)
		if err != nil {
			return err
		}
		for _, n := range statuses {
			if n.GetHealthy() {
				st.DataNodesHealthy++
			} else {
				st.DataNodesUnhealthy++
			}
		}
		return fsm.Scan(rd, []byte(fsm.TagGC), func(_, _ []byte) (bool, error) {
			st.GCQueue++
			return st.GCQueue < GCQueueLimit, nil
		})
	})
	return st, err
}
