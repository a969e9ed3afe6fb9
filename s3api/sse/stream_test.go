package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"testing"
	"testing/iotest"
)

func testCipher(t testing.TB, pkg int) *Cipher {
	t.Helper()
	key := bytes.Repeat([]byte{7}, KeySize)
	c, err := newCipher(key, []byte{1, 2, 3, 4}, pkg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func seal(t testing.TB, c *Cipher, plain []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(c.EncryptReader(bytes.NewReader(plain)))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(out)) != c.SealedSize(int64(len(plain))) {
		t.Fatalf("%d plaintext bytes sealed to %d, SealedSize says %d", len(plain), len(out), c.SealedSize(int64(len(plain))))
	}
	return out
}

// chunkedWriter writes p to w in chunks of random sizes.
func chunkedWrite(w io.Writer, p []byte, rng *rand.Rand) error {
	for len(p) > 0 {
		k := min(len(p), 1+rng.Intn(3000))
		if _, err := w.Write(p[:k]); err != nil {
			return err
		}
		p = p[k:]
	}
	return nil
}

// open decrypts plaintext bytes [off, off+n) from the sealed stream the way
// the read path does: only SealedRange's bytes, written in odd chunks.
func open(c *Cipher, sealed []byte, size, off, n int64) ([]byte, error) {
	var out bytes.Buffer
	d := c.DecryptWriter(&out, size, off, n)
	if n > 0 {
		so, sl := c.SealedRange(size, off, n)
		if err := chunkedWrite(d, sealed[so:so+sl], rand.New(rand.NewSource(off))); err != nil {
			return nil, err
		}
	}
	if err := d.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func TestRoundTripSizes(t *testing.T) {
	for _, pkg := range []int{PackageSize, 1000} {
		c := testCipher(t, pkg)
		for _, n := range []int{0, 1, pkg - 1, pkg, pkg + 1, 2*pkg - 1, 2 * pkg, 7*pkg + 3, 40 * pkg} {
			t.Run(fmt.Sprintf("pkg%d/%d", pkg, n), func(t *testing.T) {
				plain := randomBytes(int64(n), n)
				sealed := seal(t, c, plain)
				if n >= 64 && bytes.Contains(sealed, plain[:64]) {
					t.Fatal("plaintext visible in the sealed stream")
				}
				got, err := open(c, sealed, int64(n), 0, int64(n))
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("round trip: %v, equal %v", err, bytes.Equal(got, plain))
				}
				// Detached layout: same length as the plaintext.
				ct, tags := c.SealDetached(plain)
				if len(ct) != n || int64(len(tags)) != c.Packages(int64(n))*TagSize {
					t.Fatalf("detached: %d ct bytes, %d tag bytes", len(ct), len(tags))
				}
				var out bytes.Buffer
				if err := c.OpenDetached(&out, ct, tags, 0, int64(n)); err != nil || !bytes.Equal(out.Bytes(), plain) {
					t.Fatalf("detached round trip: %v", err)
				}
			})
		}
	}
}

func TestEncryptReaderOddReaders(t *testing.T) {
	c := testCipher(t, 1000)
	plain := randomBytes(1, 5*1000+17)
	want := seal(t, c, plain)
	for name, r := range map[string]io.Reader{
		"one byte": iotest.OneByteReader(bytes.NewReader(plain)),
		"half":     iotest.HalfReader(bytes.NewReader(plain)),
		"data+EOF": iotest.DataErrReader(bytes.NewReader(plain)),
	} {
		got, err := io.ReadAll(c.EncryptReader(r))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %v, equal %v", name, err, bytes.Equal(got, want))
		}
	}
	boom := errors.New("boom")
	_, err := io.ReadAll(c.EncryptReader(io.MultiReader(bytes.NewReader(plain[:2500]), iotest.ErrReader(boom))))
	if !errors.Is(err, boom) {
		t.Fatalf("source error: got %v", err)
	}
}

func TestRangesAtPackageBoundaries(t *testing.T) {
	for _, pkg := range []int{1000, PackageSize} {
		c := testCipher(t, pkg)
		size := int64(5*pkg + 123)
		plain := randomBytes(2, int(size))
		sealed := seal(t, c, plain)
		ct, tags := c.SealDetached(plain)
		var points []int64
		for _, b := range []int64{0, int64(pkg), 2 * int64(pkg), 5 * int64(pkg), size} {
			for _, d := range []int64{-1, 0, 1} {
				if p := b + d; p >= 0 && p <= size {
					points = append(points, p)
				}
			}
		}
		for _, lo := range points {
			for _, hi := range points {
				if hi < lo {
					continue
				}
				got, err := open(c, sealed, size, lo, hi-lo)
				if err != nil || !bytes.Equal(got, plain[lo:hi]) {
					t.Fatalf("pkg %d range [%d,%d): %v", pkg, lo, hi, err)
				}
				var out bytes.Buffer
				if err := c.OpenDetached(&out, ct, tags, lo, hi-lo); err != nil || !bytes.Equal(out.Bytes(), plain[lo:hi]) {
					t.Fatalf("pkg %d detached range [%d,%d): %v", pkg, lo, hi, err)
				}
			}
		}
	}
}

