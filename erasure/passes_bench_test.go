package erasure

import (
	"testing"

	"github.com/klauspost/reedsolomon"
)

// The BenchmarkPass* benchmarks measure one pass over a byte each, for
// docs/performance.md's per-byte budget: every op covers one stripe of the
// default scheme (4 data blocks of 256 KiB, 1 MiB of object data) and sets
// that many bytes, so ns/op / 2^20 is ns per object byte.
const passK, passM, passBlock = 4, 2, 256 << 10

func passStripe(b *testing.B) [][]byte {
	b.Helper()
	shards := make([][]byte, passK+passM)
	for i := range shards {
		shards[i] = make([]byte, passBlock)
		for j := range shards[i] {
			shards[i][j] = byte(i*7 + j*31)
		}
	}
	return shards
}

func passEncoder(b *testing.B) reedsolomon.Encoder {
	b.Helper()
	// The options Coder uses (New).
	rs, err := reedsolomon.New(passK, passM, reedsolomon.WithAutoGoroutines(passBlock))
	if err != nil {
		b.Fatal(err)
	}
	return rs
}

// BenchmarkPassRSEncode is the parity of a PUT: 2 parity blocks computed
// from 4 data blocks.
func BenchmarkPassRSEncode(b *testing.B) {
	rs, shards := passEncoder(b), passStripe(b)
	b.SetBytes(passK * passBlock)
	for b.Loop() {
		if err := rs.Encode(shards); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPassRSReconstruct is a degraded GET: two data blocks rebuilt
// from the other four. A healthy GET does not pay it.
func BenchmarkPassRSReconstruct(b *testing.B) {
	rs, shards := passEncoder(b), passStripe(b)
	if err := rs.Encode(shards); err != nil {
		b.Fatal(err)
	}
	spare := [][]byte{shards[0], shards[2]}
	b.SetBytes(passK * passBlock)
	for b.Loop() {
		shards[0], shards[2] = spare[0][:0], spare[1][:0]
		if err := rs.ReconstructData(shards); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPassCRC32C is the per-block checksum (Checksum) over the data
// and parity blocks of a stripe: 1.5 checksummed bytes per object byte
// with 4+2, charged here per object byte.
func BenchmarkPassCRC32C(b *testing.B) {
	shards := passStripe(b)
	b.SetBytes(passK * passBlock)
	var sum uint32
	for b.Loop() {
		for _, s := range shards {
			sum ^= Checksum(s)
		}
	}
	_ = sum
}

// BenchmarkPassMemmove is one copy of every object byte (a buffer handed
// between stages, a gRPC or protobuf copy), cache-cold: the source and
// destination are 64 MiB apart, larger than the last-level cache.
func BenchmarkPassMemmove(b *testing.B) {
	const size = 64 << 20
	src, dst := make([]byte, size), make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	b.SetBytes(size)
	for b.Loop() {
		copy(dst, src)
	}
}
