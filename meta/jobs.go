package meta

import (
	"context"
	"time"

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
// a new job (lifecycle expiry, say) is a type with Name, Round and
// Interval, optionally Start and Kicks, and one line here.

// Names of the leader's jobs, as status and metrics label them.
const (
	jobGC          = "gc"
	jobRepair      = "repair"
	jobRebalance   = "rebalance"
	jobRewrap      = "rewrap"
	jobOrphans     = "orphans"
	jobInventory   = "inventory"
	jobShardChecks = "shard-checks"
	jobLifecycle   = "lifecycle"
)

// JobMetricPrefix names the runner's series: cairn_meta_job_rounds_total
// and the others of leaderjob.Runner.Collector.
const JobMetricPrefix = "cairn_meta_job"

// leaderJobs lists the jobs n's runner runs. The re-wrap needs a keyring.
func (n *node) leaderJobs() []leaderjob.Job {
	jobs := []leaderjob.Job{
		&gcJob{n: n},
		&repairJob{n: n},
		&rebalanceJob{n: n},
		&orphanJob{n: n},
		&inventoryJob{n: n},
		&shardCheckJob{n: n},
		&lifecycleJob{n: n},
	}
	if n.cfg.Keyring != nil {
		jobs = append(jobs, &rewrapJob{n: n})
	}
	return jobs
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
