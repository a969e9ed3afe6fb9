package erasure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// combinations returns every subset of {0..n-1} with exactly r elements.
func combinations(n, r int) [][]int {
	var out [][]int
	var rec func(start int, cur []int)
	rec = func(start int, cur []int) {
		if len(cur) == r {
			out = append(out, slices.Clone(cur))
			return
		}
		for i := start; i < n; i++ {
			rec(i+1, append(cur, i))
		}
	}
	rec(0, nil)
	return out
}

func TestDecode_EveryLossOfUpToMShardsReconstructs(t *testing.T) {
	const k, m, bs = 4, 2, 16
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(11, 11)), 5*k*bs+23)
	tried := 0
	for lost := 0; lost <= m; lost++ {
		for _, set := range combinations(k+m, lost) {
			st, l := encodeToStore(t, c, data)
			st.lose(set...)
			got, err := decodeRange(c, st, l, 0, l.Size)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("lost %v: Decode = %v (equal=%v)", set, err, bytes.Equal(got, data))
			}
			off, n := int64(k*bs-3), int64(2*k*bs+9) // straddles three stripes
			got, err = decodeRange(c, st, l, off, n)
			if err != nil || !bytes.Equal(got, data[off:off+n]) {
				t.Fatalf("lost %v: range Decode = %v", set, err)
			}
			st.checkClean(t)
			tried++
		}
	}
	if tried != 1+6+15 {
		t.Errorf("tried %d loss patterns, want 22", tried)
	}
}

func TestDecode_EveryLossOfMoreThanMShardsFails(t *testing.T) {
	const k, m, bs = 4, 2, 16
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(12, 12)), 3*k*bs)
	for _, set := range combinations(k+m, m+1) {
		st, l := encodeToStore(t, c, data)
		st.lose(set...)
		_, err := decodeRange(c, st, l, 0, l.Size)
		if !errors.Is(err, ErrTooManyFailures) || !errors.Is(err, errInjectedOpen) {
			t.Fatalf("lost %v: Decode = %v, want ErrTooManyFailures wrapping the shard errors", set, err)
		}
		st.checkClean(t)
	}
}

func TestDecode_ZeroParityFailsOnAnyLoss(t *testing.T) {
	c := mustCoder(t, 3, 0, 8)
	data := randBytes(rand.New(rand.NewPCG(13, 13)), 100)
	st, l := encodeToStore(t, c, data)
	if got, err := decodeRange(c, st, l, 0, l.Size); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Decode = %v", err)
	}
	st.lose(1)
	if _, err := decodeRange(c, st, l, 0, l.Size); !errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("Decode = %v, want ErrTooManyFailures", err)
	}
}

// A data shard that fails after some blocks is replaced at that stripe by
// the first parity shard, and a parity shard that then fails is replaced by
// the next one.
func TestDecode_ShardsFailingMidStreamAreReplacedAtThatStripe(t *testing.T) {
	const k, m, bs = 4, 2, 16
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(14, 14)), 8*k*bs-5)
	st, l := encodeToStore(t, c, data)
	st.readErrAt[2] = 3 // data shard 2 fails at block 3
	st.readErrAt[4] = 5 // its replacement fails at block 5
	got, err := decodeRange(c, st, l, 0, l.Size)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Decode = %v (equal=%v)", err, bytes.Equal(got, data))
	}
	opens := st.openCalls()
	wantTail := []openCall{{4, 3}, {5, 5}}
	if len(opens) != k+2 || !slices.Equal(opens[k:], wantTail) {
		t.Errorf("opens = %v, want the data shards at 0 then %v", opens, wantTail)
	}
	if st.readCalls[2] != 4 {
		t.Errorf("failed shard 2 read %d times, want 4 (never again after failing)", st.readCalls[2])
	}
	st.checkClean(t)
}

