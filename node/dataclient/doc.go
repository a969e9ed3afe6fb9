// Package dataclient is the client side of the data nodes' Data service,
// used by the gateway (s3api/cluster), by data nodes rebuilding shards from
// their peers (node) and by the meta leader's background jobs (meta). It
// owns:
//
//   - the connection pool: one gRPC connection per data-node address, with
//     the transport credential, message-size limits, flow-control windows and
//     reconnect parameters every caller shares (Pool, New);
//   - waiting for a connection to become ready within a caller's patience
//     (Pool.WaitReady);
//   - the shard writer (Pool.PutShard, ShardWriter) and the shard reader
//     (Pool.GetShard, ShardReader), which stamp and check every block's
//     CRC-32C with erasure.Checksum, the one block checksum in Cairn; the
//     writer also computes the shard digest (erasure.DigestBuilder) of
//     what it sent, and the reader passes the recorded digest for the node
//     to check;
//   - the unary and listing calls (DeleteShard, StatShard, StatShards,
//     ListShards, RebuildShard);
//   - turning gRPC statuses back into the rpcerr sentinels.
//
// # Invariants
//
//   - A ShardReader never returns bytes that fail their checksum or arrive
//     out of order: such a block is an error wrapping ErrBadBlock (and so
//     rpcerr.ErrChecksum), and the reader is not read again.
//   - Every block a ShardWriter sends carries erasure.Checksum of its bytes,
//     and Commit fails (rpcerr.ErrChecksum) when the node reports a digest
//     (non-zero) other than that of the blocks sent.
//   - Memory a data node can make a client hold is bounded by flow control:
//     at most StreamWindow bytes per stream and ConnWindow per node, sent
//     ahead of the reader.
//   - Every error that crossed the wire comes back through rpcerr.FromStatus,
//     so callers match sentinels with errors.Is and codes with status.Code.
//   - A Pool makes no connection after Close; it has no package-level state.
//
// It imports only proto packages and erasure (for the checksum): nothing of
// meta, s3api or the node's store.
package dataclient
