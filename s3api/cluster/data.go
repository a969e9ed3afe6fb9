package cluster

import (
	"context"
	"time"

	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/proto/rpcauth"
)

// The gateway's side of the data nodes. Connections, the shard streams
// and their checksums belong to node/dataclient; what is decided here is
// only how long the gateway waits for a node.

// MaxMsgSize bounds one gRPC message between gateway and data nodes.
const MaxMsgSize = dataclient.MaxMessageSize

// ErrBadBlock: a data node sent a block whose bytes do not match the
// checksum sent with it.
var ErrBadBlock = dataclient.ErrBadBlock

// ErrUnreachable: a data node's connection could not be made ready.
var ErrUnreachable = dataclient.ErrUnreachable

// Patience for a connection to become ready: a node the cluster map
// calls healthy gets Patient; one it calls unhealthy (which may just be a
// stale map) gets Brief, so a dead node costs little.
const (
	Patient = 2 * time.Second
	Brief   = 300 * time.Millisecond
)

// ShardWriter streams one shard to one data node.
type ShardWriter = dataclient.ShardWriter

// ShardReader streams checked blocks of one shard from one data node.
type ShardReader = dataclient.ShardReader

// Data pools one gRPC connection per data node address and waits for a
// node's connection before each call.
type Data struct {
	pool *dataclient.Pool
}

// NewData returns an empty pool whose connections t secures (nil:
// plaintext).
func NewData(t *rpcauth.Transport) *Data {
	return &Data{pool: dataclient.New(t)}
}

// Close closes every pooled connection.
func (d *Data) Close() error { return d.pool.Close() }

// PutShard opens a put stream for shardID on the node at addr. The shard
// becomes durable and visible only after Commit; Abort (or ctx ending)
// discards it.
func (d *Data) PutShard(ctx context.Context, addr, shardID string) (*ShardWriter, error) {
	if err := d.pool.WaitReady(ctx, addr, Patient); err != nil {
		return nil, err
	}
	return d.pool.PutShard(ctx, addr, shardID)
}

// GetShard opens a read stream of shardID from firstBlock to the end,
// waiting at most patience for the connection; a non-zero expectDigest is
// the digest the record holds (see dataclient.Pool.GetShard).
func (d *Data) GetShard(ctx context.Context, addr, shardID string, firstBlock int64, expectDigest uint64, patience time.Duration) (*ShardReader, error) {
	if err := d.pool.WaitReady(ctx, addr, patience); err != nil {
		return nil, err
	}
	return d.pool.GetShard(ctx, addr, shardID, firstBlock, expectDigest)
}
