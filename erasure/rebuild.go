package erasure

import (
	"context"
	"fmt"
	"iter"
)

// Rebuild yields the blocks of shard target (0..K+M-1) of the object
// described by l, in order, made from the other shards opened through
// open: for each stripe it reads K of them (data shards first, replacing
// failed ones as Decode does), reconstructs the data blocks and, for a
// parity target, encodes the parity. The target itself is never opened.
// One stripe buffer is used whatever the object size; a yielded block is
// valid until the next one is asked for. With fewer than K usable shards
// the sequence ends with an error wrapping ErrTooManyFailures. Every reader
// opened is closed before the sequence ends.
func (c *Coder) Rebuild(ctx context.Context, l Layout, open OpenFunc, target int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		if err := c.checkLayout(l); err != nil {
			yield(nil, err)
			return
		}
		if target < 0 || target >= c.k+c.m || open == nil {
			yield(nil, fmt.Errorf("%w: rebuild shard %d of %d+%d", ErrInvalidArgument, target, c.k, c.m))
			return
		}
		f := c.newFetcher(l, open, ReadOptions{Doubtful: []int{target}})
		defer f.closeAll()
		f.state[target] = shardFailed
		f.errs[target] = fmt.Errorf("shard %d: being rebuilt", target)
		buf := c.getStripe()
		defer c.putStripe(buf)
		for s := range l.Stripes() {
			if err := f.fetch(ctx, s, buf); err != nil {
				yield(nil, err)
				return
			}
			blockLen := l.BlockLen(s)
			if target >= c.k {
				// The data blocks stay where fetch left them (lent or in
				// the stripe); parity is encoded into the stripe.
				view := buf.view
				for j := c.k; j < len(view); j++ {
					view[j] = buf.blocks[j][:blockLen]
				}
				if err := c.rs.Encode(view); err != nil {
					yield(nil, fmt.Errorf("erasure: rebuild stripe %d: reedsolomon: %w", s, err))
					return
				}
			}
			if !yield(buf.view[target][:blockLen], nil) {
				return
			}
			buf.giveBack()
		}
	}
}

// LayoutOfShard returns a Layout under c's scheme whose shards have the
// given number of blocks and bytes, as a stored shard reports them. Its
// Size is not the object's (the padding of the last stripe is unknown) but
// every stripe's block length matches, which is all Rebuild needs.
func (c *Coder) LayoutOfShard(blocks, bytes int64) (Layout, error) {
	l := Layout{K: c.k, M: c.m, BlockSize: c.blockSize}
	if blocks == 0 {
		if bytes != 0 {
			return l, fmt.Errorf("%w: 0 blocks holding %d bytes", ErrInvalidLayout, bytes)
		}
		return l, nil
	}
	last := bytes - (blocks-1)*int64(c.blockSize)
	if blocks < 0 || last < 1 || last > int64(c.blockSize) {
		return l, fmt.Errorf("%w: %d blocks holding %d bytes with %d-byte blocks", ErrInvalidLayout, blocks, bytes, c.blockSize)
	}
	l.Size = (blocks-1)*l.StripeSize() + last*int64(c.k)
	return l, nil
}
