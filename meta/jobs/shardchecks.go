package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Shard reports from gateways.
//
// A gateway that could not use a shard while reading (absent, or another
// digest than recorded) passes it on with Meta.ReportShards. Gateways are
// many and their view may be stale, so the leader believes nothing it has
// not checked: for each problem it loads the unit's record as committed
// now, checks that it still places that shard on that node, and asks the
// node (Data.StatShard). A shard the node lacks, or holds with another
// digest than recorded, becomes a corrupt report ("missing", "digest
// mismatch") and starts a repair round; a shard that is there and matches
// is left alone (a block that fails its checksum is the node's to find and
// report, on read and by its scrubber).
//
// The call answers once the problems are queued, never after the checks:
// a gateway is never held up. The queue is bounded (shardCheckQueue; more
// is dropped, and reported again by the next failed read), a shard checked
// is not checked again for shardCheckTTL, and checks are paced to
// Config.ShardCheckRate per second. The queue lives in memory only; what a
// leader queued and did not check before it lost office is checked by the
// next term it leads, against the records as they are then.

const (
	shardCheckQueue   = 4096
	shardCheckTTL     = time.Minute
	shardCheckTimeout = 10 * time.Second
	MaxShardProblems  = 1000 // per ReportShards call (meta refuses more)
)

// shardChecks is the leader's queue of reported shards to check. The zero
// value is ready to use.
type shardChecks struct {
	wake   leaderjob.Kick
	mu     sync.Mutex
	queue  []*cairnpb.ShardProblem
	recent map[string]time.Time // problemKey -> when queued or checked
}

// problemKey names the shard a problem is about.
func problemKey(p *cairnpb.ShardProblem) string {
	return fmt.Sprintf("%s\x00%x\x00%s\x00%s\x00%d\x00%d", p.GetNodeId(), p.GetBucketId(), p.GetKey(), p.GetVersionId(), p.GetPartNumber(), p.GetIndex())
}

// enqueue queues the problems not queued or checked within the TTL, up to
// the queue's bound, and returns how many it queued.
func (q *shardChecks) enqueue(now time.Time, problems []*cairnpb.ShardProblem) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.recent == nil {
		q.recent = map[string]time.Time{}
	}
	if len(q.recent) > 4*shardCheckQueue {
		for k, at := range q.recent {
			if now.Sub(at) > shardCheckTTL {
				delete(q.recent, k)
			}
		}
	}
	queued := 0
	for _, p := range problems {
		k := problemKey(p)
		if at, ok := q.recent[k]; ok && now.Sub(at) <= shardCheckTTL {
			continue
		}
		if len(q.queue) >= shardCheckQueue || len(q.recent) >= 8*shardCheckQueue {
			break
		}
		q.recent[k] = now
		q.queue = append(q.queue, p)
		queued++
	}
	if queued > 0 {
		q.wake.Kick()
	}
	return queued
}

// next takes the oldest queued problem, if any.
func (q *shardChecks) next() (*cairnpb.ShardProblem, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queue) == 0 {
		return nil, false
	}
	p := q.queue[0]
	q.queue[0] = nil
	q.queue = q.queue[1:]
	return p, true
}

// shardCheckJob is the leader's check of reported shards: it runs when
// problems are queued (the queue kicks it) and works the queue to its end,
// paced to ShardCheckRate over the term.
type shardCheckJob struct {
	s    *Set
	pace *leaderjob.Pacer
}

func (j *shardCheckJob) Name() string            { return NameShardChecks }
func (j *shardCheckJob) Interval() time.Duration { return leaderjob.Never }
func (j *shardCheckJob) Kicks() *leaderjob.Kick  { return &j.s.shardChecks.wake }

// Start waits for a kick: one left pending by an earlier term starts a
// round at once.
func (j *shardCheckJob) Start(context.Context) time.Duration {
	j.pace = leaderjob.NewPacer(j.s.env.Config.ShardCheckRate)
	return leaderjob.Never
}