func TestSealedRangeTouchesOnlyNeededPackages(t *testing.T) {
	c := testCipher(t, 1000)
	step := int64(1000 + TagSize)
	for _, tc := range []struct{ size, off, n, wantOff, wantLen int64 }{
		{10_000, 0, 1, 0, step},
		{10_000, 999, 1, 0, step},
		{10_000, 999, 2, 0, 2 * step},
		{10_000, 1000, 1000, step, step},
		{10_000, 9_999, 1, 9 * step, step},
		{10_500, 10_000, 500, 10 * step, 500 + TagSize},
		{0, 0, 0, 0, 0},
	} {
		if tc.n == 0 {
			continue
		}
		so, sl := c.SealedRange(tc.size, tc.off, tc.n)
		if so != tc.wantOff || sl != tc.wantLen {
			t.Errorf("SealedRange(%d, %d, %d) = %d, %d; want %d, %d", tc.size, tc.off, tc.n, so, sl, tc.wantOff, tc.wantLen)
		}
	}
}

func TestTamperingIsDetected(t *testing.T) {
	pkg := 1000
	c := testCipher(t, pkg)
	size := int64(4*pkg + 10)
	plain := randomBytes(3, int(size))
	sealed := seal(t, c, plain)
	step := pkg + TagSize
	whole := func(s []byte) error {
		var out bytes.Buffer
		d := c.DecryptWriter(&out, size, 0, size)
		_, err := d.Write(s)
		if cerr := d.Close(); err == nil {
			err = cerr
		}
		return err
	}
	cases := map[string][]byte{}
	for _, at := range []int{0, pkg - 1, pkg, step, len(sealed) - 1} {
		b := bytes.Clone(sealed)
		b[at] ^= 0x40
		cases[fmt.Sprintf("flip byte %d", at)] = b
	}
	swapped := bytes.Clone(sealed)
	copy(swapped[:step], sealed[step:2*step])
	copy(swapped[step:2*step], sealed[:step])
	cases["swap packages 0 and 1"] = swapped
	cases["truncate at a package boundary"] = sealed[:3*step]
	cases["truncate mid package"] = sealed[:len(sealed)-5]
	cases["run on"] = append(bytes.Clone(sealed), 0)
	// A stream cut at a package boundary must not pass as a shorter object.
	cases["shorter object"] = nil
	for name, b := range cases {
		var err error
		if b == nil {
			var out bytes.Buffer
			d := c.DecryptWriter(&out, int64(3*pkg), 0, int64(3*pkg))
			_, err = d.Write(sealed[:3*step])
			if err == nil {
				err = d.Close()
			}
		} else {
			err = whole(b)
		}
		if !errors.Is(err, ErrTampered) {
			t.Errorf("%s: got %v, want ErrTampered", name, err)
		}
	}
	// Another data key: the same bytes do not open.
	other, _ := newCipher(bytes.Repeat([]byte{8}, KeySize), []byte{1, 2, 3, 4}, pkg)
	if _, err := open(other, sealed, size, 0, size); !errors.Is(err, ErrTampered) {
		t.Errorf("other key: got %v", err)
	}
	// Detached: a flipped tag or ciphertext byte.
	ct, tags := c.SealDetached(plain)
	tags[TagSize] ^= 1
	if err := c.OpenDetached(io.Discard, ct, tags, 0, size); !errors.Is(err, ErrTampered) {
		t.Errorf("detached tag: got %v", err)
	}
	tags[TagSize] ^= 1
	ct[2*pkg+1] ^= 1
	if err := c.OpenDetached(io.Discard, ct, tags, int64(2*pkg), 1); !errors.Is(err, ErrTampered) {
		t.Errorf("detached ct: got %v", err)
	}
	if err := c.OpenDetached(io.Discard, ct, tags[:TagSize], 0, 1); !errors.Is(err, ErrTampered) {
		t.Errorf("missing tags: got %v", err)
	}
}

// patternReader yields n bytes of a cheap pattern without allocating.
type patternReader struct{ left, pos int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.left)]
	for i := range b {
		b[i] = byte(p.pos*31 + int64(i))
	}
	p.pos++
	p.left -= int64(len(b))
	return len(b), nil
}

