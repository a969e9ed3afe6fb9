package model

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// ShardReportIndex is where a gateway passes on the shards it found
// missing or bad while reading, so that repair does not wait for a scrub.
// Meta checks every report against the record and the data node before it
// acts, so a report is a hint, never an order.
type ShardReportIndex interface {
	ReportShards(ctx context.Context, ps []*cairnpb.ShardProblem) error
}

// Shard reports are best effort and bounded like unreadable reports: one
// report per shard per reportEvery from this gateway, at most
// reportsInFlight calls at once, none holding up a read.
const shardReportsKept = 4096

// shardReporter sends shard problems to meta. A nil *shardReporter
// reports nothing.
type shardReporter struct {
	index ShardReportIndex
	log   *slog.Logger
	now   func() time.Time
	slots chan struct{}

	mu   sync.Mutex
	sent map[string]time.Time // unit/index -> when last reported
}

func newShardReporter(index ShardReportIndex, log *slog.Logger, now func() time.Time) *shardReporter {
	return &shardReporter{index: index, log: log, now: now, slots: make(chan struct{}, reportsInFlight), sent: map[string]time.Time{}}
}

// note reports shards of the unit ref (v holds its locations) that a read
// found unusable, for reason. It returns at once.
func (r *shardReporter) note(ref unitRef, v *cairnpb.ObjectVersion, shards []int, reason string) {
	if r == nil || r.index == nil || len(shards) == 0 {
		return
	}
	nodes := map[int]string{}
	for _, l := range v.GetShards() {
		nodes[int(l.GetIndex())] = l.GetNodeId()
	}
	now := r.now()
	var ps []*cairnpb.ShardProblem
	r.mu.Lock()
	if len(r.sent) >= shardReportsKept {
		for k, t := range r.sent {
			if now.Sub(t) >= reportEvery {
				delete(r.sent, k)
			}
		}
	}
	for _, i := range shards {
		node := nodes[i]
		if node == "" {
			continue // never written: meta knows
		}
		k := fmt.Sprintf("%s/%d/%d/%s", ref.versionID, ref.part, i, node)
		if t, ok := r.sent[k]; (ok && now.Sub(t) < reportEvery) || len(r.sent) >= shardReportsKept {
			continue
		}
		r.sent[k] = now
		ps = append(ps, &cairnpb.ShardProblem{
			BucketId: ref.bucketID, Key: ref.key, VersionId: ref.versionID, PartNumber: ref.part,
			Index: int32(i), NodeId: node, Reason: reason,
		})
	}
	r.mu.Unlock()
	if len(ps) == 0 {
		return
	}
	select {
	case r.slots <- struct{}{}:
	default:
		return // enough reports on their way; a later read reports again
	}
	go func() {
		defer func() { <-r.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
		defer cancel()
		if err := r.index.ReportShards(ctx, ps); err != nil {
			r.log.Warn("could not report bad shards to meta", "key", ref.key, "version", ref.versionID, "part", ref.part, "shards", len(ps), "err", err)
			return
		}
		r.log.Info("reported bad shards to meta", "key", ref.key, "version", ref.versionID, "part", ref.part, "shards", len(ps), "reason", reason)
	}()
}
