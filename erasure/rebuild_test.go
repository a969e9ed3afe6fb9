package erasure

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
)

// Every shard, data or parity, rebuilt from the others equals the shard
// Encode wrote, also with up to M-1 other shards lost as well.
// Readers that lend their blocks (BlockLender) give the same shards, and
// every lent block is given back.
func TestRebuild_EveryShardRebuildsExactlyFromTheOthers(t *testing.T) {
	for _, lend := range []bool{false, true} {
		rebuildEveryShard(t, lend)
	}
}

func rebuildEveryShard(t *testing.T, lend bool) {
	rng := rand.New(rand.NewPCG(7, 8))
	c := mustCoder(t, 4, 2, 1000)
	for _, size := range []int{1, 999, 4000, 4001, 12345} {
		data := randBytes(rng, size)
		st, _ := encodeToStore(t, c, data)
		st.lend = lend
		for target := range 6 {
			var want []byte
			for _, b := range st.blocks[target] {
				want = append(want, b...)
			}
			blocks, n := int64(len(st.blocks[target])), st.shardBytes(target)
			l, err := c.LayoutOfShard(blocks, n)
			if err != nil {
				t.Fatal(err)
			}
			other := (target + 1) % 6
			st.lose(other)
			var got []byte
			for b, err := range c.Rebuild(context.Background(), l, st.Open, target) {
				if err != nil {
					t.Fatalf("size %d shard %d: %v", size, target, err)
				}
				got = append(got, b...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("lend %v, size %d: shard %d rebuilt wrong (%d bytes, want %d)", lend, size, target, len(got), len(want))
			}
			st.checkClean(t)
			st, _ = encodeToStore(t, c, data)
			st.lend = lend
		}
	}
}
