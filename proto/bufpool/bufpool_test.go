package bufpool

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func TestGetLengthsAndTiers(t *testing.T) {
	p := New()
	for _, n := range []int{0, 1, 255, 256, 257, 4096, 16 << 10, 256<<10 + 9, 1 << 20, MaxPooled} {
		b := p.Get(n)
		if len(*b) != n {
			t.Fatalf("Get(%d): len %d", n, len(*b))
		}
		c := cap(*b)
		if c < n || c&(c-1) != 0 || (c > 256 && c/2 >= n) {
			t.Fatalf("Get(%d): cap %d, want the smallest power of two >= max(n, 256)", n, c)
		}
		p.Put(b)
	}
	if b := p.Get(MaxPooled + 1); len(*b) != MaxPooled+1 {
		t.Fatalf("oversized Get: len %d", len(*b))
	}
}

func TestRecycledBufferIsLongEnough(t *testing.T) {
	p := New()
	small := make([]byte, 300, 300) // not a power of two: must not be kept
	p.Put(&small)
	for i := 0; i < 100; i++ {
		b := p.Get(400)
		if len(*b) != 400 || cap(*b) < 400 {
			t.Fatalf("Get(400) gave len %d cap %d", len(*b), cap(*b))
		}
		p.Put(b)
	}
}

func TestNoZeroing(t *testing.T) {
	p := New()
	// sync.Pool may drop what it holds at any time, so a recycled buffer
	// is not guaranteed; when one comes back, it must come back as it was.
	for i := 0; i < 1000; i++ {
		b := p.Get(1 << 16)
		(*b)[0] = 0xAB
		p.Put(b)
		if c := p.Get(1 << 16); c == b {
			if (*c)[0] != 0xAB {
				t.Fatal("a recycled buffer was cleared")
			}
			return
		}
	}
	t.Skip("sync.Pool kept no buffer across 1000 rounds (GC pressure); nothing to check")
}

func BenchmarkGetPut256KiB(b *testing.B) {
	p := New()
	b.SetBytes(256 << 10)
	for b.Loop() {
		buf := p.Get(256<<10 + 16)
		p.Put(buf)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	c := NewCodec(New())
	for _, n := range []int{0, 10, 4 << 10, 256 << 10} {
		in := &cairnpb.Block{Index: 7, Data: bytes.Repeat([]byte{0x5A}, n), Crc32C: 99}
		data, err := c.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		// As gRPC may hand it over: in one piece, and split in two.
		whole := data.Materialize()
		for _, slice := range []mem.BufferSlice{data, {mem.SliceBuffer(whole[:len(whole)/2]), mem.SliceBuffer(whole[len(whole)/2:])}} {
			out := &cairnpb.Block{}
			if err := c.Unmarshal(slice, out); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(in, out) {
				t.Fatalf("%d bytes: round trip changed the message", n)
			}
		}
		data.Free()
	}
	if _, err := c.Marshal("not a message"); err == nil {
		t.Fatal("Marshal of a string succeeded")
	}
}
