package meta

import (
	"context"
	"time"

	"github.com/cairn-store/cairn/meta/jobs"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// The leader's jobs.
//
// Every piece of background work only the leader does is a leaderjob.Job,
// and one leaderjob.Runner per node starts them all when a term of
// leadership is ready and stops them when it ends (setLeading), wakes the
// kickable ones early, and keeps their status and metrics
// (cairn_meta_job_*{job=<name>}). The jobs share the node's one pool of
// data-node connections (node.conns). They live in package jobs, whose
// Set.Jobs is the one list of them; the node builds the Set from a
// jobs.Env and its services read the jobs' state and kick them through
// the Set's methods.

// JobMetricPrefix names the runner's series: cairn_meta_job_rounds_total
// and the others of leaderjob.Runner.Collector.
const JobMetricPrefix = "cairn_meta_job"

// jobsEnv is what n gives the jobs of package jobs.
func (n *node) jobsEnv() *jobs.Env {
	return &jobs.Env{
		Propose: n.propose,
		Store:   n.store,
		Conns:   n.conns,
		Now:     n.cfg.Now,
		Logger:  n.cfg.Logger,
		Keyring: n.cfg.Keyring,
		Config: jobs.Config{
			ID:                   n.cfg.ID,
			GCInterval:           n.cfg.GCInterval,
			GCGrace:              n.cfg.GCGrace,
			OrphanInterval:       n.cfg.OrphanInterval,
			OrphanGrace:          n.cfg.OrphanGrace,
			LifecycleDay:         n.cfg.LifecycleDay,
			LifecycleRate:        n.cfg.LifecycleRate,
			RepairInterval:       n.cfg.RepairInterval,
			RepairGrace:          n.cfg.RepairGrace,
			HealthWindow:         n.cfg.HealthWindow,
			RepairParallel:       n.cfg.RepairParallel,
			RepairBytesPerSecond: n.cfg.RepairBytesPerSecond,
			RebalanceManual:      n.cfg.RebalanceManual,
			InventoryInterval:    n.cfg.InventoryInterval,
			InventoryRate:        n.cfg.InventoryRate,
			ShardCheckRate:       n.cfg.ShardCheckRate,
			RewrapRate:           n.cfg.RewrapRate,
		},
	}
}

// checkOrphanFence refuses to commit data written too long ago to be safe
// from the orphan reconciler (jobs.CheckOrphanFence).
func (n *node) checkOrphanFence(base string, shards int) error {
	return jobs.CheckOrphanFence(n.cfg.Now(), n.cfg.OrphanGrace, base, shards)
}

// checkVersionFence applies checkOrphanFence to a version and its parts.
func (n *node) checkVersionFence(v *cairnpb.ObjectVersion) error {
	return jobs.CheckVersionFence(n.cfg.Now(), n.cfg.OrphanGrace, v)
}

// LifecycleStats returns the lifecycle job's counts on this node.
func (s *Server) LifecycleStats() jobs.LifecycleStats { return s.node.jobSet.LifecycleStats() }

// RewrapStats returns the re-wrap's progress; zero on followers.
func (s *Server) RewrapStats() jobs.RewrapStats {
	if !s.node.isLeader() {
		return jobs.RewrapStats{}
	}
	return s.node.jobSet.RewrapStats()
}

// Jobs returns the node's leader-job runner: its Status (all jobs
// inactive on a follower, with the counts of the terms it led) and its
// Prometheus collector (Collector(JobMetricPrefix)).
func (s *Server) Jobs() *leaderjob.Runner { return s.node.jobs }

func (a *adminService) LeaderJobs(ctx context.Context, req *cairnpb.LeaderJobsRequest) (*cairnpb.LeaderJobsResponse, error) {
	return routeAdmin(ctx, a.s, req, a.s.leaderJobs, cairnpb.AdminClient.LeaderJobs)
}

// leaderJobs answers with the runner's record of every job, on the leader.
func (s *Server) leaderJobs(ctx context.Context, _ *cairnpb.LeaderJobsRequest) (*cairnpb.LeaderJobsResponse, error) {
	if err := s.node.readBarrier(ctx); err != nil {
		return nil, err
	}
	resp := &cairnpb.LeaderJobsResponse{LeaderId: s.cfg.ID}
	unix := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixNano()
	}
	for _, st := range s.node.jobs.Status() {
		resp.Jobs = append(resp.Jobs, &cairnpb.LeaderJob{
			Name: st.Name, Active: st.Active, Running: st.Running, Rounds: st.Rounds, Errors: st.Errors, LastError: st.LastError,
			LastStartUnixNano: unix(st.LastStart), LastDurationNanos: int64(st.LastDuration), LastSuccessUnixNano: unix(st.LastSuccess),
			Progress: st.Progress,
		})
	}
	return resp, nil
}
