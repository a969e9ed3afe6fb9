package checksum

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash/crc64"
	"math/rand/v2"
	"testing"
)

func TestKnownVectors(t *testing.T) {
	check := []byte("123456789")
	cases := []struct {
		alg, input, hexDigest string
	}{
		// CRC catalogue check values (input "123456789").
		{CRC32, string(check), "cbf43926"},
		{CRC32C, string(check), "e3069283"},
		{CRC64NVME, string(check), "ae8b14860a799888"},
		// FIPS 180 examples.
		{SHA1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{SHA256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{SHA1, "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{SHA256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		// The empty input for every CRC is all zero bits.
		{CRC32, "", "00000000"},
		{CRC32C, "", "00000000"},
		{CRC64NVME, "", "0000000000000000"},
		// NVM Command Set spec, CRC-64 examples over 4 KiB.
		{CRC64NVME, string(make([]byte, 4096)), "6482d367eb22b64e"},
		{CRC64NVME, string(bytes.Repeat([]byte{0xff}, 4096)), "c0ddba7302eca3ac"},
		{CRC64NVME, string(incrementing(4096)), "3e729f5f6750449c"},
	}
	for _, c := range cases {
		h, err := New(c.alg)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(c.input))
		if got := hex.EncodeToString(h.Sum(nil)); got != c.hexDigest {
			t.Errorf("%s(%.12q) = %s, want %s", c.alg, c.input, got, c.hexDigest)
		}
		if h.Size() != Size(c.alg) {
			t.Errorf("%s: hash Size %d, table Size %d", c.alg, h.Size(), Size(c.alg))
		}
	}
}

// TestKnownBase64 checks the base64 forms S3 documents and returns for an
// empty object.
func TestKnownBase64(t *testing.T) {
	s, err := NewSet(Algorithms()...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		MD5:       "1B2M2Y8AsgTpgAmY7PhCfg==",
		CRC32:     "AAAAAA==",
		CRC32C:    "AAAAAA==",
		CRC64NVME: "AAAAAAAAAAA=",
		SHA1:      "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
		SHA256:    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
	}
	for alg, v := range want {
		if got := s.Base64(alg); got != v {
			t.Errorf("Base64(%s) = %s, want %s", alg, got, v)
		}
	}
	if err := s.Verify(want); err != nil {
		t.Fatal(err)
	}
}

func incrementing(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestHeaderAndNames(t *testing.T) {
	for alg, h := range map[string]string{
		CRC32: "x-amz-checksum-crc32", "crc32c": "x-amz-checksum-crc32c", "Crc64Nvme": "x-amz-checksum-crc64nvme",
		SHA1: "x-amz-checksum-sha1", "sha256": "x-amz-checksum-sha256",
	} {
		if got := Header(alg); got != h {
			t.Errorf("Header(%q) = %q, want %q", alg, got, h)
		}
	}
	for _, bad := range []string{"", "MD5", "SHA512", "CRC64", "crc32 "} {
		if Header(bad) != "" || Size(bad) != 0 {
			t.Errorf("%q should be unsupported", bad)
		}
		if _, err := New(bad); !errors.Is(err, ErrUnknownAlgorithm) {
			t.Errorf("New(%q) err = %v", bad, err)
		}
		if _, err := NewSet(CRC32, bad); !errors.Is(err, ErrUnknownAlgorithm) {
			t.Errorf("NewSet(%q) err = %v", bad, err)
		}
	}
	if c, ok := Canonical("crc64nvme"); !ok || c != CRC64NVME {
		t.Errorf("Canonical = %q %v", c, ok)
	}
}

// TestCRC64NVMETables recomputes the generated tables from the polynomial.
func TestCRC64NVMETables(t *testing.T) {
	var t0 [256]uint64
	for i := range 256 {
		c := uint64(i)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ crc64NVMEPoly
			} else {
				c >>= 1
			}
		}
		t0[i] = c
	}
	if t0 != crc64NVMETables[0] {
		t.Fatal("table 0 does not match the polynomial; rerun go generate")
	}
	if *crc64.MakeTable(crc64NVMEPoly) != crc64.Table(t0) {
		t.Fatal("table 0 differs from hash/crc64's")
	}
	for k := 1; k < 16; k++ {
		for i := range 256 {
			prev := crc64NVMETables[k-1][i]
			if want := prev>>8 ^ t0[prev&0xff]; crc64NVMETables[k][i] != want {
				t.Fatalf("table %d entry %d = %#x, want %#x; rerun go generate", k, i, crc64NVMETables[k][i], want)
			}
		}
	}
}

// TestCRC64NVMEMatchesStdlib compares against hash/crc64 for every length
// around the 16-byte stride and for random split points.
func TestCRC64NVMEMatchesStdlib(t *testing.T) {
	tab := crc64.MakeTable(crc64NVMEPoly)
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 70000)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for n := 0; n <= 300; n++ {
		if got, want := CRC64NVMEChecksum(buf[:n]), crc64.Checksum(buf[:n], tab); got != want {
			t.Fatalf("len %d: %#x, want %#x", n, got, want)
		}
	}
	want := crc64.Checksum(buf, tab)
	for range 50 {
		h := NewCRC64NVME()
		rest := buf
		for len(rest) > 0 {
			n := min(len(rest), rng.IntN(5000))
			h.Write(rest[:n])
			rest = rest[n:]
		}
		if h.Sum64() != want {
			t.Fatalf("split writes: %#x, want %#x", h.Sum64(), want)
		}
	}
	h := NewCRC64NVME()
	h.Write(buf)
	h.Reset()
	h.Write([]byte("123456789"))
	if h.Sum64() != 0xAE8B14860A799888 || h.Size() != 8 || h.BlockSize() != 1 {
		t.Fatalf("after Reset: %#x", h.Sum64())
	}
	if got := h.Sum([]byte{1}); !bytes.Equal(got, []byte{1, 0xae, 0x8b, 0x14, 0x86, 0x0a, 0x79, 0x98, 0x88}) {
		t.Fatalf("Sum appends %x", got)
	}
}

