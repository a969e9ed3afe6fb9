package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Scrubbing.
//
// Every ScrubInterval the node re-reads every block of every shard it
// holds, at most ScrubBytesPerSecond, verifying each block's CRC-32C the
// way a client read does, and recomputing the shard digest from the stored
// blocks (their lengths and CRCs) to compare it with the index record's. A
// shard with a block that fails verification, or whose blocks do not make
// the recorded digest, is reported to meta (ReportCorruptShard), whose
// repair engine rebuilds it elsewhere from the other shards and
// garbage-collects the damaged copy.
// Reports that meta did not take are sent again after the next pass.

// Scrub defaults.
const (
	DefaultScrubInterval    = 24 * time.Hour
	DefaultScrubBytesPerSec = 32 << 20
	scrubPage               = 256
)

// ScrubResult is what one shard's scrub found.
type ScrubResult struct {
	Blocks, Bytes int64
	// Corrupt is the verification failure, nil for a sound shard.
	Corrupt error
}

// ScrubShard reads every block of shard id and verifies it, and then the
// shard digest of the blocks read against the index record's (when that
// has one). A block that fails verification, or a digest mismatch, is
// reported in ScrubResult.Corrupt (wrapping rpcerr.ErrChecksum), not as an
// error; errors are for everything else (a shard deleted meanwhile is
// rpcerr.ErrShardNotFound). limit, if not nil, is called with each block's
// size before the next block is read (rate limiting).
func (s *Store) ScrubShard(ctx context.Context, id string, limit func(context.Context, int) error) (ScrubResult, error) {
	var res ScrubResult
	r, err := s.GetShard(ctx, id, 0, 0)
	if err != nil {
		if errors.Is(err, rpcerr.ErrChecksum) {
			res.Corrupt = err
			return res, nil
		}
		return res, err
	}
	defer r.Close()
	digest := erasure.NewDigest()
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			info := r.Info()
			res.Corrupt = s.digestMismatch(info.ID, info.Digest, digest.Sum(), "scrubbed")
			break
		}
		if err != nil {
			if errors.Is(err, rpcerr.ErrChecksum) && ctx.Err() == nil {
				res.Corrupt = err
				break
			}
			return res, err
		}
		digest.Add(len(b.Data), b.CRC)
		res.Blocks++
		res.Bytes += int64(len(b.Data))
		s.ctr.blocksScrubbed.Add(1)
		s.ctr.bytesScrubbed.Add(uint64(len(b.Data)))
		if limit != nil {
			if err := limit(ctx, len(b.Data)); err != nil {
				return res, err
			}
		}
	}
	s.ctr.shardsScrubbed.Add(1)
	return res, nil
}

// Flush writes the memtable out to sstables (and blob files), so that
// every shard's bytes are in Pebble's table files. Tools and tests use it.
func (s *Store) Flush() error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("node: flush: %w", err)
	}
	return nil
}

// pacer limits a byte rate: Wait blocks until n more bytes fit.
type pacer struct {
	rate  float64 // bytes per second; <= 0: unlimited
	start time.Time
	bytes float64
}

func newPacer(bytesPerSec int64) *pacer {
	return &pacer{rate: float64(bytesPerSec), start: time.Now()}
}

func (p *pacer) wait(ctx context.Context, n int) error {
	if p.rate <= 0 {
		return nil
	}
	p.bytes += float64(n)
	due := p.start.Add(time.Duration(p.bytes / p.rate * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		if !sleep(ctx, d) {
			return ctx.Err()
		}
	} else if d < -time.Second {
		// Do not bank more than a second of idle time as a burst.
		p.start = time.Now()
		p.bytes = 0
	}
	return nil
}

// scrubLoop runs scrub passes every interval until ctx ends.
func (n *Node) scrubLoop(ctx context.Context, mc *metaclient.Client) {
	pending := map[string]bool{} // corrupt shards meta has not taken yet
	reported := map[string]uint64{}
	for sleep(ctx, n.cfg.ScrubInterval) {
		if err := n.scrubPass(ctx, mc, pending, reported); err != nil && ctx.Err() == nil {
			n.cfg.Logger.Warn("scrub pass failed", "err", err)
		}
	}
}

// scrubPass reads the whole store once.
func (n *Node) scrubPass(ctx context.Context, mc *metaclient.Client, pending map[string]bool, reported map[string]uint64) error {
	log := n.cfg.Logger
	p := newPacer(n.cfg.ScrubBytesPerSecond)
	start := time.Now()
	var shards, corrupt int
	after := ""
	for {
		var ids []ShardInfo
		for info, err := range n.store.ListShards(ctx, after, scrubPage) {
			if err != nil {
				return err
			}
			ids = append(ids, info)
		}
		if len(ids) == 0 {
			break
		}
		after = ids[len(ids)-1].ID
		for _, info := range ids {
			res, err := n.store.ScrubShard(ctx, info.ID, p.wait)
			switch {
			case errors.Is(err, rpcerr.ErrShardNotFound):
				continue
			case err != nil:
				return err
			}
			shards++
			if res.Corrupt != nil {
				corrupt++
				if reported[info.ID] != info.seq {
					n.store.ctr.corruptFound.Add(1)
					log.Error("scrub found a corrupt shard", "shard", info.ID, "err", res.Corrupt)
					if len(reported) > maxBadBlocks {
						clear(reported)
					}
					reported[info.ID] = info.seq
				}
				pending[info.ID] = true
			}
		}
		n.reportCorrupt(ctx, mc, pending)
	}
	n.reportCorrupt(ctx, mc, pending)
	n.store.ctr.scrubPasses.Add(1)
	log.Info("scrub pass done", "shards", shards, "corrupt", corrupt, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// readFaultEvery is how often the node reports shards its reads found
// damaged.
const readFaultEvery = 5 * time.Second

// readFaultLoop reports to meta the shards that reads (GetShard, and the
// sources of rebuilds) found a damaged block in, so that repair does not
// wait for the next scrub pass to find them.
func (n *Node) readFaultLoop(ctx context.Context, mc *metaclient.Client) {
	pending := map[string]bool{}
	for sleep(ctx, readFaultEvery) {
		for _, id := range n.store.TakeDamaged() {
			if !pending[id] {
				n.cfg.Logger.Error("a read found a corrupt shard", "shard", id)
			}
			pending[id] = true
		}
		n.reportCorrupt(ctx, mc, pending)
	}
}

// reportCorrupt sends meta the pending corrupt shards; those it takes
// leave pending.
func (n *Node) reportCorrupt(ctx context.Context, mc *metaclient.Client, pending map[string]bool) {
	if mc == nil {
		return
	}
	for id := range pending {
		req := &cairnpb.ReportCorruptShardRequest{NodeId: n.cfg.ID, ShardId: id}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := metaclient.Meta(rctx, mc, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.ReportCorruptShardResponse, error) {
			return c.ReportCorruptShard(ctx, req)
		})
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				n.cfg.Logger.Warn("report of a corrupt shard failed; will retry", "shard", id, "err", err)
			}
			return
		}
		n.store.ctr.corruptReported.Add(1)
		delete(pending, id)
	}
}
