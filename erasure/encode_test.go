package erasure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestEncode_WriterFailuresWithinToleranceSucceedAndAreReported(t *testing.T) {
	const k, m, bs = 4, 2, 16
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(1, 1)), 6*k*bs+5) // 7 stripes
	st := newMemStore(k + m)
	st.writeErrAt[1] = 0 // fails on its first block
	st.writeErrAt[5] = 3 // fails mid-stream
	res, err := c.Encode(context.Background(), bytes.NewReader(data), st.writers(), k)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if res.Size != int64(len(data)) {
		t.Errorf("Size = %d, want %d", res.Size, len(data))
	}
	for j, e := range res.Failed {
		failing := j == 1 || j == 5
		if failing != errors.Is(e, errInjectedWrite) || (!failing && e != nil) {
			t.Errorf("Failed[%d] = %v", j, e)
		}
	}
	// A dropped writer is never called again.
	if st.writeCalls[1] != 1 || st.writeCalls[5] != 4 {
		t.Errorf("failed writers called %d and %d times, want 1 and 4", st.writeCalls[1], st.writeCalls[5])
	}
	for _, j := range []int{0, 2, 3, 4} {
		if st.writeCalls[j] != 7 {
			t.Errorf("writer %d called %d times, want 7", j, st.writeCalls[j])
		}
	}
	// What was written is enough to read the object back.
	got, err := decodeRange(c, st, c.Layout(res.Size), 0, res.Size)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Decode after degraded Encode: %v (equal=%v)", err, bytes.Equal(got, data))
	}
}

// With a stall limit, a writer that stops returning is given up (its
// failure wraps ErrStalled) while more than minOK writers are alive; the
// object reads back from the rest. With minOK writers left, a stalled one
// is waited for, here until the context's deadline.
func TestEncodeWith_StalledWritersAreGivenUpAboveMinOK(t *testing.T) {
	const k, m, bs = 4, 2, 16
	const stall = 40 * time.Millisecond
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(2, 2)), 6*k*bs+5) // 7 stripes

	st := newMemStore(k + m)
	st.stallWrite[2] = 3
	res, err := c.EncodeWith(context.Background(), bytes.NewReader(data), st.writers(), k+1, WriteOptions{Stall: stall})
	if err != nil {
		t.Fatalf("EncodeWith with one writer stalled: %v", err)
	}
	for j, e := range res.Failed {
		if (j == 2) != errors.Is(e, ErrStalled) || (j != 2 && e != nil) {
			t.Errorf("Failed[%d] = %v", j, e)
		}
	}
	got, err := decodeRange(c, st, c.Layout(res.Size), 0, res.Size)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Decode after a stalled writer: %v (equal=%v)", err, bytes.Equal(got, data))
	}

	// The last stripe's writes are covered too.
	st = newMemStore(k + m)
	st.stallWrite[0] = 6
	if res, err := c.EncodeWith(context.Background(), bytes.NewReader(data), st.writers(), k+1, WriteOptions{Stall: stall}); err != nil || !errors.Is(res.Failed[0], ErrStalled) {
		t.Fatalf("EncodeWith with a writer stalled on the last stripe: %v, Failed[0] = %v", err, res.Failed[0])
	}

	st = newMemStore(k + m)
	st.stallWrite[1], st.stallWrite[4] = 2, 2
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.EncodeWith(ctx, bytes.NewReader(data), st.writers(), k+1, WriteOptions{Stall: stall})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTooFewWriters) {
		t.Fatalf("EncodeWith with two writers stalled and minOK %d: %v, want the context's deadline", k+1, err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("returned after %s, before the deadline", d)
	}
}

func TestEncode_MoreWriterFailuresThanToleratedFail(t *testing.T) {
	const k, m, bs = 4, 2, 16
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(2, 2)), 5*k*bs)
	cases := []struct {
		name  string
		minOK int
		fail  map[int]int64
	}{
		{"three of 4+2 with minOK 4", k, map[int]int64{0: 1, 2: 0, 4: 3}},
		{"two of 4+2 with minOK 5", k + 1, map[int]int64{3: 2, 5: 2}},
		{"one of 4+2 with minOK 6 at the last block", k + m, map[int]int64{2: 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore(k + m)
			for j, at := range tc.fail {
				st.writeErrAt[j] = at
			}
			res, err := c.Encode(context.Background(), bytes.NewReader(data), st.writers(), tc.minOK)
			if !errors.Is(err, ErrTooFewWriters) || !errors.Is(err, errInjectedWrite) {
				t.Fatalf("Encode = %v, want ErrTooFewWriters wrapping the writer errors", err)
			}
			for j, e := range res.Failed {
				if _, failing := tc.fail[j]; failing != (e != nil) {
					t.Errorf("Failed[%d] = %v", j, e)
				}
				if _, failing := tc.fail[j]; failing && st.writeCalls[j] != int(tc.fail[j])+1 {
					t.Errorf("failed writer %d called %d times, want %d", j, st.writeCalls[j], tc.fail[j]+1)
				}
			}
		})
	}
}

