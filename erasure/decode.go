package erasure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// BlockReader yields one shard's blocks in order, starting at the block it
// was opened at. ReadBlock must return an error, never wrong bytes, when a
// block is missing or fails its checksum. The returned slice only needs to
// stay valid until the next ReadBlock or Close call: Decode copies it.
type BlockReader interface {
	ReadBlock(ctx context.Context) ([]byte, error)
	Close() error
}

// BlockLender is a BlockReader that can also hand a block over for longer:
// the slice LendBlock returns stays valid, and its bytes unchanged, until
// release is called, whatever is read meanwhile. Decode uses such blocks
// where they lie instead of copying them, and releases each once its
// stripe is written out, or on failure. release is called exactly once,
// from any goroutine; after an error there is nothing to release.
type BlockLender interface {
	BlockReader
	LendBlock(ctx context.Context) (b []byte, release func(), err error)
}

// OpenFunc opens shard (0..K+M-1) for reading from block firstBlock on. It
// returns a non-nil BlockReader or an error.
type OpenFunc func(ctx context.Context, shard int, firstBlock int64) (BlockReader, error)

// errBlockLength marks a block whose length does not match the layout.
var errBlockLength = errors.New("wrong block length")

// Decode writes bytes [off, off+n) of the object described by l to w. l
// must be valid and use c's scheme (else ErrInvalidLayout), and the range
// must lie within the object (else ErrRange); n == 0 writes nothing and
// opens nothing.
//
// Only the stripes the range touches are read. Data shards 0..K-1 are
// opened at the range's first stripe and read in parallel, one block per
// stripe each; on this happy path nothing is decoded. A shard that fails
// (its open or a read errors, or a block has the wrong length) is closed and
// not used again in this call; the next unused shard, parity first and in
// index order, is opened at the current stripe, and stripes are rebuilt
// with Reed-Solomon from whichever K shards are in use. With fewer than K
// usable shards Decode fails with an error wrapping ErrTooManyFailures and
// every shard error.
//
// Bytes reach w stripe by stripe, while the next stripe is being read; at
// most two stripe buffers are in use. A write error aborts. Decode returns
// only after every reader it opened is closed (Close errors are ignored:
// the bytes were already checked by then).
func (c *Coder) Decode(ctx context.Context, w io.Writer, l Layout, open OpenFunc, off, n int64) error {
	return c.DecodeWith(ctx, w, l, open, ReadOptions{}, off, n)
}

// ReadOptions tell Decode (through DecodeWith) what the caller knows of
// the shards' sources. The zero value is Decode's behaviour.
type ReadOptions struct {
	// Doubtful lists shards likely to fail, such as those on nodes
	// believed down. They are read only when the others are too few, and
	// last of all: K shards outside Doubtful are read at once (data shards
	// first, then parity), so a stripe may be rebuilt even where every
	// shard would have answered. That costs a little CPU where a doomed
	// attempt would cost a timeout.
	Doubtful []int
	// Stall, when positive, bounds the wait on a shard that does not
	// answer: once a stripe's reads have run this long, each shard still
	// unanswered is given up (its reader's context is cancelled, and it is
	// not used again) for as long as an unused shard is left to replace
	// it. A stalled source (a stopped process, a dead link) then costs one
	// Stall and a rebuilt stripe instead of the whole read. With no shard
	// left to replace it, a slow shard is waited for.
	Stall time.Duration
}

