package erasure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// BlockWriter receives one shard's blocks, in index order. WriteBlock must
// not retain block after it returns, and should return promptly once ctx is
// done.
type BlockWriter interface {
	WriteBlock(ctx context.Context, index int64, block []byte) error
}

// EncodeResult is what Encode did.
type EncodeResult struct {
	// Size is the number of bytes read from the source.
	Size int64
	// Failed has one entry per shard: nil if every block was handed to that
	// shard's writer successfully, else the first error the writer returned
	// (after which it was not called again).
	Failed []error
}

// maxEmptyReads is how many (0, nil) results in a row Encode accepts from a
// reader before giving up with io.ErrNoProgress.
const maxEmptyReads = 100

// encodeJob is one block handed to one shard's writer goroutine.
type encodeJob struct {
	index int64
	block []byte
	buf   *stripe // buf.pending is released when the job is finished
}

// Encode reads r to EOF, cuts it into stripes (see the package doc), and
// hands block j of every stripe to writers[j]; len(writers) must be K+M and
// minOK must lie in [K, K+M].
//
// Each shard's writer runs in its own goroutine, so different shards are
// written concurrently while each shard sees its blocks in order. Reading
// and encoding stripe s+1 overlaps with writing stripe s; nothing else is
// buffered, so memory use is two stripe buffers whatever the object size.
//
// A writer that returns an error is dropped: it is never called again for
// this object, and its error is reported in EncodeResult.Failed. Encode goes
// on while at least minOK writers are alive and fails with an error wrapping
// ErrTooFewWriters and the writers' errors as soon as fewer remain, and also
// if fewer remain after the last block. A read error from r fails Encode with
// the error wrapped; so does the end of ctx. On failure the writers' context
// is cancelled, and the result still says how far Encode got.
//
// Encode returns only after every WriteBlock call it made has returned. It
// checks ctx between reads from r but cannot interrupt a Read that blocks.
func (c *Coder) Encode(ctx context.Context, r io.Reader, writers []BlockWriter, minOK int) (EncodeResult, error) {
	return c.EncodeWith(ctx, r, writers, minOK, WriteOptions{})
}

// WriteOptions tune how Encode (through EncodeWith) treats its writers.
// The zero value is Encode's behaviour.
type WriteOptions struct {
	// Stall, when positive, bounds the wait on a writer that does not
	// return: when a stripe buffer is needed again and some writer has
	// spent this long on one of its blocks, that writer's context is
	// cancelled with a cause wrapping ErrStalled and it is dropped like a
	// failed one, for as long as more than minOK writers are alive. A
	// stalled destination (a stopped process, a dead link) then costs one
	// Stall instead of the whole write. With minOK writers left, a slow one
	// is waited for. WriteBlock must return promptly once its context ends.
	Stall time.Duration
}

// ErrStalled is the cause a writer's or reader's context is cancelled
// with when it was given up for not answering within a stall limit
// (WriteOptions.Stall, ReadOptions.Stall).
var ErrStalled = errors.New("erasure: no answer within the stall limit")

