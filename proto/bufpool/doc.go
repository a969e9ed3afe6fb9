// Package bufpool is the gRPC buffer pool of Cairn's shard traffic: a
// mem.BufferPool whose Get hands back a recycled buffer as it is, without
// zeroing it first.
//
// gRPC's own pools clear every buffer they hand out. On the data path
// that is a full extra pass over every shard byte, twice (the sender's
// encode buffer and the receiver's frame buffer), and worse: a 256 KiB
// block lands in gRPC's 1 MiB tier, so four bytes are cleared for each
// one carried. Every buffer gRPC takes from a pool is filled before it is
// read (a frame is read into it in full, a message is marshalled into
// it), so the clearing buys nothing on this path.
//
// Invariants:
//   - Get(n) returns a slice of length n whose capacity is the smallest
//     power of two at least n (at least 256 B); larger than MaxPooled it
//     is allocated afresh and never pooled.
//   - Put keeps a buffer only in the tier its capacity fills exactly, so
//     a later Get never receives a buffer shorter than it asked for.
//   - Nothing here is global: each Pool is made by New and handed to the
//     gRPC client or server that uses it.
package bufpool