func (j *shardCheckJob) Round(ctx context.Context) error {
	s := j.s
	for {
		p, ok := s.shardChecks.next()
		if !ok {
			return nil
		}
		if err := j.pace.Wait(ctx, 1); err != nil {
			return err
		}
		reason, err := s.checkShardProblem(ctx, s.env.Conns, p)
		if err != nil && ctx.Err() == nil {
			s.env.Logger.Debug("could not check a reported shard", "node", p.GetNodeId(), "version", p.GetVersionId(),
				"part", p.GetPartNumber(), "index", p.GetIndex(), "err", err)
		}
		s.repair.update(func(st *cairnpb.RepairStatus) {
			if err == nil {
				st.ShardReportsChecked++
			}
			if reason != "" {
				st.ShardReportsConfirmed++
			}
		})
	}
}

// checkShardProblem checks one reported shard and records it as corrupt
// when its node lacks it or holds another digest. It returns the reason
// recorded, "" when the shard is fine or no longer where it was reported.
func (s *Set) checkShardProblem(ctx context.Context, conns *dataclient.Pool, p *cairnpb.ShardProblem) (string, error) {
	var (
		loc      *cairnpb.ShardLocation
		sid      string
		addr     string
		reported bool
	)
	err := s.env.Store.View(func(r pebble.Reader) error {
		u, locs, err := loadUnit(r, &cairnpb.RelocateShardsCmd{BucketId: p.GetBucketId(), Key: p.GetKey(),
			VersionId: p.GetVersionId(), PartNumber: p.GetPartNumber()})
		if err != nil {
			return err
		}
		for _, l := range locs {
			if l.GetIndex() == p.GetIndex() && l.GetNodeId() == p.GetNodeId() {
				loc = l
			}
		}
		if loc == nil {
			return nil
		}
		d, err := fsm.GetNode(r, p.GetNodeId())
		if err != nil {
			return err
		}
		if staleIncarnation(loc.GetIncarnation(), d) {
			loc = nil // already missing for repair
			return nil
		}
		addr, sid = d.GetAddr(), fsm.ShardID(u.shardBase, loc.GetIndex())
		reported, err = fsm.GetProto(r, fsm.CorruptKey(p.GetNodeId(), sid), &cairnpb.CorruptShard{})
		return err
	})
	if fsm.RefusalReason(err) != "" {
		return "", nil // the unit or node is gone: nothing to repair
	}
	if err != nil || loc == nil || reported {
		return "", err
	}
	cctx, cancel := context.WithTimeout(ctx, shardCheckTimeout)
	info, err := conns.StatShard(cctx, addr, sid)
	cancel()
	var reason string
	switch {
	case errors.Is(err, rpcerr.ErrShardNotFound):
		reason = reasonMissing
	case err != nil:
		return "", err // the node does not answer: repair handles nodes that are down
	default:
		reason = shardVerdict(loc.GetDigest(), map[string]uint64{sid: info.GetDigest()}, sid)
	}
	if reason == "" {
		s.env.Logger.Debug("a shard a gateway reported is fine", "node", p.GetNodeId(), "shard", sid, "gateway_reason", p.GetReason())
		return "", nil
	}
	cmd := &cairnpb.ReportCorruptShardCmd{Shard: &cairnpb.CorruptShard{NodeId: p.GetNodeId(), ShardId: sid, Reason: reason}}
	if err := s.env.Propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_ReportCorruptShard{ReportCorruptShard: cmd}}); err != nil {
		if fsm.IsRefusal(err) {
			return "", nil
		}
		return "", err
	}
	s.env.Logger.Warn("a shard a gateway reported is "+reason+"; it will be rebuilt", "node", p.GetNodeId(), "shard", sid,
		"gateway_reason", p.GetReason())
	s.repair.kick()
	return reason, nil
}