func TestSetOnePass(t *testing.T) {
	data := bytes.Repeat([]byte("cairn object bytes "), 5000)
	s, err := NewSet("sha256", CRC32, CRC32, CRC64NVME)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Algorithms(); len(got) != 3 || got[0] != CRC32 || got[1] != CRC64NVME || got[2] != SHA256 {
		t.Fatalf("Algorithms = %v", got)
	}
	for p := data; len(p) > 0; {
		n := min(len(p), 777)
		if w, err := s.Write(p[:n]); w != n || err != nil {
			t.Fatal(w, err)
		}
		p = p[n:]
	}
	for _, alg := range []string{CRC32, CRC64NVME, SHA256} {
		h, _ := New(alg)
		h.Write(data)
		if !bytes.Equal(s.Sum(alg), h.Sum(nil)) {
			t.Errorf("%s differs from a direct hash", alg)
		}
		if s.Base64(alg) != base64.StdEncoding.EncodeToString(h.Sum(nil)) {
			t.Errorf("%s base64 differs", alg)
		}
	}
	if s.Sum(SHA1) != nil || s.Base64(CRC32C) != "" || s.Sum("nope") != nil {
		t.Error("uncomputed algorithm should give nil/empty")
	}
	if !bytes.Equal(s.Sum(MD5), s.MD5()) || len(s.MD5()) != 16 {
		t.Error("MD5 accessors disagree")
	}
}

func TestSetVerify(t *testing.T) {
	s, _ := NewSet(CRC32C)
	s.Write([]byte("hello"))
	good := map[string]string{MD5: s.Base64(MD5), CRC32C: s.Base64(CRC32C)}
	if err := s.Verify(good); err != nil {
		t.Fatal(err)
	}
	other, _ := NewSet(CRC32C, SHA1)
	other.Write([]byte("hellO"))
	cases := []struct {
		name     string
		expected map[string]string
		want     error
		inMsg    string
	}{
		{"md5 mismatch", map[string]string{MD5: other.Base64(MD5), CRC32C: good[CRC32C]}, ErrBadDigest, "Content-MD5"},
		{"md5 mismatch wins over crc", map[string]string{MD5: other.Base64(MD5), CRC32C: other.Base64(CRC32C)}, ErrBadDigest, ""},
		{"crc mismatch", map[string]string{MD5: good[MD5], "crc32c": other.Base64(CRC32C)}, ErrChecksumMismatch, "x-amz-checksum-crc32c"},
		{"md5 not base64", map[string]string{MD5: "not base64!!!!!!!!!!!!=="}, ErrInvalidDigest, ""},
		{"md5 wrong size", map[string]string{MD5: "AAAAAA=="}, ErrInvalidDigest, ""},
		{"crc wrong size", map[string]string{CRC32C: "AAAAAAAAAAA="}, ErrInvalidChecksum, "x-amz-checksum-crc32c"},
		{"not computed", map[string]string{SHA1: other.Base64(SHA1)}, ErrUnknownAlgorithm, ""},
		{"unknown", map[string]string{"SHA512": "x"}, ErrUnknownAlgorithm, ""},
	}
	for _, c := range cases {
		err := s.Verify(c.expected)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
			continue
		}
		if c.inMsg != "" && !bytes.Contains([]byte(err.Error()), []byte(c.inMsg)) {
			t.Errorf("%s: %q does not name %q", c.name, err, c.inMsg)
		}
	}
	if err := s.Verify(nil); err != nil {
		t.Errorf("empty expectations: %v", err)
	}
}
