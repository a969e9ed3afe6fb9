package bufpool

import (
	"math/bits"
	"sync"

	"google.golang.org/grpc/mem"
)

const (
	minShift = 8  // 256 B: smaller requests share this tier
	maxShift = 22 // 4 MiB: a shard block with its framing fits well below
	// MaxPooled is the largest buffer a Pool keeps.
	MaxPooled = 1 << maxShift
)

// Pool is a mem.BufferPool of power-of-two tiers that never zeroes.
type Pool struct {
	tiers [maxShift - minShift + 1]sync.Pool
}

var _ mem.BufferPool = (*Pool)(nil)

// New returns an empty pool.
func New() *Pool { return &Pool{} }

// tier returns the index of the smallest tier holding n bytes.
func tier(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minShift
}

// Get returns a buffer of length n, with whatever bytes it held before.
func (p *Pool) Get(n int) *[]byte {
	if n > MaxPooled {
		b := make([]byte, n)
		return &b
	}
	t := tier(n)
	if v, ok := p.tiers[t].Get().(*[]byte); ok {
		*v = (*v)[:n]
		return v
	}
	b := make([]byte, n, 1<<(t+minShift))
	return &b
}

// Put returns buf to its tier; a buffer of another capacity (not made by
// Get, or larger than MaxPooled) is left to the garbage collector.
func (p *Pool) Put(buf *[]byte) {
	c := cap(*buf)
	if c < 1<<minShift || c > MaxPooled || c&(c-1) != 0 {
		return
	}
	p.tiers[tier(c)].Put(buf)
}
