package model

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeWriter is a ShardWriter whose Commit succeeds at once, or, when
// hang is set, blocks until Abort.
type fakeWriter struct {
	hang    bool
	aborted chan struct{}
}

func newFakeWriter(hang bool) *fakeWriter {
	return &fakeWriter{hang: hang, aborted: make(chan struct{})}
}

func (w *fakeWriter) WriteBlock(context.Context, int64, []byte) error { return nil }
func (w *fakeWriter) Digest() uint64                                  { return 1 }
func (w *fakeWriter) Incarnation() uint64                             { return 1 }

func (w *fakeWriter) Abort() {
	select {
	case <-w.aborted:
	default:
		close(w.aborted)
	}
}

func (w *fakeWriter) Commit() error {
	if !w.hang {
		return nil
	}
	<-w.aborted
	return context.Canceled
}

// Once the write quorum's commits are done, a commit that hangs is aborted
// after the stall limit and reported failed; shards that failed to write
// are aborted and never committed. Below the quorum nothing is given up.
func TestCommitShardsGivesUpStragglersAboveTheQuorum(t *testing.T) {
	const stall = 50 * time.Millisecond
	ws := []*fakeWriter{newFakeWriter(false), newFakeWriter(false), newFakeWriter(true), newFakeWriter(false), newFakeWriter(false), newFakeWriter(false)}
	open := make([]ShardWriter, len(ws))
	for i, w := range ws {
		open[i] = w
	}
	failed := make([]error, len(ws))
	failed[5] = errors.New("write failed")
	start := time.Now()
	errs := commitShards(open, failed, 4, stall)
	if d := time.Since(start); d < stall || d > 5*time.Second {
		t.Errorf("commitShards took %s with a stall limit of %s", d, stall)
	}
	for i, err := range errs {
		if (err != nil) != (i == 2 || i == 5) {
			t.Errorf("shard %d: %v", i, err)
		}
	}
	select {
	case <-ws[5].aborted:
	default:
		t.Error("the shard that failed to write was not aborted")
	}

	// Two hang: only 4 of 5 needed commits succeed, so they are waited
	// for; here the test aborts them itself after a while.
	ws = []*fakeWriter{newFakeWriter(false), newFakeWriter(false), newFakeWriter(true), newFakeWriter(true), newFakeWriter(false), newFakeWriter(false)}
	for i, w := range ws {
		open[i] = w
	}
	done := make(chan []error)
	go func() { done <- commitShards(open, make([]error, len(ws)), 5, stall) }()
	select {
	case errs := <-done:
		t.Fatalf("commitShards gave up below the quorum: %v", errs)
	case <-time.After(10 * stall):
	}
	ws[2].Abort()
	ws[3].Abort()
	errs = <-done
	if errs[2] == nil || errs[3] == nil || errs[0] != nil {
		t.Fatalf("after the test's aborts: %v", errs)
	}
}
