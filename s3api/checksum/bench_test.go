package checksum

import (
	"hash/crc64"
	"testing"
)

// benchChunk is the write size of the benchmarks: a typical io.Copy buffer.
const benchChunk = 32 << 10

func benchWrites(b *testing.B, write func([]byte)) {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 31)
	}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		for off := 0; off < len(buf); off += benchChunk {
			write(buf[off : off+benchChunk])
		}
	}
}

func BenchmarkCRC64NVME(b *testing.B) {
	h := NewCRC64NVME()
	benchWrites(b, func(p []byte) { h.Write(p) })
}

// BenchmarkCRC64NVMEStdlib is hash/crc64 with the NVMe table, for comparison.
func BenchmarkCRC64NVMEStdlib(b *testing.B) {
	h := crc64.New(crc64.MakeTable(crc64NVMEPoly))
	benchWrites(b, func(p []byte) { h.Write(p) })
}

func benchAlg(b *testing.B, alg string) {
	h, err := New(alg)
	if err != nil {
		b.Fatal(err)
	}
	benchWrites(b, func(p []byte) { h.Write(p) })
}

func BenchmarkCRC32(b *testing.B)  { benchAlg(b, CRC32) }
func BenchmarkCRC32C(b *testing.B) { benchAlg(b, CRC32C) }
func BenchmarkSHA1(b *testing.B)   { benchAlg(b, SHA1) }
func BenchmarkSHA256(b *testing.B) { benchAlg(b, SHA256) }

// BenchmarkSetMD5CRC32 is the SDK-default upload: MD5 for the ETag plus CRC32.
func BenchmarkSetMD5CRC32(b *testing.B) {
	s, _ := NewSet(CRC32)
	benchWrites(b, func(p []byte) { s.Write(p) })
}

func BenchmarkSetMD5CRC64NVME(b *testing.B) {
	s, _ := NewSet(CRC64NVME)
	benchWrites(b, func(p []byte) { s.Write(p) })
}
