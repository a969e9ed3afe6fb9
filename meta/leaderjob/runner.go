package leaderjob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Never is an interval that waits for a kick (or the end of the term).
const Never time.Duration = -1

// Job is one kind of leader work.
type Job interface {
	// Name labels the job in status, logs and metrics: short, lower
	// case, unique in a runner.
	Name() string
	// Round does one round of work. ctx ends when the term does. An
	// error is logged and counted; the next round follows after Interval
	// all the same.
	Round(ctx context.Context) error
	// Interval is the wait after a round before the next: 0 for at once,
	// Never for a kick only. It is asked after every round, so a job may
	// choose it by what the round found.
	Interval() time.Duration
}

// Starter is a Job with work to do when a term begins: reset what it
// reports, set up what lasts the term. Start is called once the term is
// ready, before the first round, and returns the wait before that round
// (a job that is not a Starter has its first round at once).
type Starter interface {
	Job
	Start(ctx context.Context) time.Duration
}

// Reporter is a Job with progress of its own to show beside the runner's
// record (what its rounds did, in a line). Progress may be called at any
// time, from any goroutine.
type Reporter interface {
	Job
	Progress() string
}

// Kickable is a Job that can be woken early through its Kick.
type Kickable interface {
	Job
	Kicks() *Kick
}

// Kick wakes a job before its interval is up. Kicks never block and
// coalesce: while one is pending, more add nothing. The zero value is
// ready to use.
type Kick struct {
	once sync.Once
	ch   chan struct{}
}

func (k *Kick) channel() chan struct{} {
	k.once.Do(func() { k.ch = make(chan struct{}, 1) })
	return k.ch
}

// Kick asks for a round now (or as soon as the one under way ends).
func (k *Kick) Kick() {
	select {
	case k.channel() <- struct{}{}:
	default:
	}
}

// drain takes a pending kick: the round about to start serves it.
func (k *Kick) drain() {
	select {
	case <-k.channel():
	default:
	}
}

// Config is what a Runner needs besides its jobs.
type Config struct {
	// Logger receives failed rounds (nil: discarded).
	Logger *slog.Logger
	// Now is the clock of Status timestamps (nil: time.Now).
	Now func() time.Time
}

// ErrDuplicateJob is returned by New when two jobs share a name.
var ErrDuplicateJob = errors.New("leaderjob: duplicate job name")

// Status is what a runner knows of one job. Counts cover every term this
// runner led, since it was made.
type Status struct {
	Name string
	// Active: a loop for the job runs (this node leads and is ready).
	Active bool
	// Running: a round is under way.
	Running bool
	// Rounds counts rounds finished; Errors those that failed.
	Rounds, Errors uint64
	// LastError is the last failed round's error ("" after a success).
	LastError string
	// LastStart is when the last round started; LastDuration how long
	// the last finished round took; LastSuccess when the last successful
	// round ended (zero: never).
	LastStart    time.Time
	LastDuration time.Duration
	LastSuccess  time.Time
	// Progress is a Reporter's own account of its work ("" for other
	// jobs).
	Progress string
}

// Runner runs a fixed set of jobs on behalf of the leader.
type Runner struct {
	cfg  Config
	jobs []*entry
	wg   sync.WaitGroup
}

// entry is one job and what the runner keeps for it.
type entry struct {
	job  Job
	kick *Kick         // nil: not kickable
	slot chan struct{} // held by the job's loop of the current term

	mu sync.Mutex
	st Status
}

// New returns a runner of jobs, in the given order (the order of Status).
func New(cfg Config, jobs ...Job) (*Runner, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Runner{cfg: cfg}
	seen := map[string]bool{}
	for _, j := range jobs {
		name := j.Name()
		if seen[name] {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateJob, name)
		}
		seen[name] = true
		e := &entry{job: j, slot: make(chan struct{}, 1), st: Status{Name: name}}
		if k, ok := j.(Kickable); ok {
			e.kick = k.Kicks()
		}
		r.jobs = append(r.jobs, e)
	}
	return r, nil
}

// Lead starts every job for one term: each waits for ready (or the end of
// ctx), then runs rounds until ctx ends. Lead returns at once; Wait waits
// for the loops to end.
func (r *Runner) Lead(ctx context.Context, ready <-chan struct{}) {
	for _, e := range r.jobs {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.run(ctx, ready, e)
		}()
	}
}

// Wait blocks until the loops of every term Lead started have ended.
func (r *Runner) Wait() { r.wg.Wait() }

// Status returns every job's status, in the order New was given them.
func (r *Runner) Status() []Status {
	out := make([]Status, 0, len(r.jobs))
	for _, e := range r.jobs {
		e.mu.Lock()
		st := e.st
		e.mu.Unlock()
		if p, ok := e.job.(Reporter); ok {
			st.Progress = p.Progress()
		}
		out = append(out, st)
	}
	return out
}

// run is one job's loop for one term.
func (r *Runner) run(ctx context.Context, ready <-chan struct{}, e *entry) {
	select {
	case <-ready:
	case <-ctx.Done():
		return
	}
	// The previous term's loop may still be finishing its round.
	select {
	case e.slot <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-e.slot }()
	e.update(func(st *Status) { st.Active = true })
	defer e.update(func(st *Status) { st.Active = false })

	var wait time.Duration
	if s, ok := e.job.(Starter); ok {
		wait = s.Start(ctx)
	}
	for r.sleep(ctx, e, wait) {
		r.round(ctx, e)
		wait = e.job.Interval()
	}
}

// sleep waits d (0: not at all, Never: forever) or for a kick, and
// reports false when ctx ends first.
func (r *Runner) sleep(ctx context.Context, e *entry, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	if d == 0 {
		return true
	}
	var kicked <-chan struct{}
	if e.kick != nil {
		kicked = e.kick.channel()
	}
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-timeout:
	case <-kicked:
	}
	return true
}

// round runs one round and records it.
func (r *Runner) round(ctx context.Context, e *entry) {
	if e.kick != nil {
		e.kick.drain()
	}
	start := r.cfg.Now()
	e.update(func(st *Status) {
		st.Running = true
		st.LastStart = start
	})
	err := e.job.Round(ctx)
	end := r.cfg.Now()
	cut := ctx.Err() != nil // the term ended under the round
	if err != nil && !cut {
		r.cfg.Logger.Warn("leader job round failed", "job", e.job.Name(), "err", err)
	}
	e.update(func(st *Status) {
		st.Running = false
		st.Rounds++
		st.LastDuration = end.Sub(start)
		switch {
		case err == nil:
			st.LastError = ""
			st.LastSuccess = end
		case !cut:
			st.Errors++
			st.LastError = err.Error()
		}
	})
}

func (e *entry) update(fn func(st *Status)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn(&e.st)
}