type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

func TestEncode_ReadErrorIsWrapped(t *testing.T) {
	c := mustCoder(t, 4, 2, 16)
	boom := errors.New("client went away")
	st := newMemStore(6)
	r := &errReader{r: bytes.NewReader(make([]byte, 150)), err: boom}
	res, err := c.Encode(context.Background(), r, st.writers(), 4)
	if !errors.Is(err, boom) || errors.Is(err, ErrTooFewWriters) {
		t.Fatalf("Encode = %v, want the read error", err)
	}
	if res.Size != 150 {
		t.Errorf("Size = %d, want 150", res.Size)
	}
}

func TestEncode_InvalidArgumentsAreRejected(t *testing.T) {
	c := mustCoder(t, 4, 2, 16)
	st := newMemStore(6)
	ws := st.writers()
	ctx := context.Background()
	r := bytes.NewReader(nil)
	if _, err := c.Encode(ctx, r, ws[:5], 4); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("5 writers: %v", err)
	}
	for _, minOK := range []int{0, 3, 7} {
		if _, err := c.Encode(ctx, r, ws, minOK); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("minOK %d: %v", minOK, err)
		}
	}
	nilW := append([]BlockWriter(nil), ws...)
	nilW[3] = nil
	if _, err := c.Encode(ctx, r, nilW, 4); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil writer: %v", err)
	}
	// An empty object writes nothing and succeeds.
	res, err := c.Encode(ctx, r, ws, 6)
	if err != nil || res.Size != 0 || len(res.Failed) != 6 {
		t.Errorf("empty object: %+v, %v", res, err)
	}
	for j, n := range st.writeCalls {
		if n != 0 {
			t.Errorf("writer %d called %d times for an empty object", j, n)
		}
	}
}

// funcWriter adapts a function to BlockWriter.
type funcWriter func(ctx context.Context, index int64, block []byte) error

func (f funcWriter) WriteBlock(ctx context.Context, index int64, block []byte) error {
	return f(ctx, index, block)
}

// patternReader yields n bytes of a cheap pattern; n < 0 means forever.
type patternReader struct {
	n   int64
	pat []byte
	off int
}

func newPatternReader(n int64) *patternReader {
	pat := make([]byte, 64<<10)
	for i := range pat {
		pat[i] = byte(i*7 + i>>8)
	}
	return &patternReader{n: n, pat: pat}
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n == 0 {
		return 0, io.EOF
	}
	if p.n > 0 && int64(len(b)) > p.n {
		b = b[:p.n]
	}
	total := 0
	for len(b) > 0 {
		c := copy(b, p.pat[p.off:])
		p.off = (p.off + c) % len(p.pat)
		b = b[c:]
		total += c
	}
	if p.n > 0 {
		p.n -= int64(total)
	}
	return total, nil
}

func discardWriters(n int) []BlockWriter {
	ws := make([]BlockWriter, n)
	for j := range ws {
		ws[j] = funcWriter(func(context.Context, int64, []byte) error { return nil })
	}
	return ws
}

