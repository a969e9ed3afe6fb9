package model

import (
	"context"
	"time"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/cluster"
)

// Index is what the object model needs from the meta group: the
// cluster map to place and find shards, and where to report the shards
// and versions reads found wanting.
type Index interface {
	ClusterMap(ctx context.Context, maxAge time.Duration) (*cairnpb.GetClusterMapResponse, error)
	UnreadableIndex
	ShardReportIndex
}

// ShardWriter is one open shard upload.
type ShardWriter interface {
	erasure.BlockWriter
	Commit() error
	Abort()
	// Digest is the shard digest of the blocks written
	// (erasure.DigestBuilder), recorded with the shard's location.
	Digest() uint64
	// Incarnation is the node directory's incarnation the shard became
	// durable in (after Commit; 0 if the node did not say).
	Incarnation() uint64
}

// Shards is what the object model needs from data nodes, addressed by gRPC
// address. A gateway writes and reads shards, never deletes them: that is
// meta's (garbage collection, orphan reconciliation), so a gateway's
// credentials cannot destroy stored data (docs/security.md).
type Shards interface {
	PutShard(ctx context.Context, addr, shardID string) (ShardWriter, error)
	// GetShard waits at most patience for the node's connection.
	// A non-zero expectDigest is the shard digest the record holds.
	GetShard(ctx context.Context, addr, shardID string, firstBlock int64, expectDigest uint64, patience time.Duration) (erasure.BlockReader, error)
}

// GRPCShards adapts a cluster.Data pool to Shards.
type GRPCShards struct{ Pool *cluster.Data }

func (s GRPCShards) PutShard(ctx context.Context, addr, shardID string) (ShardWriter, error) {
	w, err := s.Pool.PutShard(ctx, addr, shardID)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (s GRPCShards) GetShard(ctx context.Context, addr, shardID string, firstBlock int64, expectDigest uint64, patience time.Duration) (erasure.BlockReader, error) {
	r, err := s.Pool.GetShard(ctx, addr, shardID, firstBlock, expectDigest, patience)
	if err != nil {
		return nil, err
	}
	return r, nil
}