// DecodeWith is Decode with what the caller knows of the shards' sources
// (ReadOptions).
func (c *Coder) DecodeWith(ctx context.Context, w io.Writer, l Layout, open OpenFunc, opt ReadOptions, off, n int64) error {
	if err := c.checkLayout(l); err != nil {
		return err
	}
	if off < 0 || n < 0 || off > l.Size || n > l.Size-off {
		return fmt.Errorf("%w: [%d, +%d) of a %d-byte object", ErrRange, off, n, l.Size)
	}
	if n == 0 {
		return nil
	}
	if w == nil || open == nil {
		return fmt.Errorf("%w: nil writer or open function", ErrInvalidArgument)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("erasure: decode: %w", err)
	}

	ss := l.StripeSize()
	first, last := off/ss, (off+n-1)/ss
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	nbuf := int(min(2, last-first+1))
	bufs := make([]*stripe, nbuf)
	free := make(chan *stripe, nbuf)
	for i := range bufs {
		bufs[i] = c.getStripe()
		free <- bufs[i]
	}
	defer func() {
		for _, b := range bufs {
			c.putStripe(b)
		}
	}()

	type fetched struct {
		stripe int64
		buf    *stripe
		err    error
	}
	ready := make(chan fetched)
	f := c.newFetcher(l, open, opt)
	go func() {
		defer close(ready)
		defer f.closeAll()
		for s := first; s <= last; s++ {
			var buf *stripe
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			err := f.fetch(ctx, s, buf)
			select {
			case ready <- fetched{stripe: s, buf: buf, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	var err error
	done := first
	for r := range ready {
		if r.err != nil {
			err = r.err
			break
		}
		if werr := writeRange(w, l, r.buf, r.stripe, off, off+n); werr != nil {
			err = fmt.Errorf("erasure: decode: write: %w", werr)
			break
		}
		done++
		r.buf.giveBack()
		free <- r.buf
	}
	cancel()
	for range ready { // wait for the fetcher to close its readers and exit
	}
	if err == nil && done <= last {
		// The fetcher gave up without an error of its own: ctx ended.
		err = fmt.Errorf("erasure: decode: %w", context.Cause(parent))
	}
	return err
}

// writeRange writes the part of stripe s (held in buf) that lies within
// [lo, hi) of the object to w, block by block.
func writeRange(w io.Writer, l Layout, buf *stripe, s, lo, hi int64) error {
	start := s * l.StripeSize()
	end := start + l.DataLen(s)
	blockLen := int64(l.BlockLen(s))
	for j := range l.K {
		bStart := start + int64(j)*blockLen
		a, b := max(bStart, lo), min(bStart+blockLen, hi, end)
		if a >= b {
			continue
		}
		p := buf.view[j][a-bStart : b-bStart]
		m, err := w.Write(p)
		if err != nil {
			return err
		}
		if m != len(p) {
			return io.ErrShortWrite
		}
	}
	return nil
}

// shardState is where a shard stands in one Decode call.
type shardState uint8

const (
	shardUnused shardState = iota // not opened yet
	shardActive                   // one of the K shards being read
	shardFailed                   // closed after a failure, never used again
)

// fetcher reads stripes for one Decode call. Only the fetch goroutine uses
// it; within fetch, the per-shard goroutines touch only their own shard's
// entries.
type fetcher struct {
	c       *Coder
	l       Layout
	open    OpenFunc
	stall   time.Duration
	state   []shardState
	readers []BlockReader
	// ctxs[j] is the context shard j is opened and read under, and
	// cancels[j] gives it up; both are set before its reader is opened.
	ctxs    []context.Context
	cancels []context.CancelCauseFunc
	errs    []error // per shard: why it failed
	order   []int   // replacement order of the shards not active at first
}

// newFetcher starts with K shards active (opened lazily by the first
// fetch): the data shards, unless some are doubtful, and then parity. The
// rest wait in order, doubtful shards last.
func (c *Coder) newFetcher(l Layout, open OpenFunc, opt ReadOptions) *fetcher {
	shards := c.k + c.m
	f := &fetcher{
		c:       c,
		l:       l,
		open:    open,
		stall:   opt.Stall,
		state:   make([]shardState, shards),
		readers: make([]BlockReader, shards),
		ctxs:    make([]context.Context, shards),
		cancels: make([]context.CancelCauseFunc, shards),
		errs:    make([]error, shards),
		order:   make([]int, 0, shards),
	}
	for _, wantDoubtful := range []bool{false, true} {
		for j := range shards {
			if slices.Contains(opt.Doubtful, j) == wantDoubtful {
				f.order = append(f.order, j)
			}
		}
	}
	for _, j := range f.order[:c.k] {
		f.state[j] = shardActive
	}
	f.order = f.order[c.k:]
	return f
}

// fetch fills buf with the K data blocks of stripe s, reading the active
// shards in parallel, replacing failed ones and reconstructing as needed.
func (f *fetcher) fetch(ctx context.Context, s int64, buf *stripe) error {
	k := f.c.k
	blockLen := f.l.BlockLen(s)
	todo := make([]int, 0, k)
	for j, st := range f.state {
		if st == shardActive {
			todo = append(todo, j)
		}
	}
	for {
		f.readAll(ctx, s, blockLen, buf, todo)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("erasure: decode: %w", err)
		}
		active := 0
		for _, st := range f.state {
			if st == shardActive {
				active++
			}
		}
		if active == k {
			break
		}
		todo = todo[:0]
		for _, j := range f.order {
			if active+len(todo) == k {
				break
			}
			if f.state[j] == shardUnused {
				f.state[j] = shardActive
				todo = append(todo, j)
			}
		}
		if len(todo) == 0 {
			return fmt.Errorf("%w: stripe %d: %d of %d shards usable, need %d: %w",
				ErrTooManyFailures, s, active, len(f.state), k, errors.Join(f.errs...))
		}
	}

	view := buf.view
	rebuild := false
	for j, st := range f.state {
		switch {
		case st == shardActive && buf.lent[j] != nil:
			view[j] = buf.lent[j]
		case st == shardActive:
			view[j] = buf.blocks[j][:blockLen]
		default:
			view[j] = buf.blocks[j][:0] // reconstructed in place
			rebuild = rebuild || j < k
		}
	}
	if rebuild {
		if err := f.c.rs.ReconstructData(view); err != nil {
			return fmt.Errorf("%w: stripe %d: reedsolomon: %w", ErrTooManyFailures, s, err)
		}
	}
	return nil
}

// readAll reads block s of every shard in todo into buf, opening shards
// that have no reader yet at block s, in parallel. A shard that fails is
// closed and marked failed, unless ctx has ended (then the failure is the
// caller's, not the shard's, and the caller stops anyway). With a stall
// limit, shards still reading after it are given up while unused shards
// can replace them (ReadOptions.Stall).
func (f *fetcher) readAll(ctx context.Context, s int64, blockLen int, buf *stripe, todo []int) {
	for _, j := range todo {
		if f.ctxs[j] == nil {
			f.ctxs[j], f.cancels[j] = context.WithCancelCause(ctx)
		}
	}
	if len(todo) == 1 && f.stall <= 0 {
		f.readOne(ctx, s, blockLen, buf, todo[0])
		return
	}
	spare := 0
	for j, st := range f.state {
		if st == shardUnused && !slices.Contains(todo, j) {
			spare++
		}
	}
	// Each reader reports its shard when done; only this goroutine reads
	// the reports, and a shard's state only after its report.
	answered := make(chan int, len(todo))
	for _, j := range todo {
		go func() {
			f.readOne(ctx, s, blockLen, buf, j)
			answered <- j
		}()
	}
	var stalled <-chan time.Time
	if f.stall > 0 && spare > 0 {
		timer := time.NewTimer(f.stall)
		defer timer.Stop()
		stalled = timer.C
	}
	done := make([]bool, len(f.state))
	for left := len(todo); left > 0; {
		select {
		case j := <-answered:
			done[j] = true
			left--
		case <-stalled:
			stalled = nil
			// Shards that already failed need a spare first.
			for _, j := range todo {
				if done[j] && f.state[j] == shardFailed {
					spare--
				}
			}
			for _, j := range todo {
				if spare > 0 && !done[j] {
					f.cancels[j](ErrStalled)
					spare--
				}
			}
		}
	}
}

// readOne reads block s of shard j under the shard's own context; a
// failure that is not the caller's (ctx) marks the shard failed, with
// ErrStalled as the reason when it was given up for stalling.
func (f *fetcher) readOne(ctx context.Context, s int64, blockLen int, buf *stripe, j int) {
	err := f.readBlock(f.ctxs[j], s, blockLen, buf, j)
	if err == nil || ctx.Err() != nil {
		return
	}
	if cause := context.Cause(f.ctxs[j]); errors.Is(cause, ErrStalled) {
		err = cause
	}
	f.state[j] = shardFailed
	f.errs[j] = fmt.Errorf("shard %d block %d: %w", j, s, err)
	f.closeShard(j)
}

// closeShard closes shard j's reader, if open, and ends its context.
func (f *fetcher) closeShard(j int) {
	if r := f.readers[j]; r != nil {
		_ = r.Close() // a failed shard's Close error adds nothing, nor one whose bytes were checked
		f.readers[j] = nil
	}
	if f.cancels[j] != nil {
		f.cancels[j](nil)
	}
}

// readBlock reads block s of shard j into buf, under shard j's context:
// borrowed when the reader lends blocks, else copied into buf.blocks[j].
func (f *fetcher) readBlock(ctx context.Context, s int64, blockLen int, buf *stripe, j int) error {
	if f.readers[j] == nil {
		r, err := f.open(ctx, j, s)
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		if r == nil {
			return errors.New("open returned no reader")
		}
		f.readers[j] = r
	}
	if l, ok := f.readers[j].(BlockLender); ok {
		b, release, err := l.LendBlock(ctx)
		if err != nil {
			return err
		}
		if len(b) != blockLen {
			release()
			return fmt.Errorf("%w: %d bytes, want %d", errBlockLength, len(b), blockLen)
		}
		buf.lent[j], buf.release[j] = b, release
		return nil
	}
	b, err := f.readers[j].ReadBlock(ctx)
	if err != nil {
		return err
	}
	if len(b) != blockLen {
		return fmt.Errorf("%w: %d bytes, want %d", errBlockLength, len(b), blockLen)
	}
	copy(buf.blocks[j], b)
	return nil
}

// closeAll closes every reader still open.
func (f *fetcher) closeAll() {
	for j := range f.readers {
		f.closeShard(j)
	}
}
