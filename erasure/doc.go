// Package erasure owns Cairn's data layout on the shard level: how an
// object's bytes are cut into Reed-Solomon stripes and blocks, how those
// blocks are streamed to shard writers (Encode) and how any byte range is
// streamed back from shard readers, rebuilding lost shards on the way
// (Decode). It also owns the per-block checksum (CRC-32C, Checksum) used
// everywhere in Cairn. It does no I/O of its own: shards are reached only
// through the BlockWriter, BlockReader and OpenFunc the caller supplies.
//
// # Layout
//
// An object of Size bytes is cut into stripes of K*BlockSize data bytes.
// Every stripe but the last is full. The last stripe holds the remaining
// dataLen bytes (1..K*BlockSize); its per-shard block length is
// ceil(dataLen/K) and its data is zero-padded to K*blockLen before parity is
// computed. Data block j of a stripe holds stripe bytes
// [j*blockLen, (j+1)*blockLen); parity blocks K..K+M-1 follow. Shard j is the
// sequence of block j of every stripe, so a block's index is its stripe's
// index. An empty object has no stripes and no blocks.
//
// # Invariants
//
//   - The layout and the code are a persistent format: the same (K, M,
//     BlockSize, bytes) always yields the same shards. The Reed-Solomon
//     matrix is reedsolomon's default systematic Vandermonde matrix; changing
//     it, or any rule above, makes existing shards unreadable.
//   - Memory is bounded by the scheme, not the object: Encode and Decode each
//     hold at most two stripe buffers of (K+M)*BlockSize bytes, recycled
//     through a pool owned by the Coder.
//   - Decode never returns wrong bytes as long as readers honour their
//     contract (an error, never bad data, for a missing or corrupt block): a
//     shard that fails in any way is closed and never read again in that call.
//   - A Coder is immutable after New and safe for concurrent use; the package
//     has no mutable package-level state.
//   - Neither Encode nor Decode returns while a call it made into a writer or
//     reader is still running, and no block buffer is used after it returns.
//     With a stall limit (WriteOptions, ReadOptions) a writer or reader that
//     stops answering is given up by cancelling its context, so readers and
//     writers must return promptly once their context ends.
package erasure