// Failures beyond M mid-stream fail the call, after the stripes before the
// failure have been streamed to w.
func TestDecode_TooManyMidStreamFailuresFailAfterStreamingEarlierStripes(t *testing.T) {
	const k, m, bs = 4, 2, 16
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(15, 15)), 8*k*bs)
	st, l := encodeToStore(t, c, data)
	st.readErrAt[0] = 2
	st.readErrAt[4] = 3
	st.readErrAt[3] = 4
	got, err := decodeRange(c, st, l, 0, l.Size)
	if !errors.Is(err, ErrTooManyFailures) || !errors.Is(err, errInjectedRead) {
		t.Fatalf("Decode = %v, want ErrTooManyFailures wrapping the read errors", err)
	}
	if !bytes.Equal(got, data[:4*k*bs]) {
		t.Errorf("wrote %d bytes before failing, want the %d bytes of stripes 0..3", len(got), 4*k*bs)
	}
	st.checkClean(t)
}

func TestDecode_CorruptOrWrongLengthBlocksAreRebuilt(t *testing.T) {
	const k, m, bs = 4, 2, 16
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(16, 16)), 6*k*bs+7)
	st, l := encodeToStore(t, c, data)
	st.corrupt(1, 2)  // checksum catches it: a read error
	st.truncate(3, 6) // consistent checksum, wrong length for the last stripe
	got, err := decodeRange(c, st, l, 0, l.Size)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Decode = %v (equal=%v)", err, bytes.Equal(got, data))
	}
	want := []openCall{{4, 2}, {5, 6}}
	if opens := st.openCalls(); !slices.Equal(opens[k:], want) {
		t.Errorf("replacement opens = %v, want %v", opens[k:], want)
	}
	st.checkClean(t)

	st.corrupt(0, 6)
	_, err = decodeRange(c, st, l, 0, l.Size)
	if !errors.Is(err, ErrTooManyFailures) || !errors.Is(err, errChecksum) || !errors.Is(err, errBlockLength) {
		t.Fatalf("Decode with three bad blocks = %v", err)
	}
}

func TestDecode_ReplacementsAreParityFirstInIndexOrder(t *testing.T) {
	const k, m, bs = 4, 3, 8
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(17, 17)), 2*k*bs)
	for _, tc := range []struct {
		lost []int
		want []int
	}{
		{nil, []int{0, 1, 2, 3}},
		{[]int{2}, []int{0, 1, 2, 3, 4}},
		{[]int{0, 3}, []int{0, 1, 2, 3, 4, 5}},
		{[]int{1, 4}, []int{0, 1, 2, 3, 4, 5}},
		{[]int{1, 2, 3}, []int{0, 1, 2, 3, 4, 5, 6}},
	} {
		st, l := encodeToStore(t, c, data)
		st.lose(tc.lost...)
		if got, err := decodeRange(c, st, l, 0, l.Size); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("lost %v: Decode = %v", tc.lost, err)
		}
		var opened []int
		for _, o := range st.openCalls() {
			if o.first != 0 {
				t.Errorf("lost %v: shard %d opened at %d, want 0", tc.lost, o.shard, o.first)
			}
			opened = append(opened, o.shard)
		}
		// Shards needed at the same stripe are opened in parallel, so only
		// the set is deterministic; "want" never skips a lower parity index.
		slices.Sort(opened)
		if !slices.Equal(opened, tc.want) {
			t.Errorf("lost %v: opened %v, want %v", tc.lost, opened, tc.want)
		}
	}
}

// Doubtful shards are opened only when the others are too few, and then
// after every other shard.
func TestDecodeWith_DoubtfulShardsAreReadLast(t *testing.T) {
	const k, m, bs = 4, 3, 8
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(18, 18)), 3*k*bs)
	for _, tc := range []struct {
		doubtful, lost []int
		want           []int
	}{
		{nil, nil, []int{0, 1, 2, 3}},
		{[]int{1}, nil, []int{0, 2, 3, 4}},
		{[]int{1, 2}, []int{1, 2}, []int{0, 3, 4, 5}},
		{[]int{0, 4}, []int{5}, []int{1, 2, 3, 5, 6}},
		{[]int{0, 1, 4}, []int{2, 3, 5}, []int{0, 1, 2, 3, 4, 5, 6}},
	} {
		st, l := encodeToStore(t, c, data)
		st.lose(tc.lost...)
		var out bytes.Buffer
		if err := c.DecodeWith(context.Background(), &out, l, st.Open, ReadOptions{Doubtful: tc.doubtful}, 0, l.Size); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("doubtful %v, lost %v: DecodeWith = %v", tc.doubtful, tc.lost, err)
		}
		var opened []int
		for _, o := range st.openCalls() {
			opened = append(opened, o.shard)
		}
		slices.Sort(opened)
		if !slices.Equal(opened, tc.want) {
			t.Errorf("doubtful %v, lost %v: opened %v, want %v", tc.doubtful, tc.lost, opened, tc.want)
		}
		st.checkClean(t)
	}
}

