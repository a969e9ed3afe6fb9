package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Garbage collection of shards.
//
// Overwrites, deletes, replaced multipart parts and aborted uploads put the
// shards they orphan on the GC queue in the same apply that orphans them
// (g/ keys, oldest first). The leader works the queue: every GCInterval it
// takes the entries older than GCGrace, a batch at a time until none is
// left, asks each entry's data node to delete the shard, and drops the
// entries whose shards are gone (deleted now, or already absent) with one
// DropGCCmd per batch. An entry whose node is down
// stays queued and is tried again next round; nothing is dropped on a
// guess. Only the leader collects, and it stops the moment it stops
// leading.

const (
	gcBatch       = 512             // entries looked at per round
	gcParallel    = 8               // concurrent shard deletions
	gcCallTimeout = 5 * time.Second // per deletion
	gcNodeBackoff = time.Minute     // a node that failed a deletion is skipped this long
)

// newGCJob returns the leader's garbage collection of the GC queue.
func newGCJob(env *Env) leaderjob.Job { return &gcJob{env: env} }

// gcJob is the leader's garbage collection: a round every GCInterval,
// the first one GCInterval into the term.
type gcJob struct {
	env  *Env
	skip map[string]time.Time // node -> when to try it again
}

func (j *gcJob) Name() string            { return NameGC }
func (j *gcJob) Interval() time.Duration { return j.env.Config.GCInterval }

func (j *gcJob) Start(context.Context) time.Duration {
	j.skip = map[string]time.Time{}
	return j.env.Config.GCInterval
}

// Round works the queue batch after batch until a batch comes back short
// (nothing more is due), drops nothing (every node it named failed), or the
// term ends: a backlog is drained at the pace the data nodes delete, not
// at one batch per interval, which would cap collection at about a
// hundred shards a second and let garbage outgrow a busy cluster.
func (j *gcJob) Round(ctx context.Context) error {
	total := 0
	defer func() {
		if total > 0 {
			j.env.Logger.Debug("garbage collected shards", "shards", total)
		}
	}()
	for ctx.Err() == nil {
		dropped, more, err := gcRound(ctx, j.env, j.skip)
		total += dropped
		if err != nil || !more || dropped == 0 {
			return err
		}
	}
	return nil
}

// gcRound deletes the shards of up to gcBatch due GC entries and drops
// those entries. Entries of nodes in skip (failed recently) or unknown to
// the map are passed over, so one dead node cannot hold up the queue; a
// node whose deletion fails goes into skip for a while. It returns how
// many entries it dropped, and whether the batch was full (more may be
// due).
func gcRound(ctx context.Context, env *Env, skip map[string]time.Time) (int, bool, error) {
	now := env.Now()
	cutoff := now.Add(-env.Config.GCGrace).UnixNano()
	var due []*cairnpb.GCEntry
	addrs := map[string]string{}
	err := env.Store.View(func(r pebble.Reader) error {
		return fsm.Scan(r, []byte(fsm.TagGC), func(key, value []byte) (bool, error) {
			e := &cairnpb.GCEntry{}
			if err := proto.Unmarshal(value, e); err != nil {
				return false, fmt.Errorf("meta: decode %q: %w", key, err)
			}
			if e.GetEnqueuedUnixNano() > cutoff {
				return false, nil // the queue is in enqueue order
			}
			node := e.GetNodeId()
			if until, ok := skip[node]; ok && now.Before(until) {
				return true, nil
			}
			if _, seen := addrs[node]; !seen {
				addrs[node] = ""
				dn, err := fsm.GetNode(r, node)
				switch {
				case err == nil:
					addrs[node] = dn.GetAddr()
				case !errors.Is(err, rpcerr.ErrNodeNotFound):
					return false, err
				}
			}
			if addrs[node] != "" {
				due = append(due, e)
			}
			return len(due) < gcBatch, nil
		})
	})
	if err != nil || len(due) == 0 {
		return 0, false, err
	}
	more := len(due) == gcBatch

	gone := make([]bool, len(due))
	sem := make(chan struct{}, gcParallel)
	var wg sync.WaitGroup
	for i, e := range due {
		addr := addrs[e.GetNodeId()]
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, e *cairnpb.GCEntry, addr string) {
			defer wg.Done()
			defer func() { <-sem }()
			gone[i] = deleteShard(ctx, env.Conns, addr, e.GetShardId()) == nil
		}(i, e, addr)
	}
	wg.Wait()

	drop := &cairnpb.DropGCCmd{}
	for i, e := range due {
		if gone[i] {
			drop.Entries = append(drop.Entries, e)
		} else {
			skip[e.GetNodeId()] = now.Add(gcNodeBackoff)
		}
	}
	if len(drop.Entries) == 0 {
		return 0, more, nil
	}
	if err := env.Propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_DropGc{DropGc: drop}}); err != nil {
		return 0, more, fmt.Errorf("meta: drop %d GC entries: %w", len(drop.Entries), err)
	}
	return len(drop.Entries), more, nil
}

// deleteShard deletes a shard within gcCallTimeout; a shard that is
// already absent counts as deleted.
func deleteShard(ctx context.Context, conns *dataclient.Pool, addr, shardID string) error {
	cctx, cancel := context.WithTimeout(ctx, gcCallTimeout)
	defer cancel()
	if err := conns.DeleteShard(cctx, addr, shardID); err != nil && !errors.Is(err, rpcerr.ErrShardNotFound) {
		return err
	}
	return nil
}
