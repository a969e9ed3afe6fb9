package dataclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// DeleteShard removes shardID from the node at addr. An unknown shard is
// rpcerr.ErrShardNotFound.
func (p *Pool) DeleteShard(ctx context.Context, addr, shardID string) error {
	c, err := p.client(addr)
	if err != nil {
		return err
	}
	if _, err := c.DeleteShard(ctx, &cairnpb.DeleteShardRequest{ShardId: shardID}); err != nil {
		return fmt.Errorf("dataclient: delete shard %q on %s: %w", shardID, addr, rpcerr.FromStatus(err))
	}
	return nil
}

// StatShard describes shardID on the node at addr. An unknown shard is
// rpcerr.ErrShardNotFound.
func (p *Pool) StatShard(ctx context.Context, addr, shardID string) (*cairnpb.ShardInfo, error) {
	c, err := p.client(addr)
	if err != nil {
		return nil, err
	}
	resp, err := c.StatShard(ctx, &cairnpb.StatShardRequest{ShardId: shardID})
	if err != nil {
		return nil, fmt.Errorf("dataclient: stat shard %q on %s: %w", shardID, addr, rpcerr.FromStatus(err))
	}
	return resp.GetInfo(), nil
}

// StatShards describes those of ids the node at addr holds; the ones it
// lacks are absent from the answer.
func (p *Pool) StatShards(ctx context.Context, addr string, ids []string) ([]*cairnpb.ShardInfo, error) {
	c, err := p.client(addr)
	if err != nil {
		return nil, err
	}
	resp, err := c.StatShards(ctx, &cairnpb.StatShardsRequest{ShardIds: ids})
	if err != nil {
		return nil, fmt.Errorf("dataclient: stat %d shards on %s: %w", len(ids), addr, rpcerr.FromStatus(err))
	}
	return resp.GetShards(), nil
}

// ListShards yields the shards of the node at addr in ID order, after
// startAfter ("" from the start). An error is yielded once and ends the
// sequence; stopping early ends the stream.
func (p *Pool) ListShards(ctx context.Context, addr, startAfter string) iter.Seq2[*cairnpb.ShardInfo, error] {
	return func(yield func(*cairnpb.ShardInfo, error) bool) {
		fail := func(err error) {
			yield(nil, fmt.Errorf("dataclient: list shards on %s: %w", addr, rpcerr.FromStatus(err)))
		}
		c, err := p.client(addr)
		if err != nil {
			yield(nil, err)
			return
		}
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		st, err := c.ListShards(sctx, &cairnpb.ListShardsRequest{StartAfter: startAfter})
		if err != nil {
			fail(err)
			return
		}
		for {
			resp, err := st.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				fail(err)
				return
			}
			for _, s := range resp.GetShards() {
				if !yield(s, nil) {
					return
				}
			}
		}
	}
}

// RebuildShard asks the node at addr to make req's shard from the sources
// the request names.
func (p *Pool) RebuildShard(ctx context.Context, addr string, req *cairnpb.RebuildShardRequest) (*cairnpb.RebuildShardResponse, error) {
	c, err := p.client(addr)
	if err != nil {
		return nil, err
	}
	resp, err := c.RebuildShard(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("dataclient: rebuild shard %q on %s: %w", req.GetShardId(), addr, rpcerr.FromStatus(err))
	}
	return resp, nil
}