// With a stall limit, a shard that stops answering, at the first stripe or
// mid-stream, is given up after the limit and replaced by parity; the read
// completes with the right bytes. With no shard left to replace it, the
// read waits on it (here until its context ends) rather than failing.
func TestDecodeWith_StalledShardsAreReplacedWhileSparesLast(t *testing.T) {
	const k, m, bs = 4, 2, 8
	const stall = 50 * time.Millisecond
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(19, 19)), 6*k*bs)
	for _, tc := range []struct {
		name  string
		stall map[int]int64 // shard -> first block that hangs
	}{
		{"one at the start", map[int]int64{1: 0}},
		{"one mid-stream", map[int]int64{2: 3}},
		{"two, then the spare parity", map[int]int64{0: 0, 3: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, l := encodeToStore(t, c, data)
			st.lend = true
			maps.Copy(st.stallAt, tc.stall)
			var out bytes.Buffer
			start := time.Now()
			err := c.DecodeWith(context.Background(), &out, l, st.Open, ReadOptions{Stall: stall}, 0, l.Size)
			if err != nil || !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("DecodeWith = %v (%d bytes)", err, out.Len())
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s with a stall limit of %s", d, stall)
			}
			st.checkClean(t)
		})
	}

	t.Run("a failed shard takes a spare before a stalled one", func(t *testing.T) {
		// Shard 0 fails at once and 1 and 2 stall: of the two spares, 0's
		// replacement takes one, so only one stalled shard is given up and
		// the read waits on the other instead of failing for want of shards.
		st, l := encodeToStore(t, c, data)
		st.lose(0)
		maps.Copy(st.stallAt, map[int]int64{1: 0, 2: 0})
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		err := c.DecodeWith(ctx, io.Discard, l, st.Open, ReadOptions{Stall: stall}, 0, l.Size)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTooManyFailures) {
			t.Fatalf("DecodeWith = %v, want a wait on the stalled shard until the context's deadline", err)
		}
		st.checkClean(t)
	})

	t.Run("more stalled than spares", func(t *testing.T) {
		st, l := encodeToStore(t, c, data)
		maps.Copy(st.stallAt, map[int]int64{0: 0, 1: 0, 2: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.DecodeWith(ctx, io.Discard, l, st.Open, ReadOptions{Stall: stall}, 0, l.Size)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTooManyFailures) {
			t.Fatalf("DecodeWith = %v, want the context's deadline", err)
		}
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Errorf("gave up after %s, before the context's deadline", d)
		}
		st.checkClean(t)
	})
}