func TestEncode_ContextCancellationStopsPromptly(t *testing.T) {
	c := mustCoder(t, 4, 2, 4<<10)
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	ws := make([]BlockWriter, 6)
	for j := range ws {
		ws[j] = funcWriter(func(ctx context.Context, _ int64, _ []byte) error {
			calls.Add(1)
			select { // a slow writer that honours ctx
			case <-time.After(time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Encode(ctx, newPatternReader(-1), ws, 4)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTooFewWriters) {
		t.Fatalf("Encode = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Encode took %v to notice cancellation", d)
	}
	after := calls.Load()
	time.Sleep(20 * time.Millisecond)
	if calls.Load() != after {
		t.Errorf("writers called after Encode returned")
	}
}

// Writers of different shards run at the same time: writer 0 cannot finish
// block 0 until writer 5 has received block 0.
func TestEncode_ShardWritersRunConcurrently(t *testing.T) {
	c := mustCoder(t, 4, 2, 16)
	release := make(chan struct{})
	ws := discardWriters(6)
	ws[0] = funcWriter(func(ctx context.Context, index int64, _ []byte) error {
		if index == 0 {
			select {
			case <-release:
			case <-time.After(5 * time.Second):
				return errors.New("writer 5 never ran while writer 0 was busy")
			}
		}
		return nil
	})
	ws[5] = funcWriter(func(ctx context.Context, index int64, _ []byte) error {
		if index == 0 {
			close(release)
		}
		return nil
	})
	res, err := c.Encode(context.Background(), bytes.NewReader(make([]byte, 1000)), ws, 6)
	if err != nil {
		t.Fatalf("Encode = %+v, %v", res, err)
	}
}

// Each shard's blocks arrive in index order and every block has the layout's
// length.
func TestEncode_BlocksArriveInOrderWithLayoutLengths(t *testing.T) {
	const k, m, bs = 3, 3, 8
	c := mustCoder(t, k, m, bs)
	size := int64(11*k*bs + 5)
	l := c.Layout(size)
	next := make([]int64, k+m)
	ws := make([]BlockWriter, k+m)
	errs := make([]error, k+m)
	for j := range ws {
		ws[j] = funcWriter(func(_ context.Context, index int64, block []byte) error {
			if index != next[j] || len(block) != l.BlockLen(index) {
				errs[j] = errors.New("out of order or wrong length")
			}
			next[j]++
			time.Sleep(time.Duration(j) * 10 * time.Microsecond) // skew the shards
			return nil
		})
	}
	if _, err := c.Encode(context.Background(), newPatternReader(size), ws, k+m); err != nil {
		t.Fatal(err)
	}
	for j := range ws {
		if errs[j] != nil || next[j] != l.Stripes() {
			t.Errorf("shard %d: %v, %d blocks", j, errs[j], next[j])
		}
	}
}

// Encode holds about two stripes whatever the object size: the bytes it
// allocates for a 256 MiB object are no more than for a 16 MiB one, and far
// below the object size.
func TestEncode_MemoryDoesNotScaleWithSize(t *testing.T) {
	const k, m, bs = 4, 2, 256 << 10
	c := mustCoder(t, k, m, bs)
	allocated := func(size int64) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, err := c.Encode(context.Background(), newPatternReader(size), discardWriters(k+m), k+m)
		runtime.ReadMemStats(&after)
		if err != nil || res.Size != size {
			t.Fatalf("Encode(%d) = %+v, %v", size, res, err)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	small := allocated(16 << 20)
	big := allocated(256 << 20)
	t.Logf("allocated %d KiB for 16 MiB, %d KiB for 256 MiB", small>>10, big>>10)
	const stripeBuf = (k + m) * bs
	if big > 4*stripeBuf+(1<<20) {
		t.Errorf("encoding 256 MiB allocated %d bytes, want at most ~4 stripe buffers (%d)", big, 4*stripeBuf)
	}
	if big > 2*small+(1<<20) {
		t.Errorf("allocation grows with size: %d bytes for 16 MiB, %d for 256 MiB", small, big)
	}
}

type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// Misbehaving readers fail Encode instead of hanging it or corrupting data.
func TestEncode_MisbehavingReadersFail(t *testing.T) {
	c := mustCoder(t, 2, 1, 8)
	cases := map[string]struct {
		r    io.Reader
		want error
	}{
		"never progresses": {readerFunc(func([]byte) (int, error) { return 0, nil }), io.ErrNoProgress},
		"count too large":  {readerFunc(func(p []byte) (int, error) { return len(p) + 1, nil }), nil},
		"negative count":   {readerFunc(func([]byte) (int, error) { return -1, nil }), nil},
	}
	for name, tc := range cases {
		st := newMemStore(3)
		_, err := c.Encode(context.Background(), tc.r, st.writers(), 2)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: Encode = %v, want an error (%v)", name, err, tc.want)
		}
		if st.writeCalls[0] != 0 {
			t.Errorf("%s: blocks were written", name)
		}
	}
}
