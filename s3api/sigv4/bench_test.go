package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
)

// BenchmarkVerifyHeader measures header-signature verification (key cache
// warm), excluding the body.
func BenchmarkVerifyHeader(b *testing.B) {
	v := newTestVerifier(testNow)
	r, _ := http.NewRequest("GET", "http://cairn.test/bucket/some/key.bin?versionId=3", nil)
	r.Header.Set("Range", "bytes=0-1023")
	sdkSign(b, r, emptyHash, testRegion, testNow)
	for b.Loop() {
		if _, err := v.Verify(context.Background(), r, testLookup); err != nil {
			b.Fatal(err)
		}
	}
}

func benchChunked(b *testing.B, mode string) {
	data := randomBytes(8<<20, 1)
	c := newChunkedRequest(b, mode, data, 64<<10, checksumTrailer, testNow)
	v := newTestVerifier(testNow)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := c.withBody(c.body)
		if _, err := v.Verify(context.Background(), r, testLookup); err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r.Body}, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunkedSigned decodes and verifies 64 KiB signed chunks.
func BenchmarkChunkedSigned(b *testing.B) { benchChunked(b, StreamingSignedTrailer) }

// BenchmarkChunkedUnsigned decodes unsigned chunks (the SDK's TLS default).
func BenchmarkChunkedUnsigned(b *testing.B) { benchChunked(b, StreamingUnsignedTrailer) }

// BenchmarkSHA256Body is the plain-HTTP SDK default: hex payload hash.
func BenchmarkSHA256Body(b *testing.B) {
	data := randomBytes(8<<20, 2)
	v := newTestVerifier(testNow)
	sum := sha256HexOf(data)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, _ := http.NewRequest("PUT", "http://cairn.test/bucket/k", bytes.NewReader(data))
		sdkSign(b, r, sum, testRegion, testNow)
		if _, err := v.Verify(context.Background(), r, testLookup); err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r.Body}, buf); err != nil {
			b.Fatal(err)
		}
	}
}