func TestDecode_RangesEqualTheSourceSlice(t *testing.T) {
	const k, m, bs = 4, 2, 16
	ss := int64(k * bs)
	c := mustCoder(t, k, m, bs)
	rng := rand.New(rand.NewPCG(18, 18))
	data := randBytes(rng, int(6*ss+21)) // last stripe holds 21 bytes
	size := int64(len(data))
	st, l := encodeToStore(t, c, data)
	st.scratch = true // readers reuse their buffers: Decode must copy

	type rng2 struct{ off, n int64 }
	var ranges []rng2
	// Starts and ends at every stripe boundary and one byte either side.
	var points []int64
	for b := int64(0); b <= size; b += ss {
		points = append(points, b-1, b, b+1)
	}
	points = append(points, size-21, size-20, size-1, size) // within the last stripe
	for _, a := range points {
		for _, b := range points {
			if a >= 0 && a <= b && b <= size {
				ranges = append(ranges, rng2{a, b - a})
			}
		}
	}
	for range 300 {
		off := rng.Int64N(size + 1)
		ranges = append(ranges, rng2{off, rng.Int64N(size - off + 1)})
	}
	for _, lost := range [][]int{nil, {1}, {0, 5}} {
		st.openErr = map[int]error{}
		st.lose(lost...)
		for _, r := range ranges {
			got, err := decodeRange(c, st, l, r.off, r.n)
			if err != nil || !bytes.Equal(got, data[r.off:r.off+r.n]) {
				t.Fatalf("lost %v: range [%d, +%d): %v (got %d bytes)", lost, r.off, r.n, err, len(got))
			}
		}
		st.checkClean(t)
	}
}

func TestDecode_ReadsOnlyTheStripesTheRangeTouches(t *testing.T) {
	const k, m, bs = 4, 2, 16
	ss := int64(k * bs)
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(19, 19)), int(10*ss))
	st, l := encodeToStore(t, c, data)
	off, n := 3*ss+ss-1, ss+2 // last byte of stripe 3 to first byte of stripe 5
	got, err := decodeRange(c, st, l, off, n)
	if err != nil || !bytes.Equal(got, data[off:off+n]) {
		t.Fatalf("Decode = %v", err)
	}
	for _, o := range st.openCalls() {
		if o.first != 3 || o.shard >= k {
			t.Errorf("opened shard %d at %d, want data shards at 3", o.shard, o.first)
		}
	}
	for j, n := range st.readCalls {
		want := 0
		if j < k {
			want = 3
		}
		if n != want {
			t.Errorf("shard %d read %d blocks, want %d", j, n, want)
		}
	}
	// An empty range opens nothing.
	if _, err := decodeRange(c, st, l, 5, 0); err != nil {
		t.Fatal(err)
	}
	if len(st.openCalls()) != k {
		t.Errorf("empty range opened shards")
	}
}

func TestDecode_RangeOutsideTheObjectIsErrRange(t *testing.T) {
	c := mustCoder(t, 4, 2, 16)
	st, l := encodeToStore(t, c, make([]byte, 100))
	for _, r := range [][2]int64{{-1, 1}, {0, -1}, {101, 0}, {0, 101}, {99, 2}, {1, math.MaxInt64}, {math.MaxInt64, 1}} {
		if _, err := decodeRange(c, st, l, r[0], r[1]); !errors.Is(err, ErrRange) {
			t.Errorf("range %v: %v, want ErrRange", r, err)
		}
	}
	for _, r := range [][2]int64{{100, 0}, {0, 0}, {99, 1}} {
		if _, err := decodeRange(c, st, l, r[0], r[1]); err != nil {
			t.Errorf("range %v: %v", r, err)
		}
	}
	empty := c.Layout(0)
	if _, err := decodeRange(c, st, empty, 0, 0); err != nil {
		t.Errorf("empty object, empty range: %v", err)
	}
	if _, err := decodeRange(c, st, empty, 0, 1); !errors.Is(err, ErrRange) {
		t.Errorf("empty object, 1 byte: %v", err)
	}
}

func TestDecode_LayoutMustMatchTheCoder(t *testing.T) {
	c := mustCoder(t, 4, 2, 16)
	st, _ := encodeToStore(t, c, make([]byte, 100))
	for _, l := range []Layout{
		{K: 4, M: 2, BlockSize: 32, Size: 100},
		{K: 3, M: 2, BlockSize: 16, Size: 100},
		{K: 4, M: 1, BlockSize: 16, Size: 100},
		{K: 4, M: 2, BlockSize: 16, Size: -1},
	} {
		if _, err := decodeRange(c, st, l, 0, 1); !errors.Is(err, ErrInvalidLayout) {
			t.Errorf("%+v: %v, want ErrInvalidLayout", l, err)
		}
	}
}

