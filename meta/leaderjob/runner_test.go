package leaderjob_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cairn-store/cairn/meta/leaderjob"
)

// fakeJob counts its rounds, can be made to fail or to block, and is
// kickable.
type fakeJob struct {
	name     string
	interval time.Duration
	first    time.Duration // returned by Start
	kick     leaderjob.Kick

	rounds  atomic.Int64
	starts  atomic.Int64
	active  atomic.Int64 // rounds under way (never above 1)
	overlap atomic.Bool
	fail    atomic.Bool
	block   chan struct{} // when set, each round waits for a receive
	entered chan struct{} // when set, each round sends on it first
}

func (j *fakeJob) Name() string            { return j.name }
func (j *fakeJob) Interval() time.Duration { return j.interval }
func (j *fakeJob) Kicks() *leaderjob.Kick  { return &j.kick }
func (j *fakeJob) Start(context.Context) time.Duration {
	j.starts.Add(1)
	return j.first
}

var errRound = errors.New("fake: round failed")

func (j *fakeJob) Round(ctx context.Context) error {
	if j.active.Add(1) > 1 {
		j.overlap.Store(true)
	}
	defer j.active.Add(-1)
	if j.entered != nil {
		select {
		case j.entered <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if j.block != nil {
		select {
		case <-j.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	j.rounds.Add(1)
	if j.fail.Load() {
		return errRound
	}
	return nil
}

func newRunner(t *testing.T, jobs ...leaderjob.Job) *leaderjob.Runner {
	t.Helper()
	r, err := leaderjob.New(leaderjob.Config{}, jobs...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func status(t *testing.T, r *leaderjob.Runner, name string) leaderjob.Status {
	t.Helper()
	for _, st := range r.Status() {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no status for job %q", name)
	return leaderjob.Status{}
}

// reportingJob keeps an account of its own.
type reportingJob struct{ fakeJob }

func (j *reportingJob) Progress() string { return "7 things done" }

// A Reporter's progress shows in its status; other jobs have none.
func TestReporterProgressInStatus(t *testing.T) {
	r, err := leaderjob.New(leaderjob.Config{}, &reportingJob{fakeJob{name: "r"}}, &fakeJob{name: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	st := r.Status()
	if len(st) != 2 || st[0].Progress != "7 things done" || st[1].Progress != "" {
		t.Fatalf("status %+v", st)
	}
}

func TestDuplicateNamesRefused(t *testing.T) {
	_, err := leaderjob.New(leaderjob.Config{}, &fakeJob{name: "a"}, &fakeJob{name: "a"})
	if !errors.Is(err, leaderjob.ErrDuplicateJob) {
		t.Fatalf("New with two jobs named a: %v, want ErrDuplicateJob", err)
	}
}

// Rounds start only once the term is ready, and stop when it ends; a new
// term starts the job again, calling Start once per term.
func TestLeadershipStartsAndStops(t *testing.T) {
	j := &fakeJob{name: "j", interval: time.Millisecond}
	r := newRunner(t, j)

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	r.Lead(ctx, ready)
	time.Sleep(20 * time.Millisecond)
	if n := j.rounds.Load(); n != 0 {
		t.Fatalf("%d rounds before the term was ready", n)
	}
	if status(t, r, "j").Active {
		t.Fatal("job active before the term was ready")
	}
	close(ready)
	eventually(t, "rounds in the first term", func() bool { return j.rounds.Load() >= 3 })
	if !status(t, r, "j").Active {
		t.Fatal("job not active while leading")
	}
	cancel()
	r.Wait()
	stopped := j.rounds.Load()
	time.Sleep(20 * time.Millisecond)
	if n := j.rounds.Load(); n != stopped {
		t.Fatalf("%d rounds after the term ended", n-stopped)
	}
	if status(t, r, "j").Active {
		t.Fatal("job still active after the term ended")
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	ready2 := make(chan struct{})
	close(ready2)
	r.Lead(ctx2, ready2)
	eventually(t, "rounds in the second term", func() bool { return j.rounds.Load() >= stopped+3 })
	if n := j.starts.Load(); n != 2 {
		t.Fatalf("Start called %d times over two terms", n)
	}
	cancel2()
	r.Wait()
}

// A term that ends before it is ready runs nothing.
func TestTermEndingBeforeReadyRunsNothing(t *testing.T) {
	j := &fakeJob{name: "j"}
	r := newRunner(t, j)
	ctx, cancel := context.WithCancel(context.Background())
	r.Lead(ctx, make(chan struct{}))
	cancel()
	r.Wait()
	if j.starts.Load() != 0 || j.rounds.Load() != 0 {
		t.Fatalf("starts %d rounds %d in a term that was never ready", j.starts.Load(), j.rounds.Load())
	}
}

// A new term's loop waits for the previous term's round to end: rounds of
// one job never overlap.
func TestTermsDoNotOverlap(t *testing.T) {
	j := &fakeJob{name: "j", interval: leaderjob.Never, entered: make(chan struct{}), block: make(chan struct{})}
	r := newRunner(t, j)
	ready := make(chan struct{})
	close(ready)

	ctx1, cancel1 := context.WithCancel(context.Background())
	r.Lead(ctx1, ready)
	<-j.entered // term 1's first round is under way
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	r.Lead(ctx2, ready) // term 2 begins before term 1's loop has noticed its end
	cancel1()
	<-j.entered // term 2's first round, after term 1's ended
	if j.overlap.Load() {
		t.Fatal("two rounds of one job ran at once")
	}
	j.block <- struct{}{}
	cancel2()
	r.Wait()
}

// Kicks that arrive while a round runs, however many, cause one more
// round; a job waiting for kicks only runs one round per kick otherwise.
func TestKicksCoalesce(t *testing.T) {
	j := &fakeJob{name: "j", interval: leaderjob.Never, first: leaderjob.Never, block: make(chan struct{})}
	r := newRunner(t, j)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); r.Wait() }()
	ready := make(chan struct{})
	close(ready)
	r.Lead(ctx, ready)

	time.Sleep(10 * time.Millisecond)
	if status(t, r, "j").Running {
		t.Fatal("a kick-only job ran a round without a kick")
	}
	j.kick.Kick()
	eventually(t, "the kicked round", func() bool { return status(t, r, "j").Running })
	for range 10 {
		j.kick.Kick()
	}
	j.block <- struct{}{} // the first round ends; the ten kicks make one more
	j.block <- struct{}{}
	eventually(t, "two rounds", func() bool { return status(t, r, "j").Rounds == 2 })
	time.Sleep(20 * time.Millisecond)
	if st := status(t, r, "j"); st.Rounds != 2 || st.Running {
		t.Fatalf("after one kick and ten coalesced ones: %d rounds (running %v), want 2", st.Rounds, st.Running)
	}
}

// A kick before the first round is served by that round.
func TestKickBeforeRoundIsServedByIt(t *testing.T) {
	j := &fakeJob{name: "j", interval: leaderjob.Never}
	j.kick.Kick()
	r := newRunner(t, j)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	close(ready)
	r.Lead(ctx, ready)
	eventually(t, "the first round", func() bool { return status(t, r, "j").Rounds == 1 })
	time.Sleep(20 * time.Millisecond)
	cancel()
	r.Wait()
	if n := j.rounds.Load(); n != 1 {
		t.Fatalf("%d rounds, want 1: the pending kick was served by the first round", n)
	}
}

// A kick cuts an interval short.
func TestKickCutsIntervalShort(t *testing.T) {
	j := &fakeJob{name: "j", interval: time.Hour, first: time.Hour}
	r := newRunner(t, j)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); r.Wait() }()
	ready := make(chan struct{})
	close(ready)
	r.Lead(ctx, ready)
	time.Sleep(10 * time.Millisecond)
	if n := j.rounds.Load(); n != 0 {
		t.Fatalf("%d rounds before the first interval or a kick", n)
	}
	j.kick.Kick()
	eventually(t, "the kicked round", func() bool { return j.rounds.Load() == 1 })
}

// A failing round is counted, its error kept, and the job runs again
// after its interval; a success clears the error and records the time.
func TestFailingRoundRetriedAndCounted(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	j := &fakeJob{name: "j", interval: 5 * time.Millisecond}
	j.fail.Store(true)
	r, err := leaderjob.New(leaderjob.Config{Now: clock}, j)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); r.Wait() }()
	ready := make(chan struct{})
	close(ready)
	start := time.Now()
	r.Lead(ctx, ready)
	eventually(t, "three failed rounds", func() bool { return status(t, r, "j").Errors >= 3 })
	if el := time.Since(start); el < 10*time.Millisecond {
		t.Fatalf("three failed rounds in %v: retried faster than the interval", el)
	}
	st := status(t, r, "j")
	if st.LastError != errRound.Error() || !st.LastSuccess.IsZero() || st.Rounds < st.Errors {
		t.Fatalf("status after failures: %+v", st)
	}
	if st.LastDuration != time.Second {
		t.Fatalf("last round took %v by the injected clock, want 1s", st.LastDuration)
	}

	j.fail.Store(false)
	eventually(t, "a successful round", func() bool { return !status(t, r, "j").LastSuccess.IsZero() })
	st = status(t, r, "j")
	if st.LastError != "" || st.Errors < 3 {
		t.Fatalf("status after a success: %+v", st)
	}
}

// A round cut short by the end of its term is not a failure.
func TestRoundCutByTermNotCounted(t *testing.T) {
	j := &fakeJob{name: "j", interval: leaderjob.Never, entered: make(chan struct{}), block: make(chan struct{})}
	r := newRunner(t, j)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	close(ready)
	r.Lead(ctx, ready)
	<-j.entered
	cancel()
	r.Wait()
	if st := status(t, r, "j"); st.Errors != 0 || st.Rounds != 1 || st.Running || st.Active {
		t.Fatalf("after a round cut by the term's end: %+v", st)
	}
}

// The collector reports every job's series with its name as a label.
func TestCollector(t *testing.T) {
	a := &fakeJob{name: "a", interval: leaderjob.Never}
	b := &fakeJob{name: "b", interval: leaderjob.Never}
	b.fail.Store(true)
	r := newRunner(t, a, b)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	close(ready)
	r.Lead(ctx, ready)
	eventually(t, "a round of each", func() bool { return a.rounds.Load() == 1 && b.rounds.Load() == 1 })
	eventually(t, "statuses", func() bool { return status(t, r, "b").Errors == 1 && status(t, r, "a").Rounds == 1 })
	cancel()
	r.Wait()

	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(r.Collector("test_job")); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{} // name{job} -> value
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetGauge().GetValue()
			if mf.GetType() == dto.MetricType_COUNTER {
				v = m.GetCounter().GetValue()
			}
			got[mf.GetName()+"{"+m.GetLabel()[0].GetValue()+"}"] = v
		}
	}
	if len(got) != 12 {
		t.Fatalf("%d series for two jobs, want 12: %v", len(got), got)
	}
	for k, want := range map[string]float64{
		"test_job_rounds_total{a}": 1, "test_job_rounds_total{b}": 1,
		"test_job_errors_total{a}": 0, "test_job_errors_total{b}": 1,
		"test_job_active{a}": 0, "test_job_running{b}": 0, "test_job_last_success_timestamp_seconds{b}": 0,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if got["test_job_last_success_timestamp_seconds{a}"] <= 0 {
		t.Error("job a succeeded but reports no last success")
	}
}
