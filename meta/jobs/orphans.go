package jobs

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Orphan reconciliation.
//
// A gateway writes a version's shards first and commits the version to meta
// second. One that dies (or is cut off, or gives up after an ambiguous
// commit failure) between the two leaves shards on the data nodes that no
// record references and that are on no GC queue: orphans. The leader
// reclaims them by reconciling, never by guessing:
//
//  1. every OrphanInterval it lists each registered data node's shards and
//     keeps, as candidates, those the node created more than OrphanGrace ago
//     (younger ones may belong to a write still in flight);
//  2. then, from one consistent view of the FSM taken after the listings, it
//     strikes every candidate that a committed version or a part of an
//     upload in progress places on that node;
//  3. it deletes what is left.
//
// Step 2 is only sound if no commit can later reference a shard older than
// the grace. The commit fence guarantees it: the leader refuses to commit a
// version or part whose data started being written (the time in its version
// ID, which the gateway takes before writing any shard) more than
// orphanFence ago. orphanFence is shorter than OrphanGrace by a quarter, so a
// shard the reconciler may delete belongs to a write that can no longer
// commit, even with that much clock skew or commit latency between the
// gateway, the data node and the leader. The refusal is definitive, so the
// gateway deletes the shards itself.

const (
	orphanMaxCandidates = 100000 // candidates per round, over all nodes
)

// orphanFence is the oldest a version's data may be when it is committed.
func orphanFence(grace time.Duration) time.Duration { return grace - grace/4 }

// versionIDTime returns the time a gateway-made version ID (32 hex digits,
// the first 16 the big-endian Unix nanoseconds it was made at) carries.
func versionIDTime(id string) (time.Time, bool) {
	if len(id) != 32 {
		return time.Time{}, false
	}
	b, err := hex.DecodeString(id[:16])
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))), true
}

// CheckOrphanFence refuses to commit, at now, data that was written too
// long ago to be safe from an orphan reconciler working with grace. base
// is the version ID or part shard base naming the shards; a version
// without shards is always accepted.
func CheckOrphanFence(now time.Time, grace time.Duration, base string, shards int) error {
	if shards == 0 {
		return nil
	}
	t, ok := versionIDTime(base)
	if !ok {
		return nil
	}
	if age := now.Sub(t); age > orphanFence(grace) {
		return fmt.Errorf("meta: the data of %s was written %v ago, longer than the %v a write may take: %w",
			base, age.Round(time.Second), orphanFence(grace), rpcerr.ErrInvalidArgument)
	}
	return nil
}

// CheckVersionFence applies CheckOrphanFence to a version and its parts.
func CheckVersionFence(now time.Time, grace time.Duration, v *cairnpb.ObjectVersion) error {
	if err := CheckOrphanFence(now, grace, v.GetVersionId(), len(v.GetShards())); err != nil {
		return err
	}
	for _, p := range v.GetParts() {
		if err := CheckOrphanFence(now, grace, p.GetShardBase(), len(p.GetShards())); err != nil {
			return err
		}
	}
	return nil
}

// newOrphanJob returns the leader's orphan reconciliation.
func newOrphanJob(env *Env) leaderjob.Job { return &orphanJob{env: env} }

// orphanJob is the leader's orphan reconciliation: a round every
// OrphanInterval, the first one OrphanInterval into the term.
type orphanJob struct{ env *Env }

func (j *orphanJob) Name() string                        { return NameOrphans }
func (j *orphanJob) Interval() time.Duration             { return j.env.Config.OrphanInterval }
func (j *orphanJob) Start(context.Context) time.Duration { return j.env.Config.OrphanInterval }

func (j *orphanJob) Round(ctx context.Context) error {
	deleted, err := reconcileRound(ctx, j.env)
	if deleted > 0 {
		j.env.Logger.Info("deleted orphaned shards", "shards", deleted)
	}
	return err
}

// orphanRef names one shard on one data node.
type orphanRef struct{ node, shard string }

// reconcileRound runs one reconciliation and returns how many orphaned
// shards it deleted. A node that cannot be listed is skipped this round.
func reconcileRound(ctx context.Context, env *Env) (int, error) {
	var nodes []*cairnpb.DataNode
	if err := env.Store.View(func(r pebble.Reader) error {
		var err error
		nodes, err = fsm.ListNodes(r)
		return err
	}); err != nil {
		return 0, err
	}
	cutoff := env.Now().Add(-env.Config.OrphanGrace).UnixNano()
	cands := map[orphanRef]string{} // -> node address
	for _, dn := range nodes {
		room := orphanMaxCandidates - len(cands)
		if room <= 0 {
			break
		}
		ids, err := oldShards(ctx, env.Conns, dn.GetAddr(), cutoff, room)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			env.Logger.Debug("orphan reconciliation: cannot list a data node; skipping it", "node", dn.GetId(), "err", err)
			continue
		}
		for _, id := range ids {
			cands[orphanRef{dn.GetId(), id}] = dn.GetAddr()
		}
	}
	if len(cands) == 0 {
		return 0, nil
	}
	// The view is taken after every listing: a candidate it does not
	// reference can no longer become referenced (see the commit fence).
	if err := env.Store.View(func(r pebble.Reader) error { return strikeReferenced(r, cands) }); err != nil {
		return 0, err
	}
	deleted := 0
	for ref, addr := range cands {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		if err := deleteShard(ctx, env.Conns, addr, ref.shard); err != nil {
			env.Logger.Debug("orphan reconciliation: delete failed", "node", ref.node, "shard", ref.shard, "err", err)
			continue
		}
		env.Logger.Info("deleted orphaned shard", "node", ref.node, "shard", ref.shard)
		deleted++
	}
	return deleted, nil
}

// strikeReferenced removes from cands every shard that a committed version
// or a part of an upload in progress places on that node.
func strikeReferenced(r pebble.Reader, cands map[orphanRef]string) error {
	strike := func(base string, locs []*cairnpb.ShardLocation) {
		for _, l := range locs {
			delete(cands, orphanRef{l.GetNodeId(), fsm.ShardID(base, l.GetIndex())})
		}
	}
	err := fsm.ForEachVersion(r, nil, func(_ []byte, v *cairnpb.ObjectVersion) error {
		strike(v.GetVersionId(), v.GetShards())
		for _, p := range v.GetParts() {
			strike(p.GetShardBase(), p.GetShards())
		}
		return nil
	})
	if err != nil {
		return err
	}
	return fsm.Scan(r, []byte(fsm.TagPart), func(key, value []byte) (bool, error) {
		p := &cairnpb.UploadedPart{}
		if err := proto.Unmarshal(value, p); err != nil {
			return false, fmt.Errorf("meta: decode %q: %w", key, err)
		}
		strike(p.GetPart().GetShardBase(), p.GetPart().GetShards())
		return true, nil
	})
}

// oldShards lists up to limit shards of a data node created before cutoff
// (Unix nanoseconds, the node's clock).
func oldShards(ctx context.Context, conns *dataclient.Pool, addr string, cutoff int64, limit int) ([]string, error) {
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var out []string
	for s, err := range conns.ListShards(cctx, addr, "") {
		if err != nil {
			return nil, err
		}
		if len(out) == limit {
			break
		}
		if s.GetCreatedUnixNano() < cutoff {
			out = append(out, s.GetShardId())
		}
	}
	return out, nil
}
