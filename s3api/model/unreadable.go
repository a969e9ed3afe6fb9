package model

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/cluster"
)

// Errors of a read that could not get enough shards, translated in
// errors.go. Both wrap erasure.ErrTooManyFailures as well.
var (
	// ErrObjectUnreadable: more shards are definitively gone (the node
	// answered that it has no such shard or that its bytes are corrupt, the
	// shard was never written, or its node left the cluster) than parity
	// covers. Retrying cannot help; the data is lost unless those shards
	// come back.
	ErrObjectUnreadable = errors.New("model: object unreadable: shards lost beyond parity")
	// ErrObjectUnavailable: too few shards could be read, but some of the
	// failures were nodes that did not answer; the read may succeed once
	// they are back.
	ErrObjectUnavailable = errors.New("model: object unavailable: too many shards unreachable")
)

// errShardNeverWritten: the version records no node for a shard (a
// degraded write).
var errShardNeverWritten = errors.New("shard was never written")

// shardLost reports whether err says a shard is definitively gone, as
// opposed to its node being unreachable or slow.
func shardLost(err error) bool {
	for _, gone := range []error{rpcerr.ErrShardNotFound, rpcerr.ErrChecksum, cluster.ErrBadBlock, errShardNeverWritten, ErrUnknownNode} {
		if errors.Is(err, gone) {
			return true
		}
	}
	return false
}

// shardOutcomes records, for one decode, which shards failed and how, so
// that a failed read can say whether the object is lost or only out of
// reach. Decode calls open and ReadBlock from several goroutines.
type shardOutcomes struct {
	mu     sync.Mutex
	lost   map[int]bool
	failed map[int]bool
	bads   map[int]string // shards the node said are missing or corrupt: why
}

func newShardOutcomes() *shardOutcomes {
	return &shardOutcomes{lost: map[int]bool{}, failed: map[int]bool{}, bads: map[int]string{}}
}

// badReason says why a shard's node could not serve it, when the node (or
// the bytes it sent) say the shard itself is at fault: "missing" or
// "corrupt"; "" for everything else (unreachable nodes, shards never
// written, shards left out on purpose).
func badReason(err error) string {
	switch {
	case errors.Is(err, rpcerr.ErrShardNotFound):
		return "missing"
	case errors.Is(err, rpcerr.ErrChecksum), errors.Is(err, cluster.ErrBadBlock):
		return "corrupt"
	}
	return ""
}

// bad returns the shards found missing or corrupt, by reason.
func (o *shardOutcomes) bad() map[string][]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string][]int{}
	for shard, why := range o.bads {
		out[why] = append(out[why], shard)
	}
	return out
}

// note records err (if any) for shard and returns it unchanged. A context
// error is the request's, not the shard's, and is not recorded.
func (o *shardOutcomes) note(ctx context.Context, shard int, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed[shard] = true
	if shardLost(err) {
		o.lost[shard] = true
	}
	if why := badReason(err); why != "" {
		o.bads[shard] = why
	}
	return err
}

// watch wraps open so that every failure of a shard is recorded.
func (o *shardOutcomes) watch(open erasure.OpenFunc) erasure.OpenFunc {
	return func(ctx context.Context, shard int, first int64) (erasure.BlockReader, error) {
		r, err := open(ctx, shard, first)
		if err != nil {
			return nil, o.note(ctx, shard, err)
		}
		nr := &notingReader{BlockReader: r, o: o, shard: shard}
		if l, ok := r.(erasure.BlockLender); ok {
			return &notingLender{notingReader: nr, lender: l}, nil
		}
		return nr, nil
	}
}

