package erasure

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// A shard digest names a shard's content in 8 bytes: the first 8 bytes
// (big-endian) of SHA-256 over, for each block in index order, the block's
// length and its Checksum, 4 bytes each, big-endian. It is cheap to keep
// (no byte is hashed twice: the per-block checksums already cover the
// data) and catches a shard whose blocks are each self-consistent but are
// not the blocks that were written. It is never 0, so 0 can mean "not
// recorded".
//
// The format is persistent: digests are recorded in meta.

// DigestBuilder accumulates a shard digest block by block. The zero value
// is not usable; call NewDigest.
type DigestBuilder struct {
	h      hash.Hash
	blocks int64
}

// NewDigest returns an empty DigestBuilder.
func NewDigest() *DigestBuilder { return &DigestBuilder{h: sha256.New()} }

// Add appends one block of blockLen bytes with checksum crc.
func (d *DigestBuilder) Add(blockLen int, crc uint32) {
	var rec [8]byte
	binary.BigEndian.PutUint32(rec[:4], uint32(blockLen))
	binary.BigEndian.PutUint32(rec[4:], crc)
	_, _ = d.h.Write(rec[:]) // hash.Hash writes never fail
	d.blocks++
}

// Blocks is the number of blocks added.
func (d *DigestBuilder) Blocks() int64 { return d.blocks }

// Sum returns the digest of the blocks added so far.
func (d *DigestBuilder) Sum() uint64 {
	var out [sha256.Size]byte
	v := binary.BigEndian.Uint64(d.h.Sum(out[:0]))
	if v == 0 {
		v = 1
	}
	return v
}
