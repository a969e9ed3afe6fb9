package meta

import (
	"context"
	"sync"
	"time"
)

// A leader serves a linearizable read once it knows no newer leader
// exists. Confirming that (raft.VerifyLeader) costs a heartbeat round trip
// to a quorum, and at one confirmation per read it was most of the meta
// group's CPU under small GETs and a round trip of every read's latency.
// A readLease spends one confirmation on many reads, in three ways.
//
//   - Reads share a confirmation. A read that finds one in flight waits
//     for it instead of starting its own.
//   - A read in the second half of a lease renews it in the background,
//     so that under steady reads none waits for a confirmation.
//   - A confirmation holds for readLeaseFor after it began. hashicorp/raft
//     followers refuse to vote while they know a leader, and forget the
//     leader only after heartbeatTimeout without contact. The followers
//     that answered a confirmation heard from this leader after it began
//     (or at most one heartbeat's round trip before, when a heartbeat
//     already in flight answers it), and they are a quorum, so no other
//     leader can be elected until about heartbeatTimeout after the
//     start. A read checked before readLeaseFor, half of that, needs
//     nothing more. The other half is the margin for that round trip and
//     for clock rates: the meta nodes' monotonic clocks must not run at
//     rates that differ by nearly half. Wall-clock time is never
//     compared.
//
// A leadership transfer is the one way a follower votes while it knows a
// leader, so the node stops using leases while it transfers
// (node.withoutLease). A read then waits for a confirmation that began
// after it arrived, as it would with no lease at all.
//
// Leases belong to one leadership: a new term starts without one.
const readLeaseFor = heartbeatTimeout / 2

// readLease is one leadership's lease. The zero value holds no lease.
type readLease struct {
	mu    sync.Mutex
	until time.Time   // reads checked before this need no confirmation
	round *leaseRound // the confirmation in flight; nil when none
	// gen counts revocations: a confirmation extends the lease only if
	// none came between its start and its end.
	gen uint64
}

// leaseRound is one confirmation that reads share.
type leaseRound struct {
	started time.Time
	gen     uint64
	done    chan struct{}
	err     error // set before done closes
}

// confirm returns nil when a read that arrived now may run: the lease
// holds (when useLease), or a confirmation that began at or after the
// read's arrival succeeded. verify confirms leadership and blocks until it
// knows; it runs in its own goroutine, so one caller's ctx never cancels a
// confirmation others wait for.
func (l *readLease) confirm(ctx context.Context, now func() time.Time, useLease bool, verify func() error) error {
	arrived := now()
	for {
		l.mu.Lock()
		if t := now(); useLease && t.Before(l.until) {
			// In the lease's second half, renew it without waiting, so
			// that steady reads never wait for a confirmation.
			if l.round == nil && l.until.Sub(t) < readLeaseFor/2 {
				l.start(t, verify)
			}
			l.mu.Unlock()
			return nil
		}
		r := l.round
		if r == nil {
			r = l.start(now(), verify)
		}
		l.mu.Unlock()
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		if !r.started.Before(arrived) {
			return nil
		}
		// It began before this read arrived: only the lease it left can
		// serve the read (the loop checks), or else the next one.
	}
}

// start begins a confirmation; l.mu is held.
func (l *readLease) start(now time.Time, verify func() error) *leaseRound {
	r := &leaseRound{started: now, gen: l.gen, done: make(chan struct{})}
	l.round = r
	go l.run(r, verify)
	return r
}

// run carries out one confirmation and, when it succeeds, extends the
// lease to readLeaseFor after it began.
func (l *readLease) run(r *leaseRound, verify func() error) {
	err := verify()
	l.mu.Lock()
	if err == nil && r.gen == l.gen {
		if until := r.started.Add(readLeaseFor); until.After(l.until) {
			l.until = until
		}
	}
	l.round = nil
	r.err = err
	l.mu.Unlock()
	close(r.done)
}

// revoke ends the lease at once. A confirmation in flight still
// completes, and reads waiting for it may use it if it began after they
// arrived, but it extends no lease.
func (l *readLease) revoke() {
	l.mu.Lock()
	l.until = time.Time{}
	l.gen++
	l.mu.Unlock()
}
