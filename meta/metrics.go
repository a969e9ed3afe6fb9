package meta

import (
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
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
	err := s.node.store.view(func(rd pebble.Reader) error {
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
		return scan(rd, []byte(tagGC), func(_, _ []byte) (bool, error) {
			st.GCQueue++
			return st.GCQueue < GCQueueLimit, nil
		})
	})
	return st, err
}