// classify turns a decode error that wraps erasure.ErrTooManyFailures into
// an *unreadableError saying whether the object is lost (more than parity
// shards definitively gone) or unavailable; other errors pass unchanged.
func (o *shardOutcomes) classify(err error, v *cairnpb.ObjectVersion, k, m int) error {
	if !errors.Is(err, erasure.ErrTooManyFailures) {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return &unreadableError{shards: k + m, parity: m, lost: len(o.lost), failed: len(o.failed), err: err,
		key: v.GetKey(), versionID: v.GetVersionId()}
}

type notingReader struct {
	erasure.BlockReader
	o     *shardOutcomes
	shard int
}

func (r *notingReader) ReadBlock(ctx context.Context) ([]byte, error) {
	b, err := r.BlockReader.ReadBlock(ctx)
	return b, r.o.note(ctx, r.shard, err)
}

// notingLender is a notingReader over a reader that lends blocks, and
// lends them on, so the decoder's saving survives the wrapping.
type notingLender struct {
	*notingReader
	lender erasure.BlockLender
}

func (r *notingLender) LendBlock(ctx context.Context) ([]byte, func(), error) {
	b, release, err := r.lender.LendBlock(ctx)
	return b, release, r.o.note(ctx, r.shard, err)
}

// unreadableError is a read that could not get enough shards, with the
// counts that explain it. It matches ErrObjectUnreadable when more than
// parity shards are lost, else ErrObjectUnavailable, and it still wraps
// the decode error (so erasure.ErrTooManyFailures too).
type unreadableError struct {
	shards, parity int
	lost, failed   int // failed includes lost
	err            error
	key, versionID string // the version that could not be read
}

// report is the error as meta's record of a failed read.
func (e *unreadableError) report(ns, bucket string) *cairnpb.UnreadableReport {
	return &cairnpb.UnreadableReport{
		Namespace: ns, Bucket: bucket, Key: e.key, VersionId: e.versionID,
		ShardsReadable: int32(e.shards - e.failed), ShardsNeeded: int32(e.shards - e.parity), Detail: e.Error(),
	}
}

// UnreadableIndex is where a gateway reports the object versions it could
// not read, so that operators see them in `cairnctl status`.
type UnreadableIndex interface {
	ReportUnreadable(ctx context.Context, r *cairnpb.UnreadableReport) error
}

// Reporting is best effort and bounded: one report per version per
// reportEvery from this gateway, at most reportsInFlight at once, each
// within reportTimeout, none holding up the reply.
const (
	reportEvery     = time.Minute
	reportsInFlight = 4
	reportTimeout   = 5 * time.Second
	reportsKept     = 1024
)

// unreadableReporter sends reports to meta.
type unreadableReporter struct {
	index UnreadableIndex
	log   *slog.Logger
	slots chan struct{}

	mu   sync.Mutex
	sent map[string]time.Time // version ID -> when last reported
}

func newUnreadableReporter(index UnreadableIndex, log *slog.Logger) *unreadableReporter {
	return &unreadableReporter{index: index, log: log, slots: make(chan struct{}, reportsInFlight), sent: map[string]time.Time{}}
}

// note reports err to meta when it is a failed read of a version not
// reported lately. It returns at once.
func (u *unreadableReporter) note(ns, bucket string, err error) {
	var ue *unreadableError
	if u == nil || u.index == nil || !errors.As(err, &ue) || ue.versionID == "" {
		return
	}
	now := time.Now()
	u.mu.Lock()
	if t, ok := u.sent[ue.versionID]; ok && now.Sub(t) < reportEvery {
		u.mu.Unlock()
		return
	}
	if len(u.sent) >= reportsKept {
		for id, t := range u.sent {
			if now.Sub(t) >= reportEvery {
				delete(u.sent, id)
			}
		}
	}
	if len(u.sent) >= reportsKept {
		u.mu.Unlock()
		return
	}
	u.sent[ue.versionID] = now
	u.mu.Unlock()
	select {
	case u.slots <- struct{}{}:
	default:
		return // enough reports on their way; this one waits for the next read
	}
	rep := ue.report(ns, bucket)
	go func() {
		defer func() { <-u.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
		defer cancel()
		if err := u.index.ReportUnreadable(ctx, rep); err != nil {
			u.log.Warn("could not report an unreadable object to meta", "bucket", bucket, "key", rep.GetKey(), "version", rep.GetVersionId(), "err", err)
		}
	}()
}

func (e *unreadableError) lostForGood() bool { return e.lost > e.parity }

func (e *unreadableError) Error() string {
	return fmt.Sprintf("%d of %d shards failed (%d lost, parity %d): %v", e.failed, e.shards, e.lost, e.parity, e.err)
}

func (e *unreadableError) Unwrap() error { return e.err }

func (e *unreadableError) Is(target error) bool {
	if e.lostForGood() {
		return target == ErrObjectUnreadable
	}
	return target == ErrObjectUnavailable
}

// ClientMessage is the message the client gets: it says the object cannot
// be read and why, with the counts, instead of a generic retry hint.
func (e *unreadableError) ClientMessage() string {
	if e.lostForGood() {
		return fmt.Sprintf("The object cannot be read: %d of its %d shards are missing or corrupt, and its %d parity shards can rebuild at most %d.",
			e.lost, e.shards, e.parity, e.parity)
	}
	return fmt.Sprintf("The object cannot be read right now: %d of its %d shards are unavailable (%d on data nodes that cannot be reached), and its %d parity shards can stand in for at most %d.",
		e.failed, e.shards, e.failed-e.lost, e.parity, e.parity)
}
