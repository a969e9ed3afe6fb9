package erasure

import (
	"errors"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// ErrTooFewWriters means Encode stopped because fewer than minOK shard
// writers were still alive. The error also wraps each failed writer's
// first error.
var ErrTooFewWriters = errors.New("erasure: too few shard writers left")

// ErrTooManyFailures means Decode could not get K usable blocks for a
// stripe: more than M shards failed to open or to read. The error also
// wraps each failed shard's error.
var ErrTooManyFailures = errors.New("erasure: too many shard failures to decode")

// ErrRange means a Decode range does not lie within the object.
var ErrRange = errors.New("erasure: range outside the object")

// ErrInvalidLayout means an erasure scheme (K, M, BlockSize) or a Layout is
// unusable, or a Layout does not match the Coder it is given to.
var ErrInvalidLayout = errors.New("erasure: invalid layout")

// ErrInvalidArgument means a call got arguments it cannot work with: the
// wrong number of writers, a nil writer, reader, writer function or
// destination, or minOK outside [K, K+M].
var ErrInvalidArgument = errors.New("erasure: invalid argument")

// Checksum is the per-block checksum used everywhere in Cairn: CRC-32C
// (Castagnoli).
func Checksum(b []byte) uint32 {
	// MakeTable returns the standard library's shared, lazily built table
	// for Castagnoli; it does not build a new one per call.
	return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
}

// Coder encodes and decodes objects for one scheme (K data shards, M parity
// shards, BlockSize). It is immutable after New and safe for concurrent use
// by many requests; it keeps a pool of stripe buffers that they share.
type Coder struct {
	k, m, blockSize int
	rs              reedsolomon.Encoder
	stripes         sync.Pool // of *stripe
}

// New returns a Coder for k data shards, m parity shards and blocks of
// blockSize bytes. It fails with ErrInvalidLayout unless k >= 1, m >= 0,
// k+m <= MaxShards and blockSize > 0.
func New(k, m, blockSize int) (*Coder, error) {
	if err := validateScheme(k, m, blockSize); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidLayout, err)
	}
	// The goroutine tuning only affects speed, never the bytes produced.
	rs, err := reedsolomon.New(k, m, reedsolomon.WithAutoGoroutines(blockSize))
	if err != nil {
		return nil, fmt.Errorf("%w: reedsolomon %d+%d: %w", ErrInvalidLayout, k, m, err)
	}
	c := &Coder{k: k, m: m, blockSize: blockSize, rs: rs}
	c.stripes.New = func() any { return newStripe(k+m, blockSize) }
	return c, nil
}

// K is the number of data shards.
func (c *Coder) K() int { return c.k }

// M is the number of parity shards.
func (c *Coder) M() int { return c.m }

// BlockSize is the block length of a full stripe.
func (c *Coder) BlockSize() int { return c.blockSize }

// Layout returns the Layout of an object of size bytes under c's scheme.
func (c *Coder) Layout(size int64) Layout {
	return Layout{K: c.k, M: c.m, BlockSize: c.blockSize, Size: size}
}

// checkLayout validates l and checks that it uses c's scheme.
func (c *Coder) checkLayout(l Layout) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if l.K != c.k || l.M != c.m || l.BlockSize != c.blockSize {
		return fmt.Errorf("%w: layout %d+%d/%d given to a %d+%d/%d coder",
			ErrInvalidLayout, l.K, l.M, l.BlockSize, c.k, c.m, c.blockSize)
	}
	return nil
}

// stripe is one reusable stripe buffer: K+M blocks of BlockSize bytes in
// one allocation. blocks[j] has capacity exactly BlockSize, so a block can
// never spill into its neighbour.
type stripe struct {
	mem    []byte
	blocks [][]byte
	view   [][]byte // scratch shard list handed to reedsolomon
	// lent[j] is block j as a BlockLender handed it over, used where it
	// lies instead of copied into blocks[j]; release[j] gives it back.
	lent    [][]byte
	release []func()
	// pending counts Encode's writer jobs that still use the buffer.
	pending sync.WaitGroup
}

func newStripe(shards, blockSize int) *stripe {
	s := &stripe{
		mem:     make([]byte, shards*blockSize),
		blocks:  make([][]byte, shards),
		view:    make([][]byte, shards),
		lent:    make([][]byte, shards),
		release: make([]func(), shards),
	}
	for j := range s.blocks {
		lo, hi := j*blockSize, (j+1)*blockSize
		s.blocks[j] = s.mem[lo:hi:hi]
	}
	return s
}

func (c *Coder) getStripe() *stripe { return c.stripes.Get().(*stripe) }

func (c *Coder) putStripe(s *stripe) {
	s.giveBack()
	clear(s.view)
	c.stripes.Put(s)
}

// giveBack releases every block the stripe borrowed.
func (s *stripe) giveBack() {
	for j, r := range s.release {
		if r != nil {
			r()
		}
		s.release[j], s.lent[j] = nil, nil
	}
}
