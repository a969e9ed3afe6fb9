package meta

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedVerify is a confirmation that blocks until the test releases it.
type gatedVerify struct {
	calls   atomic.Int32
	started chan struct{}
	release chan error
}

func newGatedVerify() *gatedVerify {
	return &gatedVerify{started: make(chan struct{}, 16), release: make(chan error, 16)}
}

func (g *gatedVerify) verify() error {
	g.calls.Add(1)
	g.started <- struct{}{}
	return <-g.release
}

func confirmAsync(l *readLease, clk *fakeClock, useLease bool, g *gatedVerify) chan error {
	done := make(chan error, 1)
	go func() { done <- l.confirm(context.Background(), clk.Now, useLease, g.verify) }()
	return done
}

func waitDone(t *testing.T, what string, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still waiting", what)
		return nil
	}
}

func notDone(t *testing.T, what string, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s returned (%v) before its confirmation", what, err)
	case <-time.After(50 * time.Millisecond):
	}
}

// Many reads share one confirmation, and the lease it leaves serves later
// reads until readLeaseFor after the confirmation began; then a read
// confirms again.
func TestReadLeaseSharesConfirmationsAndExpires(t *testing.T) {
	var l readLease
	clk := &fakeClock{}
	g := newGatedVerify()
	first := confirmAsync(&l, clk, true, g)
	<-g.started
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() { errs <- l.confirm(context.Background(), clk.Now, true, g.verify) })
	}
	notDone(t, "a read", first)
	g.release <- nil
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := waitDone(t, "the first read", first); err != nil {
		t.Fatal(err)
	}
	if n := g.calls.Load(); n != 1 {
		t.Fatalf("51 reads made %d confirmations, want 1", n)
	}

	// The lease's first half: nothing to do.
	clk.Advance(readLeaseFor/2 - time.Millisecond)
	if err := l.confirm(context.Background(), clk.Now, true, g.verify); err != nil || g.calls.Load() != 1 {
		t.Fatalf("in the lease's first half: %v, %d confirmations", err, g.calls.Load())
	}
	// Its second half: the read goes at once and renews the lease.
	clk.Advance(readLeaseFor / 2)
	renewing := clk.Now()
	if err := l.confirm(context.Background(), clk.Now, true, g.verify); err != nil {
		t.Fatal(err)
	}
	<-g.started
	g.release <- nil
	waitLease(t, &l, renewing.Add(readLeaseFor))
	clk.Advance(readLeaseFor / 2)
	if err := l.confirm(context.Background(), clk.Now, true, g.verify); err != nil || g.calls.Load() != 2 {
		t.Fatalf("past the first lease, inside the renewed one: %v, %d confirmations", err, g.calls.Load())
	}
	// Past every lease, a read waits for a confirmation.
	clk.Advance(readLeaseFor)
	late := confirmAsync(&l, clk, true, g)
	<-g.started
	notDone(t, "a read after the lease", late)
	g.release <- nil
	if err := waitDone(t, "a read after the lease", late); err != nil || g.calls.Load() != 3 {
		t.Fatalf("after the lease: %v, %d confirmations", err, g.calls.Load())
	}
}

// waitLease waits until l's lease runs to until.
func waitLease(t *testing.T, l *readLease, until time.Time) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		got := l.until
		l.mu.Unlock()
		if got.Equal(until) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease until %v, want %v", got, until)
		}
		time.Sleep(time.Millisecond)
	}
}

// Without leases, a read never rides on a confirmation that began before
// it arrived: it waits for the next one.
func TestReadWithoutLeaseWaitsForAFreshConfirmation(t *testing.T) {
	var l readLease
	clk := &fakeClock{}
	g := newGatedVerify()
	early := confirmAsync(&l, clk, false, g)
	<-g.started
	clk.Advance(time.Millisecond)
	late := confirmAsync(&l, clk, false, g)
	notDone(t, "the late read", late)
	g.release <- nil
	if err := waitDone(t, "the early read", early); err != nil {
		t.Fatal(err)
	}
	<-g.started // the late read's own confirmation
	notDone(t, "the late read", late)
	g.release <- nil
	if err := waitDone(t, "the late read", late); err != nil {
		t.Fatal(err)
	}
	if n := g.calls.Load(); n != 2 {
		t.Fatalf("%d confirmations, want 2", n)
	}
}

// A failed confirmation fails the reads that wait for it and leaves no
// lease; a revocation while one is in flight keeps it from granting one.
func TestReadLeaseFailureAndRevocation(t *testing.T) {
	var l readLease
	clk := &fakeClock{}
	g := newGatedVerify()
	lost := errors.New("leadership lost")
	r := confirmAsync(&l, clk, true, g)
	<-g.started
	g.release <- lost
	if err := waitDone(t, "a read", r); !errors.Is(err, lost) {
		t.Fatalf("read after a failed confirmation: %v", err)
	}

	r = confirmAsync(&l, clk, true, g)
	<-g.started
	l.revoke()
	g.release <- nil
	if err := waitDone(t, "a read", r); err != nil {
		t.Fatal(err) // its confirmation began after it arrived
	}
	r = confirmAsync(&l, clk, true, g)
	<-g.started // no lease: another confirmation
	g.release <- nil
	if err := waitDone(t, "a read", r); err != nil || g.calls.Load() != 3 {
		t.Fatalf("after the revocation: %v, %d confirmations", err, g.calls.Load())
	}
	if err := l.confirm(context.Background(), clk.Now, true, g.verify); err != nil || g.calls.Load() != 3 {
		t.Fatalf("the lease after a clean confirmation: %v, %d confirmations", err, g.calls.Load())
	}
}

// A read's ctx ends its wait, not the confirmation others share.
func TestReadLeaseCancelledReadLeavesTheConfirmation(t *testing.T) {
	var l readLease
	clk := &fakeClock{}
	g := newGatedVerify()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.confirm(ctx, clk.Now, true, g.verify) }()
	<-g.started
	other := confirmAsync(&l, clk, true, g)
	cancel()
	if err := waitDone(t, "the cancelled read", done); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled read: %v", err)
	}
	g.release <- nil
	if err := waitDone(t, "the other read", other); err != nil || g.calls.Load() != 1 {
		t.Fatalf("the other read: %v, %d confirmations", err, g.calls.Load())
	}
}
