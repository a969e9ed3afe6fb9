package jobs

import (
	"time"

	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Set is the leader's jobs of one meta node and the state they share:
// repair's status (which inventory reconciliation and the shard checks
// add to), the lock that keeps rebalance moves out of repair rounds, the
// queue of reported shards, the re-wrap's progress and the lifecycle
// counts. The node keeps one Set for its life; what its services read of
// the jobs, and the kicks they give, go through Set's methods.
type Set struct {
	env *Env

	repair      repairState    // the repair engine's progress
	rebalance   rebalanceState // the rebalancer's progress
	shardChecks shardChecks    // gateway shard reports waiting for a check
	rewrap      rewrapProgress // the re-wrap of master-key-wrapped keys
	lifecycle   *lifecycleJob
}

// New returns the jobs of a node, working through env.
func New(env *Env) *Set {
	return &Set{env: env, lifecycle: newLifecycleJob(env)}
}

// Jobs is the one list of the leader's jobs, for the node's one
// leaderjob.Runner (call it once: each call makes new jobs over the same
// state). The re-wrap needs a keyring.
func (s *Set) Jobs() []leaderjob.Job {
	list := []leaderjob.Job{
		newGCJob(s.env),
		&repairJob{s: s},
		&rebalanceJob{s: s},
		newOrphanJob(s.env),
		&inventoryJob{s: s},
		&shardCheckJob{s: s},
		s.lifecycle,
		newPARExpiryJob(s.env),
	}
	if s.env.Keyring != nil {
		list = append(list, &rewrapJob{s: s})
	}
	return list
}

// KickRepair starts a repair round now (or after the one under way): a
// node was removed or drained, a shard was reported corrupt.
func (s *Set) KickRepair() { s.repair.kick() }

// KickIfPartDegraded kicks repair when part p was committed with shards
// missing.
func (s *Set) KickIfPartDegraded(p *cairnpb.PartInfo) {
	if degradedLocations(p.GetDegraded(), p.GetShards()) {
		s.repair.kick()
	}
}

// RepairStatus returns a copy of the repair engine's status.
func (s *Set) RepairStatus() *cairnpb.RepairStatus { return s.repair.snapshot() }

// ReportUnreadable records a gateway's report of a version it could not
// read, which RepairStatus shows.
func (s *Set) ReportUnreadable(rep *cairnpb.UnreadableReport) { s.repair.reportUnreadable(rep) }

// ReportShards queues the shard problems a gateway reported at now for
// the leader's checks, counts them in RepairStatus, and returns how many
// were queued (a shard queued or checked lately is not queued again).
func (s *Set) ReportShards(now time.Time, problems []*cairnpb.ShardProblem) int {
	queued := s.shardChecks.enqueue(now, problems)
	s.repair.update(func(st *cairnpb.RepairStatus) { st.ShardReportsReceived += int64(len(problems)) })
	return queued
}

// KickRebalance wakes the rebalancer: manual when an operator asked for
// a pass (which runs even with RebalanceManual), else for a weight change.
func (s *Set) KickRebalance(manual bool) { s.rebalance.kick(manual) }

// RebalanceStatus returns a copy of the rebalancer's status.
func (s *Set) RebalanceStatus() *cairnpb.RebalanceStatus { return s.rebalance.snapshot() }

// KickRewrap starts a re-wrap pass now (or after the one under way).
func (s *Set) KickRewrap() { s.rewrap.kick() }

// RewrapProgress returns the re-wrap's progress as Admin reports it.
func (s *Set) RewrapProgress() *cairnpb.RewrapProgress { return s.rewrap.snapshot() }

// RewrapStats returns the re-wrap's progress for monitoring.
func (s *Set) RewrapStats() RewrapStats {
	p := &s.rewrap
	p.mu.Lock()
	defer p.mu.Unlock()
	return RewrapStats{Running: p.running, Done: p.done, Pending: p.pending, Failed: p.failed, Rate: p.rate}
}

// LifecycleStats returns the lifecycle job's counts since the node
// started.
func (s *Set) LifecycleStats() LifecycleStats { return s.lifecycle.Stats() }
