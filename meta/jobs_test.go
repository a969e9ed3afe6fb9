package meta

import (
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta/jobs"
	"github.com/cairn-store/cairn/meta/leaderjob"
)

// jobStatus returns the status of the named job on s.
func jobStatus(t *testing.T, s *Server, name string) leaderjob.Status {
	t.Helper()
	for _, st := range s.Jobs().Status() {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("%s has no job %q", s.ID(), name)
	return leaderjob.Status{}
}

// The leader runs every job and the followers none; when the leader goes,
// the next one takes them up. A kick wakes repair before its interval.
func TestLeaderJobsFollowLeadership(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	c := MakeTestCluster(t, 3, nil)
	c.WaitAll(ctx)
	names := []string{jobs.NameGC, jobs.NameRepair, jobs.NameRebalance, jobs.NameOrphans, jobs.NameInventory, jobs.NameShardChecks, jobs.NameLifecycle, jobs.NamePARExpiry}

	check := func(lead int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ok := true
			for i, n := range c.nodes {
				if !n.running() {
					continue
				}
				for _, name := range names {
					if jobStatus(t, n.srv, name).Active != (i == lead) {
						ok = false
					}
				}
			}
			if ok && jobStatus(t, c.nodes[lead].srv, jobs.NameRepair).Rounds > 0 {
				return
			}
			if time.Now().After(deadline) {
				for _, n := range c.nodes {
					if n.running() {
						t.Logf("%s: %+v", n.srv.ID(), n.srv.Jobs().Status())
					}
				}
				t.Fatalf("jobs did not follow leadership to %s", c.nodes[lead].cfg.ID)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	lead := c.Leader(ctx)
	check(lead)
	if got := len(c.nodes[lead].srv.Jobs().Status()); got != len(names) {
		t.Fatalf("%d jobs without a keyring, want %d (no re-wrap)", got, len(names))
	}

	// RepairInterval is 30 s: only the kick explains a second round now.
	srv := c.nodes[lead].srv
	before := jobStatus(t, srv, jobs.NameRepair).Rounds
	srv.node.jobSet.KickRepair()
	deadline := time.Now().Add(10 * time.Second)
	for jobStatus(t, srv, jobs.NameRepair).Rounds <= before {
		if time.Now().After(deadline) {
			t.Fatal("a kick did not start a repair round")
		}
		time.Sleep(5 * time.Millisecond)
	}

	c.Stop(lead)
	check(c.Leader(ctx))
}
