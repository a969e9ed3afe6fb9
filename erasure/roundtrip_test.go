package erasure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/klauspost/reedsolomon"
)

func mustCoder(t testing.TB, k, m, blockSize int) *Coder {
	t.Helper()
	c, err := New(k, m, blockSize)
	if err != nil {
		t.Fatalf("New(%d, %d, %d): %v", k, m, blockSize, err)
	}
	return c
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// encodeToStore encodes data with every writer required to succeed.
func encodeToStore(t testing.TB, c *Coder, data []byte) (*memStore, Layout) {
	t.Helper()
	st := newMemStore(c.K() + c.M())
	res, err := c.Encode(context.Background(), bytes.NewReader(data), st.writers(), c.K()+c.M())
	if err != nil {
		t.Fatalf("Encode(%d bytes): %v", len(data), err)
	}
	if res.Size != int64(len(data)) {
		t.Fatalf("Encode read %d bytes, want %d", res.Size, len(data))
	}
	for j, e := range res.Failed {
		if e != nil {
			t.Fatalf("shard %d failed: %v", j, e)
		}
	}
	return st, c.Layout(res.Size)
}

func decodeRange(c *Coder, st *memStore, l Layout, off, n int64) ([]byte, error) {
	var out bytes.Buffer
	err := c.Decode(context.Background(), &out, l, st.Open, off, n)
	return out.Bytes(), err
}

// checkRoundTrip encodes data, checks the shards against the layout, and
// decodes it whole.
func checkRoundTrip(t *testing.T, c *Coder, data []byte) {
	t.Helper()
	st, l := encodeToStore(t, c, data)
	for j := range c.K() + c.M() {
		if got := st.shardBytes(j); got != l.ShardSize() {
			t.Fatalf("size %d: shard %d holds %d bytes, layout says %d", len(data), j, got, l.ShardSize())
		}
		if got := int64(len(st.blocks[j])); got != l.Stripes() {
			t.Fatalf("size %d: shard %d holds %d blocks, layout says %d", len(data), j, got, l.Stripes())
		}
	}
	got, err := decodeRange(c, st, l, 0, l.Size)
	if err != nil {
		t.Fatalf("size %d: Decode: %v", len(data), err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("size %d: decoded bytes differ from the source", len(data))
	}
	st.checkClean(t)
}

func TestRoundTrip_BoundarySizes(t *testing.T) {
	const k, m, bs = 4, 2, 16
	ss := k * bs
	c := mustCoder(t, k, m, bs)
	rng := rand.New(rand.NewPCG(7, 7))
	for _, size := range []int{0, 1, ss - 1, ss, ss + 1, 2 * ss, 5*ss + 37, 7*ss + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			checkRoundTrip(t, c, randBytes(rng, size))
		})
	}
}

func TestRoundTrip_RandomSchemesAndSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 1))
	for i := range 150 {
		k, m, bs := 1+rng.IntN(8), rng.IntN(4), 1+rng.IntN(40)
		size := rng.IntN(6*k*bs + 1)
		c := mustCoder(t, k, m, bs)
		data := randBytes(rng, size)
		t.Run(fmt.Sprintf("%d/%d+%d/bs%d/size%d", i, k, m, bs, size), func(t *testing.T) {
			checkRoundTrip(t, c, data)
		})
	}
}

// The shards hold exactly the striping the package doc promises: data block
// j of a stripe is stripe bytes [j*blockLen, (j+1)*blockLen), zero-padded,
// and parity verifies under an independently built reedsolomon encoder.
func TestEncode_ShardsFollowTheLayout(t *testing.T) {
	const k, m, bs = 3, 2, 10
	c := mustCoder(t, k, m, bs)
	rs, err := reedsolomon.New(k, m)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for _, size := range []int{1, 2, 29, 30, 31, 95, 100} {
		data := randBytes(rng, size)
		st, l := encodeToStore(t, c, data)
		for s := range l.Stripes() {
			bl := l.BlockLen(s)
			padded := make([]byte, k*bl)
			copy(padded, data[s*l.StripeSize():])
			shards := make([][]byte, k+m)
			for j := range k + m {
				shards[j] = st.blocks[j][s]
				if len(shards[j]) != bl {
					t.Fatalf("size %d stripe %d shard %d: %d bytes, want %d", size, s, j, len(shards[j]), bl)
				}
				if j < k && !bytes.Equal(shards[j], padded[j*bl:(j+1)*bl]) {
					t.Fatalf("size %d stripe %d: data block %d is not the padded stripe slice", size, s, j)
				}
			}
			if ok, err := rs.Verify(shards); err != nil || !ok {
				t.Fatalf("size %d stripe %d: parity does not verify (%v)", size, s, err)
			}
		}
	}
}

// Encode does not care how the reader splits its data or reports EOF.
func TestEncode_ReaderShapesDoNotMatter(t *testing.T) {
	const k, m, bs = 4, 2, 16
	c := mustCoder(t, k, m, bs)
	data := randBytes(rand.New(rand.NewPCG(5, 5)), 3*k*bs+11)
	want, _ := encodeToStore(t, c, data)
	shapes := map[string]func(io.Reader) io.Reader{
		"OneByte": iotest.OneByteReader,
		"Half":    iotest.HalfReader,
		"DataErr": iotest.DataErrReader,
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			st := newMemStore(k + m)
			res, err := c.Encode(context.Background(), shape(bytes.NewReader(data)), st.writers(), k+m)
			if err != nil || res.Size != int64(len(data)) {
				t.Fatalf("Encode = %+v, %v", res, err)
			}
			for j := range k + m {
				for s := range want.blocks[j] {
					if !bytes.Equal(st.blocks[j][s], want.blocks[j][s]) {
						t.Fatalf("shard %d block %d differs", j, s)
					}
				}
			}
		})
	}
}

// Many requests share one Coder (and its buffer pool) at once.
func TestCoder_ConcurrentRequestsShareOneCoder(t *testing.T) {
	const k, m, bs = 4, 2, 32
	c := mustCoder(t, k, m, bs)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range 20 {
				data := randBytes(rng, rng.IntN(10*k*bs))
				st := newMemStore(k + m)
				res, err := c.Encode(context.Background(), bytes.NewReader(data), st.writers(), k)
				if err != nil {
					errs <- err
					return
				}
				st.lose(rng.IntN(k + m))
				off := rng.Int64N(res.Size + 1)
				n := rng.Int64N(res.Size - off + 1)
				var out bytes.Buffer
				if err := c.Decode(context.Background(), &out, c.Layout(res.Size), st.Open, off, n); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(out.Bytes(), data[off:off+n]) {
					errs <- fmt.Errorf("goroutine %d: range [%d,+%d) differs", g, off, n)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