// EncodeWith is Encode with WriteOptions.
func (c *Coder) EncodeWith(ctx context.Context, r io.Reader, writers []BlockWriter, minOK int, opt WriteOptions) (EncodeResult, error) {
	shards := c.k + c.m
	res := EncodeResult{Failed: make([]error, shards)}
	if len(writers) != shards {
		return res, fmt.Errorf("%w: %d writers for %d shards", ErrInvalidArgument, len(writers), shards)
	}
	for j, w := range writers {
		if w == nil {
			return res, fmt.Errorf("%w: writer %d is nil", ErrInvalidArgument, j)
		}
	}
	if minOK < c.k || minOK > shards {
		return res, fmt.Errorf("%w: minOK %d outside [%d, %d]", ErrInvalidArgument, minOK, c.k, shards)
	}
	if r == nil {
		return res, fmt.Errorf("%w: nil reader", ErrInvalidArgument)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("erasure: encode: %w", err)
	}

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// One goroutine per shard. failed[j] is written only by goroutine j and
	// read only after all goroutines have exited.
	failed := make([]error, shards)
	dead := make([]atomic.Bool, shards)
	var alive atomic.Int64
	alive.Store(int64(shards))
	queues := make([]chan encodeJob, shards)
	// Each writer works under a context of its own, so that one that
	// stalls can be given up alone; busySince[j] is when writer j began
	// its current block (unix nanoseconds), 0 while it waits for one.
	wctxs := make([]context.Context, shards)
	wcancels := make([]context.CancelCauseFunc, shards)
	busySince := make([]atomic.Int64, shards)
	for j := range shards {
		wctxs[j], wcancels[j] = context.WithCancelCause(ctx)
		defer wcancels[j](nil)
	}
	var workers sync.WaitGroup
	for j := range shards {
		// At most two jobs (one per stripe buffer) are ever queued for a
		// shard, so sends never block.
		q := make(chan encodeJob, 2)
		queues[j] = q
		workers.Go(func() {
			for job := range q {
				if failed[j] == nil && ctx.Err() == nil {
					busySince[j].Store(time.Now().UnixNano())
					err := writers[j].WriteBlock(wctxs[j], job.index, job.block)
					busySince[j].Store(0)
					if err != nil {
						if cause := context.Cause(wctxs[j]); errors.Is(cause, ErrStalled) && ctx.Err() == nil {
							err = fmt.Errorf("%w: %w", cause, err)
						}
						failed[j] = err
						dead[j].Store(true)
						if alive.Add(-1) < int64(minOK) {
							cancel()
						}
					}
				}
				job.buf.pending.Done()
			}
		})
	}
	// waitWritten waits until buf's blocks are all written, giving up on
	// stalled writers as WriteOptions.Stall says. Only this goroutine
	// calls it; givenUp is its own.
	givenUp := make([]bool, shards)
	waitWritten := func(buf *stripe) {
		if opt.Stall <= 0 {
			buf.pending.Wait()
			return
		}
		done := make(chan struct{})
		go func() {
			buf.pending.Wait()
			close(done)
		}()
		tick := time.NewTicker(opt.Stall / 4)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			// Writers given up on but not yet returned still count as
			// alive; they must not be counted on.
			left := alive.Load()
			for j := range shards {
				if givenUp[j] && !dead[j].Load() {
					left--
				}
			}
			now := time.Now().UnixNano()
			for j := range shards {
				since := busySince[j].Load()
				if left <= int64(minOK) || givenUp[j] || since == 0 || now-since < int64(opt.Stall) {
					continue
				}
				givenUp[j] = true
				left--
				wcancels[j](fmt.Errorf("%w: writer %d busy with one block for %s", ErrStalled, j, time.Duration(now-since).Round(time.Millisecond)))
			}
		}
	}

	bufs := [2]*stripe{c.getStripe(), c.getStripe()}
	stripeSize := c.k * c.blockSize
	var readErr error
	for s := int64(0); ; s++ {
		buf := bufs[s&1]
		waitWritten(buf) // stripe s-2 is fully written
		if ctx.Err() != nil {
			break
		}
		got, err := readStripe(ctx, r, buf.mem[:stripeSize])
		res.Size += int64(got)
		if err != nil && !errors.Is(err, io.EOF) {
			if ctx.Err() == nil {
				readErr = err
			}
			break
		}
		if got > 0 {
			blockLen := c.blockSize
			if got < stripeSize {
				blockLen = buf.spreadTail(c.k, got)
			}
			view := buf.view
			for j := range view {
				view[j] = buf.blocks[j][:blockLen]
			}
			if c.m > 0 {
				if err := c.rs.Encode(view); err != nil {
					// Only possible on a programming error: the view is
					// always K+M equal, non-empty blocks.
					readErr = fmt.Errorf("reedsolomon: %w", err)
					break
				}
			}
			for j, q := range queues {
				if dead[j].Load() {
					continue
				}
				buf.pending.Add(1)
				q <- encodeJob{index: s, block: view[j], buf: buf}
			}
		}
		if err != nil { // io.EOF: the stripe just sent, if any, was the last
			break
		}
	}

	for _, q := range queues {
		close(q)
	}
	for _, b := range bufs {
		waitWritten(b)
	}
	workers.Wait()
	for _, b := range bufs {
		c.putStripe(b)
	}
	copy(res.Failed, failed)

	if err := parent.Err(); err != nil {
		return res, fmt.Errorf("erasure: encode: %w", context.Cause(parent))
	}
	if n := int(alive.Load()); n < minOK {
		return res, fmt.Errorf("%w: %d of %d alive, need %d: %w",
			ErrTooFewWriters, n, shards, minOK, errors.Join(failed...))
	}
	if readErr != nil {
		return res, fmt.Errorf("erasure: encode: read at byte %d: %w", res.Size, readErr)
	}
	return res, nil
}

// readStripe fills p from r. It returns a nil error when p is full, io.EOF
// when r ended first (possibly with a partial p), and otherwise the read
// error or ctx's error. Unlike io.ReadFull it checks ctx between reads.
func readStripe(ctx context.Context, r io.Reader, p []byte) (int, error) {
	n, empty := 0, 0
	for n < len(p) {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := r.Read(p[n:])
		if m < 0 || m > len(p)-n {
			return n, fmt.Errorf("reader returned count %d for a %d-byte buffer", m, len(p)-n)
		}
		n += m
		if err != nil {
			if errors.Is(err, io.EOF) && n == len(p) {
				return n, nil // the next read reports EOF again
			}
			return n, err
		}
		if m == 0 {
			if empty++; empty >= maxEmptyReads {
				return n, io.ErrNoProgress
			}
		} else {
			empty = 0
		}
	}
	return n, nil
}

// spreadTail turns the last stripe's dataLen bytes, read contiguously into
// the front of s.mem, into K zero-padded blocks of ceil(dataLen/K) bytes
// placed at the start of s.blocks[0..K-1], and returns that block length.
//
// Blocks are moved from the last one down: block j's destination starts at
// j*BlockSize, at or after the end of every source block i < j (which ends
// at most at (i+1)*blockLen <= j*BlockSize), so no source is overwritten
// before it is moved, and copy handles block j's own overlap.
func (s *stripe) spreadTail(k, dataLen int) int {
	blockLen := (dataLen + k - 1) / k
	for j := k - 1; j >= 0; j-- {
		src := j * blockLen
		valid := min(max(dataLen-src, 0), blockLen)
		dst := s.blocks[j][:blockLen]
		if j > 0 && valid > 0 {
			copy(dst, s.mem[src:src+valid])
		}
		clear(dst[valid:])
	}
	return blockLen
}
