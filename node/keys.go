package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Key prefixes. They are single letters followed by '/', so each family is
// the half-open range [prefix, prefix with '/' replaced by '0').
const (
	prefixBlock   = "d/"
	prefixIndex   = "i/"
	prefixReverse = "r/"
	keySeqLease   = "m/seq"
)

// blockKeyLen is the length of a block key: prefix, seq, block index.
const blockKeyLen = len(prefixBlock) + 8 + 8

// crcLen is the length of the checksum in front of each block value.
const crcLen = 4

// MaxShardIDLen bounds the length of a shard ID.
const MaxShardIDLen = 1024

func validShardID(id string) error {
	if id == "" || len(id) > MaxShardIDLen {
		return fmt.Errorf("node: shard ID must be 1..%d bytes, got %d: %w", MaxShardIDLen, len(id), rpcerr.ErrInvalidArgument)
	}
	return nil
}

// prefixEnd returns the exclusive upper bound of a "x/" key family.
func prefixEnd(prefix string) []byte {
	b := []byte(prefix)
	b[len(b)-1]++
	return b
}

func indexKey(id string) []byte {
	k := make([]byte, 0, len(prefixIndex)+len(id))
	return append(append(k, prefixIndex...), id...)
}

// indexKeyEnd is the smallest key after indexKey(id).
func indexKeyEnd(id string) []byte { return append(indexKey(id), 0) }

func reverseKey(seq uint64) []byte {
	k := make([]byte, 0, len(prefixReverse)+8)
	return binary.BigEndian.AppendUint64(append(k, prefixReverse...), seq)
}

// seqPrefix is the first possible block key of seq; seqPrefix(seq+1) is the
// exclusive end of seq's blocks.
func seqPrefix(seq uint64) []byte {
	k := make([]byte, 0, len(prefixBlock)+8)
	return binary.BigEndian.AppendUint64(append(k, prefixBlock...), seq)
}

// appendBlockKey appends the key of block idx of seq to dst.
func appendBlockKey(dst []byte, seq uint64, idx int64) []byte {
	dst = append(dst, prefixBlock...)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	return binary.BigEndian.AppendUint64(dst, uint64(idx))
}

// parseBlockKey splits a block key into seq and block index.
func parseBlockKey(k []byte) (seq uint64, idx int64, ok bool) {
	if len(k) != blockKeyLen || string(k[:len(prefixBlock)]) != prefixBlock {
		return 0, 0, false
	}
	seq = binary.BigEndian.Uint64(k[len(prefixBlock):])
	idx = int64(binary.BigEndian.Uint64(k[len(prefixBlock)+8:]))
	return seq, idx, true
}

// ShardInfo describes a stored shard.
type ShardInfo struct {
	ID      string
	Blocks  int64
	Bytes   int64
	Created time.Time
	// Digest is the shard digest (erasure.DigestBuilder) of the blocks as
	// they were written; 0 for shards written before digests were kept.
	Digest uint64

	seq uint64
}

// Index record versions, the first byte of every index record. Version 1
// records (written before shard digests) read as digest 0.
const (
	indexV1       = 1
	indexV2       = 2 // version 1 followed by the digest, BE8
	indexVersion  = indexV2
	indexDigestSz = 8
)

var errBadIndex = errors.New("malformed index record")

func encodeIndex(info ShardInfo) []byte {
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64+indexDigestSz)
	b = append(b, indexVersion)
	b = binary.AppendUvarint(b, info.seq)
	b = binary.AppendUvarint(b, uint64(info.Blocks))
	b = binary.AppendUvarint(b, uint64(info.Bytes))
	b = binary.AppendVarint(b, info.Created.UnixNano())
	return binary.BigEndian.AppendUint64(b, info.Digest)
}

func decodeIndex(id string, v []byte) (ShardInfo, error) {
	if len(v) == 0 || (v[0] != indexV1 && v[0] != indexV2) {
		return ShardInfo{}, errBadIndex
	}
	version := v[0]
	v = v[1:]
	var vals [3]uint64
	for i := range vals {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			return ShardInfo{}, errBadIndex
		}
		vals[i], v = x, v[n:]
	}
	created, n := binary.Varint(v)
	if n <= 0 {
		return ShardInfo{}, errBadIndex
	}
	v = v[n:]
	var digest uint64
	if version == indexV2 {
		if len(v) != indexDigestSz {
			return ShardInfo{}, errBadIndex
		}
		digest, v = binary.BigEndian.Uint64(v), v[indexDigestSz:]
	}
	if len(v) != 0 {
		return ShardInfo{}, errBadIndex
	}
	return ShardInfo{
		ID:      id,
		seq:     vals[0],
		Blocks:  int64(vals[1]),
		Bytes:   int64(vals[2]),
		Created: time.Unix(0, created),
		Digest:  digest,
	}, nil
}
