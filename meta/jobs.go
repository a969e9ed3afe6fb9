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
// data-node connections (node.conns). This table is the one list of them;
// a new job is a type in package jobs with Name, Round and Interval,
// optionally Start and Kicks, built from the node's jobs.Env, and one
// line here. Its name is among jobs.Name*.

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
		Config: jobs.Config{
			GCInterval: n.cfg.GCInterval, GCGrace: n.cfg.GCGrace,
			OrphanInterval: n.cfg.OrphanInterval, OrphanGrace: n.cfg.OrphanGrace,
			LifecycleDay: n.cfg.LifecycleDay, LifecycleRate: n.cfg.LifecycleRate,
		},
	}
}

// leaderJobs lists the jobs n's runner runs. The re-wrap needs a keyring.
// The lifecycle job is n.lifecycle, whose counts the node reports.
func (n *node) leaderJobs(env *jobs.Env) []leaderjob.Job {
	list := []leaderjob.Job{
		jobs.NewGC(env),
		&repairJob{n: n},
		&rebalanceJob{n: n},
		jobs.NewOrphans(env),
		&inventoryJob{n: n},
		&shardCheckJob{n: n},
		n.lifecycle,
	}
	if n.cfg.Keyring != nil {
		list = append(list, &rewrapJob{n: n})
	}
	return list
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
func (s *Server) LifecycleStats() jobs.LifecycleStats { return s.node.lifecycle.Stats() }

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
