// Package node is Cairn's data node: a shard store on Pebble, the gRPC Data
// service over it, and the registration and heartbeat loop towards meta.
//
// # Storage layout
//
// One Store owns one data directory: its identity (<dir>/IDENTITY, JSON:
// node ID, incarnation, cluster ID, creation time; see identity.go), one
// Pebble database (<dir>/pebble) and a scratch directory for sstables being
// built (<dir>/ingest). Keys:
//
//	i/<shardID>                 index record: version, seq, blocks, bytes,
//	                            created, shard digest BE8 (version 2; a
//	                            version 1 record has no digest: reads as 0)
//	r/<seq BE8>                 reverse record: the shard ID that owns seq
//	d/<seq BE8><block BE8>      crc32c(data) BE4 || data
//	m/seq                       sequence lease: every seq below it may be in use
//
// The shard digest is erasure.DigestBuilder over the blocks' lengths and
// CRC-32Cs, as the writer computed it: meta records it with the shard and
// names it back on reads and rebuilds.
//
// seq is a per-store sequence allocated once per PutShard, so the blocks of a
// newly written shard sort after every block already stored. That lets an
// ingested sstable land in the bottom level without overlapping anything and
// keeps flushed blocks out of later compactions.
//
// # Invariants
//
//   - A shard is visible (Stat, Get, List) if and only if its index record
//     exists, and an index record is written only after every one of its
//     blocks is durable. The index record, its reverse record and the removal
//     of the blocks it replaces are committed in one synced batch.
//   - Every block value carries the CRC-32C (Castagnoli, erasure.Checksum)
//     of its data, the checksum it travelled with. A read
//     verifies it before handing out a single byte; a mismatch, a missing
//     block, a malformed record or any error Pebble reports while reading
//     (its own block checksums may fire first) is returned wrapping
//     rpcerr.ErrChecksum. A read never returns wrong bytes.
//   - A seq is used by at most one PutShard ever, including across restarts
//     (the m/seq lease is persisted before a seq below it is handed out).
//   - Blocks of a seq that has no reverse record and no PutShard in flight are
//     orphans: a PutShard that died between ingesting its sstable and writing
//     its index record, or a process crash in that window. SweepOrphans
//     removes them; Node runs it once at start.
//   - A block that failed verification is remembered (bounded, in memory),
//     its shard is reported to meta within seconds (Node's read-fault
//     loop), and later reads of it fail at once: Pebble spends seconds of CPU per
//     damaged 256 KiB block hunting for a single flipped bit.
//   - Memory per PutShard is bounded by the small-shard threshold (1 MiB by
//     default) plus one block (plus two 512 KiB buffers with DirectIO),
//     whatever the shard size: small shards go into
//     a batch, larger ones are streamed into an sstable file (row blocks,
//     see shardTableFormat; O_DIRECT with StoreOptions.DirectIO) and
//     ingested.
//   - Operations on one shard ID that change its index record are serialized;
//     reads see one consistent Pebble view (index and blocks from the same
//     iterator), so a concurrent overwrite or delete never mixes shards.
//   - A data directory has exactly one identity, replaced only atomically
//     (temporary file, fsync, rename, fsync of the directory). Its
//     incarnation is random and never 0, and changes only when the
//     directory is formatted: first use (including a directory from before
//     identities), a node of another ID taking it over, or an identity
//     found without its database. A recorded
//     cluster ID never changes; meta refusing it, or naming another
//     cluster, stops the node (ErrForeignCluster) instead of serving.
//   - Every index record PutShard writes carries the digest of exactly the
//     blocks it committed, and PutShard/RebuildShard answer with it and the
//     incarnation. A read naming a digest (non-zero) that differs from the
//     record's (non-zero) is refused with rpcerr.ErrChecksum before any
//     block is sent.
//   - RebuildShard never commits a shard whose digest differs from the
//     request's expect_digest (or, for a copy, its source's recorded
//     digest) or whose geometry differs from the unit's: the check runs
//     after the last block and before the index record is written
//     (PutShardVerified).
//   - The Data server's methods return domain errors; they become gRPC
//     statuses once, in the rpcerr edge interceptors that ServerOptions
//     chains ahead of everything else. ErrClosed is the one non-sentinel
//     that crosses as itself: UNAVAILABLE without a reason, so clients
//     try another node.
//   - The scrubber recomputes each shard's digest from its stored blocks
//     and reports a mismatch with the index record as corruption, like a
//     failed CRC.
//
// The package keeps no mutable package-level state; loggers and clocks come
// from Config and StoreOptions.
package node