type failingWriter struct {
	writes int
	failAt int
	err    error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	f.writes++
	if f.writes >= f.failAt {
		return 0, f.err
	}
	return len(p), nil
}

func TestDecode_WriteErrorAborts(t *testing.T) {
	const k, m, bs = 4, 2, 16
	c := mustCoder(t, k, m, bs)
	st, l := encodeToStore(t, c, make([]byte, 50*k*bs))
	w := &failingWriter{failAt: 2, err: errors.New("client hung up")}
	err := c.Decode(context.Background(), w, l, st.Open, 0, l.Size)
	if !errors.Is(err, w.err) || errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("Decode = %v, want the write error", err)
	}
	if w.writes != 2 {
		t.Errorf("%d writes after the failing one", w.writes-2)
	}
	for j, n := range st.readCalls[:k] {
		if n > 3 { // the failing stripe plus read-ahead
			t.Errorf("shard %d read %d blocks after the write failed", j, n)
		}
	}
	st.checkClean(t)
}

func TestDecode_ContextCancellationIsNotAShardFailure(t *testing.T) {
	const k, m, bs = 4, 2, 16
	c := mustCoder(t, k, m, bs)
	st, l := encodeToStore(t, c, make([]byte, 5*k*bs))
	st.blockOpen[1] = true // reads hang until ctx ends
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	var out bytes.Buffer
	start := time.Now()
	err := c.Decode(ctx, &out, l, st.Open, 0, l.Size)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("Decode = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Decode took %v to notice cancellation", d)
	}
	if opens := st.openCalls(); len(opens) != k {
		t.Errorf("opens = %v: cancellation made Decode open replacements", opens)
	}
	st.checkClean(t)
}

// With readers that lend their blocks, Decode writes them from where they
// were lent (the store poisons a block when it is given back, so a block
// used after its release shows as wrong bytes), gives every one back
// exactly once, and still reconstructs, replaces shards mid-stream and
// fails cleanly.
func TestDecode_LentBlocksAreUsedWhereTheyLieAndAllGivenBack(t *testing.T) {
	const k, m, bs = 4, 2, 16
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(21, 21)), 8*k*bs-5)
	cases := []struct {
		name    string
		setup   func(*memStore)
		wantErr bool
	}{
		{"healthy", func(*memStore) {}, false},
		{"two data shards lost", func(st *memStore) { st.lose(0, 3) }, false},
		{"one data and one parity lost", func(st *memStore) { st.lose(1, 4) }, false},
		{"failures mid-stream", func(st *memStore) { st.readErrAt[2] = 3; st.readErrAt[4] = 5 }, false},
		{"a corrupt block", func(st *memStore) { st.corrupt(1, 2) }, false},
		{"a short block", func(st *memStore) { st.truncate(3, 7) }, false},
		{"too many failures", func(st *memStore) { st.readErrAt[0] = 1; st.readErrAt[4] = 1; st.readErrAt[3] = 2 }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, l := encodeToStore(t, c, data)
			st.lend = true
			tc.setup(st)
			for _, r := range [][2]int64{{0, l.Size}, {int64(k*bs - 3), int64(2*k*bs + 9)}} {
				got, err := decodeRange(c, st, l, r[0], r[1])
				if tc.wantErr {
					if !errors.Is(err, ErrTooManyFailures) {
						t.Fatalf("range %v: Decode = %v, want ErrTooManyFailures", r, err)
					}
				} else if err != nil || !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
					t.Fatalf("range %v: Decode = %v (equal=%v)", r, err, bytes.Equal(got, data[r[0]:r[0]+r[1]]))
				}
				st.checkClean(t)
			}
		})
	}
	// A write error midway gives back what was lent too.
	st, l := encodeToStore(t, c, data)
	st.lend = true
	w := &failingWriter{failAt: 6, err: errors.New("client hung up")}
	if err := c.Decode(context.Background(), w, l, st.Open, 0, l.Size); !errors.Is(err, w.err) {
		t.Fatalf("Decode into a failing writer = %v, want its error", err)
	}
	st.checkClean(t)
}
