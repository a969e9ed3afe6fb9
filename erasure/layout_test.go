package erasure

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestLayout_StripesBlockLenAndShardSize(t *testing.T) {
	const k, bs = 4, 8 // stripe of 32 bytes
	cases := []struct {
		size      int64
		stripes   int64
		lastBlock int
		shardSize int64
	}{
		{0, 0, 0, 0},
		{1, 1, 1, 1},
		{4, 1, 1, 1},
		{5, 1, 2, 2},
		{31, 1, 8, 8},
		{32, 1, 8, 8},
		{33, 2, 1, 9},
		{64, 2, 8, 16},
		{3*32 + 13, 4, 4, 3*8 + 4},
	}
	for _, tc := range cases {
		l := Layout{K: k, M: 2, BlockSize: bs, Size: tc.size}
		if err := l.Validate(); err != nil {
			t.Fatalf("size %d: Validate: %v", tc.size, err)
		}
		if got := l.StripeSize(); got != 32 {
			t.Errorf("StripeSize = %d, want 32", got)
		}
		if got := l.Stripes(); got != tc.stripes {
			t.Errorf("size %d: Stripes = %d, want %d", tc.size, got, tc.stripes)
		}
		if tc.stripes > 0 {
			if got := l.BlockLen(tc.stripes - 1); got != tc.lastBlock {
				t.Errorf("size %d: last BlockLen = %d, want %d", tc.size, got, tc.lastBlock)
			}
		}
		if got := l.ShardSize(); got != tc.shardSize {
			t.Errorf("size %d: ShardSize = %d, want %d", tc.size, got, tc.shardSize)
		}
		for _, s := range []int64{-1, tc.stripes} {
			if got := l.BlockLen(s); got != 0 {
				t.Errorf("size %d: BlockLen(%d) = %d, want 0 outside the object", tc.size, s, got)
			}
			if got := l.DataLen(s); got != 0 {
				t.Errorf("size %d: DataLen(%d) = %d, want 0 outside the object", tc.size, s, got)
			}
		}
	}
}

// Property: the stripes partition the object, every stripe but the last is
// full, the last block length is ceil(dataLen/K), and ShardSize sums the
// block lengths.
func TestLayout_StripesPartitionTheObject(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		l := Layout{K: 1 + rng.IntN(20), M: rng.IntN(5), BlockSize: 1 + rng.IntN(100), Size: rng.Int64N(20000)}
		var total, shard int64
		n := l.Stripes()
		for s := range n {
			d := l.DataLen(s)
			bl := l.BlockLen(s)
			if s < n-1 && (d != l.StripeSize() || bl != l.BlockSize) {
				t.Fatalf("%+v: stripe %d of %d is not full (%d bytes, block %d)", l, s, n, d, bl)
			}
			if d < 1 || int64(bl)*int64(l.K) < d || int64(bl-1)*int64(l.K) >= d {
				t.Fatalf("%+v: stripe %d: block %d is not ceil(%d/%d)", l, s, bl, d, l.K)
			}
			total += d
			shard += int64(bl)
		}
		if total != l.Size {
			t.Fatalf("%+v: stripes hold %d bytes", l, total)
		}
		if shard != l.ShardSize() {
			t.Fatalf("%+v: ShardSize %d, blocks sum to %d", l, l.ShardSize(), shard)
		}
	}
}

func TestLayout_ValidateRejectsBadLayouts(t *testing.T) {
	bad := []Layout{
		{K: 0, M: 2, BlockSize: 8},
		{K: 4, M: -1, BlockSize: 8},
		{K: 200, M: 57, BlockSize: 8},
		{K: 4, M: 2, BlockSize: 0},
		{K: 4, M: 2, BlockSize: -8},
		{K: 4, M: 2, BlockSize: math.MaxInt / 2},
		{K: 4, M: 2, BlockSize: 8, Size: -1},
	}
	for _, l := range bad {
		if err := l.Validate(); !errors.Is(err, ErrInvalidLayout) {
			t.Errorf("%+v: Validate = %v, want ErrInvalidLayout", l, err)
		}
	}
	good := []Layout{
		{K: 1, M: 0, BlockSize: 1},
		{K: 200, M: 56, BlockSize: 8, Size: 1 << 40},
	}
	for _, l := range good {
		if err := l.Validate(); err != nil {
			t.Errorf("%+v: Validate = %v", l, err)
		}
	}
}

func TestNew_ValidatesScheme(t *testing.T) {
	for _, s := range [][3]int{{0, 2, 8}, {4, -1, 8}, {250, 7, 8}, {4, 2, 0}, {-1, 0, 1}} {
		if _, err := New(s[0], s[1], s[2]); !errors.Is(err, ErrInvalidLayout) {
			t.Errorf("New%v = %v, want ErrInvalidLayout", s, err)
		}
	}
	c, err := New(4, 2, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if c.K() != 4 || c.M() != 2 || c.BlockSize() != 1024 {
		t.Errorf("accessors = %d, %d, %d", c.K(), c.M(), c.BlockSize())
	}
	if l := c.Layout(99); l != (Layout{K: 4, M: 2, BlockSize: 1024, Size: 99}) {
		t.Errorf("Layout(99) = %+v", l)
	}
	for _, s := range [][3]int{{1, 0, 1}, {16, 16, 1}, {8, 248, 64}} {
		if _, err := New(s[0], s[1], s[2]); err != nil {
			t.Errorf("New%v: %v", s, err)
		}
	}
}

func TestChecksum_IsCRC32C(t *testing.T) {
	// The standard CRC-32C check value.
	if got := Checksum([]byte("123456789")); got != 0xE3069283 {
		t.Errorf("Checksum(123456789) = %#x, want 0xe3069283", got)
	}
	if got := Checksum(nil); got != 0 {
		t.Errorf("Checksum(nil) = %#x, want 0", got)
	}
}
