package checksum

import (
	"crypto/md5"
	"crypto/sha256"
	"testing"
)

// The BenchmarkPass* benchmarks measure one pass over a byte each, in the
// units of docs/performance.md's per-byte budget (ns/op divided by the
// bytes set, i.e. ns/B; go test prints MB/s). Run them all with
//
//	go test -run '^$' -bench '^BenchmarkPass' ./erasure/ ./s3api/checksum/ ./s3api/sse/ ./node/

// BenchmarkPassMD5 is the ETag: crypto/md5 over every PUT byte.
func BenchmarkPassMD5(b *testing.B) {
	h := md5.New()
	benchWrites(b, func(p []byte) { h.Write(p) })
}

// BenchmarkPassSHA256 is the payload hash of a signed aws-chunked PUT
// (each chunk's signature covers the SHA-256 of its bytes).
func BenchmarkPassSHA256(b *testing.B) {
	h := sha256.New()
	benchWrites(b, func(p []byte) { h.Write(p) })
}