// TestMemoryIsBoundedByOnePackage streams 256 MiB through EncryptReader
// into DecryptWriter: allocations stay O(package), not O(object).
func TestMemoryIsBoundedByOnePackage(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 256 MiB")
	}
	c := testCipher(t, PackageSize)
	const size = 256 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := c.DecryptWriter(io.Discard, size, 0, size)
	buf := make([]byte, 32<<10)
	n, err := io.CopyBuffer(d, c.EncryptReader(&patternReader{left: size}), buf)
	if err == nil {
		err = d.Close()
	}
	runtime.ReadMemStats(&after)
	if err != nil || n != c.SealedSize(size) {
		t.Fatalf("copied %d: %v", n, err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("256 MiB through encrypt+decrypt: %d bytes allocated, %d allocations", allocated, after.Mallocs-before.Mallocs)
	if allocated > 4*(PackageSize+TagSize)+64<<10 {
		t.Fatalf("allocated %d bytes for a 256 MiB stream; want O(package)", allocated)
	}
}

func BenchmarkEncrypt(b *testing.B) {
	c := testCipher(b, PackageSize)
	const size = 16 << 20
	plain := randomBytes(1, size)
	buf := make([]byte, 256<<10)
	b.SetBytes(size)
	for b.Loop() {
		if _, err := io.CopyBuffer(io.Discard, c.EncryptReader(bytes.NewReader(plain)), buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	c := testCipher(b, PackageSize)
	const size = 16 << 20
	sealed, err := io.ReadAll(c.EncryptReader(&patternReader{left: size}))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		d := c.DecryptWriter(io.Discard, size, 0, size)
		if _, err := d.Write(sealed); err != nil {
			b.Fatal(err)
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// A write holding whole packages is opened where it lies: the plaintext
// must still come out right, for any range, and the caller's bytes must be
// left as they were (io.Writer's contract).
func TestDecryptWriterOpensWholePackagesInPlace(t *testing.T) {
	const pkg = 1000
	c := testCipher(t, pkg)
	size := int64(7*pkg + 3)
	plain := randomBytes(size, int(size))
	sealed := seal(t, c, plain)
	for _, r := range [][2]int64{{0, size}, {pkg / 2, 3 * pkg}, {2 * pkg, size - 2*pkg}, {size - 1, 1}} {
		so, sl := c.SealedRange(size, r[0], r[1])
		in := bytes.Clone(sealed[so : so+sl])
		var out bytes.Buffer
		d := c.DecryptWriter(&out, size, r[0], r[1])
		if n, err := d.Write(in); err != nil || n != len(in) {
			t.Fatalf("range %v: write %d of %d: %v", r, n, len(in), err)
		}
		if err := d.Close(); err != nil {
			t.Fatalf("range %v: close: %v", r, err)
		}
		if !bytes.Equal(out.Bytes(), plain[r[0]:r[0]+r[1]]) {
			t.Fatalf("range %v: wrong plaintext", r)
		}
		if !bytes.Equal(in, sealed[so:so+sl]) {
			t.Fatalf("range %v: DecryptWriter changed the bytes it was given", r)
		}
	}
	// A flipped bit in a package opened in place is still caught.
	bad := bytes.Clone(sealed)
	bad[pkg+TagSize+10] ^= 1
	d := c.DecryptWriter(io.Discard, size, 0, size)
	if _, err := d.Write(bad); !errors.Is(err, ErrTampered) {
		t.Fatalf("tampered package opened in place: %v, want ErrTampered", err)
	}
}

// Reading the sealed stream with room for whole packages seals them in the
// caller's buffer; with less room, through the reader's own. Both give the
// same bytes, for any mix of read sizes, and a source error still ends it.
func TestEncryptReaderSealsInTheCallersBuffer(t *testing.T) {
	const pkg = 1000
	c := testCipher(t, pkg)
	for _, size := range []int{0, 1, pkg, pkg + 1, 7*pkg + 3} {
		plain := randomBytes(int64(size), size)
		// The reference: reads far smaller than a package.
		want, err := io.ReadAll(iotest.OneByteReader(c.EncryptReader(bytes.NewReader(plain))))
		if err != nil {
			t.Fatal(err)
		}
		for _, chunk := range []int{pkg + TagSize, pkg + TagSize + 1, 3*(pkg+TagSize) - 1, 100} {
			r := c.EncryptReader(bytes.NewReader(plain))
			var got []byte
			buf := make([]byte, chunk)
			for {
				n, err := r.Read(buf)
				got = append(got, buf[:n]...)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("size %d, reads of %d: %v", size, chunk, err)
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("size %d, reads of %d: sealed stream differs (%d bytes, want %d)", size, chunk, len(got), len(want))
			}
		}
	}
	boom := errors.New("boom")
	r := c.EncryptReader(io.MultiReader(bytes.NewReader(make([]byte, 2500)), iotest.ErrReader(boom)))
	buf := make([]byte, 4*pkg)
	var err error
	for err == nil {
		_, err = r.Read(buf)
	}
	if !errors.Is(err, boom) {
		t.Fatalf("source error through whole-package reads: got %v", err)
	}
}
