package sse

import "testing"

// benchPassSize is the bytes each BenchmarkPass* op covers: one erasure
// stripe of the default 4+2 scheme (4 data blocks of 256 KiB).
const benchPassSize = 1 << 20

// BenchmarkPassAESGCMSeal is encryption at rest on PUT: AES-256-GCM over
// every byte, in PackageSize packages, as Cipher.EncryptReader seals them.
func BenchmarkPassAESGCMSeal(b *testing.B) {
	c := testCipher(b, PackageSize)
	plain := randomBytes(2, benchPassSize)
	dst := make([]byte, 0, PackageSize+TagSize)
	var s scratch
	b.SetBytes(benchPassSize)
	for b.Loop() {
		for i := 0; i < benchPassSize/PackageSize; i++ {
			dst = c.seal(dst[:0], plain[i*PackageSize:(i+1)*PackageSize], int64(i), false, &s)
		}
	}
}

// BenchmarkPassAESGCMOpen is decryption on GET: the same packages opened
// and authenticated.
func BenchmarkPassAESGCMOpen(b *testing.B) {
	c := testCipher(b, PackageSize)
	plain := randomBytes(3, benchPassSize)
	n := benchPassSize / PackageSize
	sealed := make([][]byte, n)
	var s scratch
	for i := range sealed {
		sealed[i] = c.seal(nil, plain[i*PackageSize:(i+1)*PackageSize], int64(i), false, &s)
	}
	dst := make([]byte, 0, PackageSize)
	b.SetBytes(benchPassSize)
	for b.Loop() {
		for i, p := range sealed {
			var err error
			if dst, err = c.open(dst[:0], p, int64(i), false, &s); err != nil {
				b.Fatal(err)
			}
		}
	}
}
