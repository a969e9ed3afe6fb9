package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Rebuilding shards for the repair engine.
//
// The meta leader decides what to rebuild and where; the byte work happens
// here, on the node that will hold the new shard: it streams the shard
// from a source of the same index when there is one (a drain), or else
// reads K other shards of the unit from its peers, reconstructs the
// missing one stripe by stripe with package erasure and stores it. Memory
// is one stripe buffer plus Pebble's batch or sstable writer, whatever the
// shard's size. Shards hold sealed bytes, so no keys are needed. Peers are
// reached through the Server's dataclient.Pool, whose shard readers check
// every block's checksum; each source read carries the source's recorded
// digest, so a source holding another shard under that ID refuses.
//
// The shard digest of what is written is computed on the way in. Before
// anything becomes visible it must match req.expect_digest (when set), and
// a copy must also match its source's recorded digest; otherwise it is not
// kept: a copy falls back to reconstruction, a reconstruction is refused
// with rpcerr.ErrChecksum. The geometry is checked at the same point.

// RebuildShard makes req.shard_id on this node: a copy from a source of the
// same index if that works, else a reconstruction from the other sources.
func (s *Server) RebuildShard(ctx context.Context, req *cairnpb.RebuildShardRequest) (*cairnpb.RebuildShardResponse, error) {
	resp, err := s.rebuild(ctx, req)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("rebuild shard failed", "shard", req.GetShardId(), "index", req.GetIndex(), "err", err)
		}
		return nil, err
	}
	return resp, nil
}

func (s *Server) rebuild(ctx context.Context, req *cairnpb.RebuildShardRequest) (*cairnpb.RebuildShardResponse, error) {
	sc := req.GetScheme()
	coder, err := erasure.New(int(sc.GetData()), int(sc.GetParity()), int(sc.GetBlockSize()))
	if err != nil {
		return nil, fmt.Errorf("node: rebuild %q: %w: %w", req.GetShardId(), rpcerr.ErrInvalidArgument, err)
	}
	target := int(req.GetIndex())
	if err := validShardID(req.GetShardId()); err != nil {
		return nil, err
	}
	if target < 0 || target >= coder.K()+coder.M() {
		return nil, fmt.Errorf("node: rebuild: index %d outside %d+%d: %w", target, coder.K(), coder.M(), rpcerr.ErrInvalidArgument)
	}
	byIndex := map[int]*cairnpb.RebuildSource{}
	for _, src := range req.GetSources() {
		byIndex[int(src.GetIndex())] = src
	}

	// The unit's shard geometry, from the first source that answers.
	var layout erasure.Layout
	var found bool
	var statErr []error
	for _, src := range req.GetSources() {
		info, err := s.peers.StatShard(ctx, src.GetAddr(), src.GetShardId())
		if err != nil {
			statErr = append(statErr, err)
			continue
		}
		layout, err = coder.LayoutOfShard(info.GetBlocks(), info.GetBytes())
		if err != nil {
			statErr = append(statErr, err)
			continue
		}
		found = true
		break
	}
	if !found {
		return nil, fmt.Errorf("node: rebuild %q: no source answered: %w", req.GetShardId(), errors.Join(append(statErr, erasure.ErrTooManyFailures)...))
	}

	id, expect := req.GetShardId(), req.GetExpectDigest()
	if src, ok := byIndex[target]; ok {
		info, err := s.store.PutShardVerified(ctx, id, s.copyBlocks(ctx, src), s.acceptRebuilt(layout, "copied", src.GetDigest(), expect))
		if err == nil {
			return s.rebuilt(info, true), nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		s.log.Info("copy of shard failed; reconstructing it", "shard", id, "from", src.GetAddr(), "err", err)
	}

	open := func(ctx context.Context, shard int, first int64) (erasure.BlockReader, error) {
		src, ok := byIndex[shard]
		if !ok || shard == target {
			return nil, fmt.Errorf("shard %d: no source", shard)
		}
		r, err := s.peers.GetShard(ctx, src.GetAddr(), src.GetShardId(), first, src.GetDigest())
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return r, nil
	}
	info, err := s.store.PutShardVerified(ctx, id, coder.Rebuild(ctx, layout, open, target), s.acceptRebuilt(layout, "rebuilt", expect))
	if err != nil {
		return nil, err
	}
	return s.rebuilt(info, false), nil
}

// rebuilt counts a rebuilt shard and describes it for the repair engine.
func (s *Server) rebuilt(info ShardInfo, copied bool) *cairnpb.RebuildShardResponse {
	s.store.ctr.shardsRebuilt.Add(1)
	return &cairnpb.RebuildShardResponse{
		Blocks:      info.Blocks,
		Bytes:       info.Bytes,
		Copied:      copied,
		Digest:      info.Digest,
		Incarnation: s.store.Incarnation(),
	}
}

// acceptRebuilt is what a rebuilt shard must pass before it is kept: the
// layout's geometry, and each digest in want (0: unchecked).
func (s *Server) acceptRebuilt(l erasure.Layout, what string, want ...uint64) func(ShardInfo) error {
	return func(info ShardInfo) error {
		if err := checkRebuilt(info, l); err != nil {
			return err
		}
		for _, d := range want {
			if err := s.store.digestMismatch(info.ID, d, info.Digest, what); err != nil {
				return err
			}
		}
		return nil
	}
}

// checkRebuilt verifies a rebuilt shard's geometry against the layout.
func checkRebuilt(info ShardInfo, l erasure.Layout) error {
	if info.Blocks != l.Stripes() || info.Bytes != l.ShardSize() {
		return fmt.Errorf("node: rebuilt shard %q has %d blocks, %d bytes; want %d, %d: %w",
			info.ID, info.Blocks, info.Bytes, l.Stripes(), l.ShardSize(), rpcerr.ErrChecksum)
	}
	return nil
}

// copyBlocks streams a peer's shard, verified block by block.
func (s *Server) copyBlocks(ctx context.Context, src *cairnpb.RebuildSource) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		r, err := s.peers.GetShard(ctx, src.GetAddr(), src.GetShardId(), 0, src.GetDigest())
		if err != nil {
			yield(nil, err)
			return
		}
		defer r.Close()
		for {
			b, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(b, err) || err != nil {
				return
			}
		}
	}
}
