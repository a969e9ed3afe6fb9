package erasure

import (
	"fmt"
	"math"
)

// MaxShards is the largest K+M a Coder or Layout accepts (the limit of
// Reed-Solomon over GF(2^8)).
const MaxShards = 256

// Layout describes how an object of Size bytes is striped with K data and M
// parity shards and blocks of BlockSize bytes. The methods other than
// Validate assume a valid Layout.
type Layout struct {
	K, M      int
	BlockSize int
	Size      int64
}

// StripeSize is the number of object bytes in a full stripe: K*BlockSize.
func (l Layout) StripeSize() int64 { return int64(l.K) * int64(l.BlockSize) }

// Stripes is the number of stripes (and of blocks per shard); 0 for an
// empty object.
func (l Layout) Stripes() int64 {
	if l.Size <= 0 {
		return 0
	}
	ss := l.StripeSize()
	return (l.Size-1)/ss + 1
}

// DataLen is the number of object bytes held by a stripe: StripeSize for
// every stripe but the last, 1..StripeSize for the last, and 0 for a stripe
// index outside [0, Stripes()).
func (l Layout) DataLen(stripe int64) int64 {
	n := l.Stripes()
	if stripe < 0 || stripe >= n {
		return 0
	}
	if stripe < n-1 {
		return l.StripeSize()
	}
	return l.Size - stripe*l.StripeSize()
}

// BlockLen is the length of every block (data and parity) of a stripe:
// BlockSize for full stripes, ceil(DataLen/K) for the last one, and 0 for a
// stripe index outside [0, Stripes()).
func (l Layout) BlockLen(stripe int64) int {
	d := l.DataLen(stripe)
	if d == 0 {
		return 0
	}
	return int((d + int64(l.K) - 1) / int64(l.K))
}

// ShardSize is the number of bytes stored per shard: the sum of BlockLen
// over all stripes. Every shard, data or parity, has the same size.
func (l Layout) ShardSize() int64 {
	n := l.Stripes()
	if n == 0 {
		return 0
	}
	return (n-1)*int64(l.BlockSize) + int64(l.BlockLen(n-1))
}

// Validate reports, wrapped in ErrInvalidLayout, why l cannot describe an
// object: K < 1, M < 0, K+M > MaxShards, BlockSize < 1, a stripe size that
// overflows, or Size < 0.
func (l Layout) Validate() error {
	if err := validateScheme(l.K, l.M, l.BlockSize); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidLayout, err)
	}
	if l.Size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrInvalidLayout, l.Size)
	}
	return nil
}

// validateScheme checks k, m and blockSize, including that a whole stripe
// buffer of (k+m)*blockSize bytes is addressable.
func validateScheme(k, m, blockSize int) error {
	switch {
	case k < 1:
		return fmt.Errorf("data shards %d < 1", k)
	case m < 0:
		return fmt.Errorf("parity shards %d < 0", m)
	case k+m > MaxShards:
		return fmt.Errorf("%d+%d shards > %d", k, m, MaxShards)
	case blockSize < 1:
		return fmt.Errorf("block size %d < 1", blockSize)
	case blockSize > math.MaxInt/(k+m):
		return fmt.Errorf("block size %d too large for %d shards", blockSize, k+m)
	}
	return nil
}
