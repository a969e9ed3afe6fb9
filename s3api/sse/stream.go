package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	// PackageSize is the plaintext bytes per package of newly written data.
	PackageSize = 64 << 10
	// TagSize is what sealing adds to each package (the GCM tag).
	TagSize = 16
	// KeySize is the size of data keys, master keys and customer keys.
	KeySize = 32
	// PrefixSize is the size of a version's random nonce prefix.
	PrefixSize = 4

	maxPackageSize = 16 << 20
	nonceSize      = 12
	packageLabel   = "cairn-sse-v1"
	aadSize        = len(packageLabel) + 8 + 1
)

// Cipher seals and opens the packages of one version's data. It is safe
// for concurrent use; each stream keeps its own buffers.
type Cipher struct {
	aead   cipher.AEAD
	prefix [PrefixSize]byte
	pkg    int
}

func newCipher(dataKey, prefix []byte, packageSize int) (*Cipher, error) {
	if len(dataKey) != KeySize || len(prefix) != PrefixSize || packageSize <= 0 || packageSize > maxPackageSize {
		return nil, fmt.Errorf("%w: key %d bytes, nonce prefix %d bytes, package size %d", ErrUnknownKey, len(dataKey), len(prefix), packageSize)
	}
	block, err := aes.NewCipher(dataKey)
	if err != nil {
		return nil, fmt.Errorf("sse: data key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sse: data key: %w", err)
	}
	c := &Cipher{aead: aead, pkg: packageSize}
	copy(c.prefix[:], prefix)
	return c, nil
}

// PackageSize returns the plaintext bytes per package.
func (c *Cipher) PackageSize() int { return c.pkg }

// Packages returns how many packages a plaintext of size bytes makes: at
// least one, so an empty stream still authenticates.
func (c *Cipher) Packages(size int64) int64 {
	return max(1, (size+int64(c.pkg)-1)/int64(c.pkg))
}

// SealedSize returns the length of the streamed layout of size plaintext
// bytes.
func (c *Cipher) SealedSize(size int64) int64 { return size + TagSize*c.Packages(size) }

// SealedRange returns the part of the streamed layout that holds plaintext
// bytes [off, off+n) of a size-byte plaintext: whole packages, the first
// one holding off. n must be positive and the range inside the plaintext.
func (c *Cipher) SealedRange(size, off, n int64) (sealedOff, sealedLen int64) {
	step := int64(c.pkg) + TagSize
	first, last := off/int64(c.pkg), (off+n-1)/int64(c.pkg)
	end := min(c.SealedSize(size), (last+1)*step)
	return first * step, end - first*step
}

// scratch holds a stream's nonce and additional data, so sealing a package
// allocates nothing.
type scratch struct {
	nonce [nonceSize]byte
	aad   [aadSize]byte
}

func (s *scratch) set(c *Cipher, i int64, final bool) {
	copy(s.nonce[:], c.prefix[:])
	binary.BigEndian.PutUint64(s.nonce[PrefixSize:], uint64(i))
	copy(s.aad[:], packageLabel)
	binary.BigEndian.PutUint64(s.aad[len(packageLabel):], uint64(i))
	s.aad[aadSize-1] = 0
	if final {
		s.aad[aadSize-1] = 1
	}
}

func (c *Cipher) seal(dst, plain []byte, i int64, final bool, s *scratch) []byte {
	s.set(c, i, final)
	return c.aead.Seal(dst, s.nonce[:], plain, s.aad[:])
}

func (c *Cipher) open(dst, sealed []byte, i int64, final bool, s *scratch) ([]byte, error) {
	s.set(c, i, final)
	out, err := c.aead.Open(dst, s.nonce[:], sealed, s.aad[:])
	if err != nil {
		return nil, fmt.Errorf("%w: package %d", ErrTampered, i)
	}
	return out, nil
}

// EncryptReader returns the streamed layout of r's bytes. It reads r to its
// end (one byte ahead, to know which package is the last) and passes on any
// error r returns.
func (c *Cipher) EncryptReader(r io.Reader) io.Reader {
	return &encryptReader{c: c, r: r, buf: make([]byte, 0, c.pkg+TagSize)}
}

type encryptReader struct {
	c        *Cipher
	r        io.Reader
	buf      []byte // one package: plaintext, then sealed in place
	out      []byte // the unread rest of the sealed package
	next     int64
	one      [1]byte
	carry    bool // one[0] is the first byte of the next package
	finished bool
	err      error
	scratch
}

func (e *encryptReader) Read(p []byte) (int, error) {
	for len(e.out) == 0 {
		switch {
		case e.err != nil:
			return 0, e.err
		case e.finished:
			return 0, io.EOF
		}
		if len(p) >= e.c.pkg+TagSize {
			// Room for a whole sealed package: read and seal it in p
			// itself rather than in buf and copy it over.
			if sealed := e.fill(p[: 0 : e.c.pkg+TagSize]); len(sealed) > 0 {
				return len(sealed), nil
			}
			continue // nothing sealed: e.err says why
		}
		e.out = e.fill(e.buf[:0])
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

// fill reads the next package into buf's capacity and seals it there,
// returning the sealed package (empty when nothing was read or on error,
// which it records in e.err).
func (e *encryptReader) fill(buf []byte) []byte {
	plain := buf[:e.c.pkg]
	n := 0
	if e.carry {
		plain[0], n, e.carry = e.one[0], 1, false
	}
	got, err := io.ReadFull(e.r, plain[n:])
	n += got
	final := false
	switch {
	case err == nil: // a full package: is there more?
		if _, err := io.ReadFull(e.r, e.one[:]); err == nil {
			e.carry = true
		} else if errors.Is(err, io.EOF) {
			final = true
		} else {
			e.err = err
			return nil
		}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		final = true
	default:
		e.err = err
		return nil
	}
	out := e.c.seal(buf[:0], plain[:n], e.next, final, &e.scratch)
	e.next++
	e.finished = final
	return out
}

// DecryptWriter takes the streamed layout of a size-byte plaintext from
// the package holding plaintext offset off on (see SealedRange), and writes
// plaintext bytes [off, off+n) to w, each package only once it
// authenticated. Close reports ciphertext that ended early.
type DecryptWriter struct {
	c                *Cipher
	w                io.Writer
	buf              []byte
	next, last, stop int64 // package being filled, the stream's last, the range's last
	lo, hi           int64 // plaintext range wanted
	size             int64
	err              error
	scratch
}

// DecryptWriter returns a DecryptWriter for plaintext bytes [off, off+n) of
// a size-byte plaintext.
func (c *Cipher) DecryptWriter(w io.Writer, size, off, n int64) *DecryptWriter {
	d := &DecryptWriter{
		c: c, w: w, buf: make([]byte, 0, min(int64(c.pkg), size)+TagSize),
		next: off / int64(c.pkg), last: c.Packages(size) - 1, lo: off, hi: off + n, size: size,
	}
	d.stop = d.next - 1
	if n > 0 {
		d.stop = (off + n - 1) / int64(c.pkg)
	}
	return d
}

// sealedLen is the length of package i in the streamed layout.
func (d *DecryptWriter) sealedLen(i int64) int {
	if i < d.last {
		return d.c.pkg + TagSize
	}
	return int(d.size-d.last*int64(d.c.pkg)) + TagSize
}

func (d *DecryptWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	written := 0
	for len(p) > 0 {
		if d.next > d.stop {
			d.err = fmt.Errorf("%w: ciphertext runs past package %d", ErrTampered, d.stop)
			return written, d.err
		}
		want := d.sealedLen(d.next)
		var sealed []byte
		if len(d.buf) == 0 && len(p) >= want {
			// A whole package within p: open it from there, no copy.
			sealed, p, written = p[:want], p[want:], written+want
		} else {
			k := min(len(p), want-len(d.buf))
			d.buf = append(d.buf, p[:k]...)
			p, written = p[k:], written+k
			if len(d.buf) < want {
				break
			}
			sealed = d.buf
		}
		if err := d.flush(sealed); err != nil {
			d.err = err
			return written, err
		}
	}
	return written, nil
}

// flush opens the complete package sealed (d.buf, or a piece of the
// caller's slice, which it must not change) into d.buf and writes its
// wanted bytes.
func (d *DecryptWriter) flush(sealed []byte) error {
	plain, err := d.c.open(d.buf[:0], sealed, d.next, d.next == d.last, &d.scratch)
	if err != nil {
		return err
	}
	start := d.next * int64(d.c.pkg)
	lo, hi := max(d.lo, start)-start, min(d.hi, start+int64(len(plain)))-start
	d.next++
	d.buf = d.buf[:0]
	if lo < hi {
		if _, err := d.w.Write(plain[lo:hi]); err != nil {
			return err
		}
	}
	return nil
}

// Close reports an earlier error, or ciphertext that ended before the last
// package of the range.
func (d *DecryptWriter) Close() error {
	if d.err != nil {
		return d.err
	}
	if d.next <= d.stop {
		d.err = fmt.Errorf("%w: ciphertext ended in package %d of %d", ErrTampered, d.next, d.stop)
		return d.err
	}
	return nil
}

// SealDetached seals a (small) plaintext in the detached layout: ct is as
// long as plain, tags holds TagSize bytes per package.
func (c *Cipher) SealDetached(plain []byte) (ct, tags []byte) {
	n := c.Packages(int64(len(plain)))
	ct = make([]byte, len(plain))
	tags = make([]byte, 0, n*TagSize)
	buf := make([]byte, 0, min(c.pkg, len(plain))+TagSize) // one package, no larger than plain
	var s scratch
	for i := range n {
		lo := int(i) * c.pkg
		hi := min(len(plain), lo+c.pkg)
		sealed := c.seal(buf[:0], plain[lo:hi], i, i == n-1, &s)
		copy(ct[lo:], sealed[:hi-lo])
		tags = append(tags, sealed[hi-lo:]...)
	}
	return ct, tags
}

// OpenDetached writes plaintext bytes [off, off+n) of the detached layout
// (ct, tags) to w, opening only the packages the range touches.
func (c *Cipher) OpenDetached(w io.Writer, ct, tags []byte, off, n int64) error {
	size := int64(len(ct))
	packages := c.Packages(size)
	if int64(len(tags)) != packages*TagSize {
		return fmt.Errorf("%w: %d tag bytes for %d packages", ErrTampered, len(tags), packages)
	}
	if off < 0 || n < 0 || off+n > size {
		return fmt.Errorf("sse: range [%d, +%d) of %d bytes: %w", off, n, size, io.ErrUnexpectedEOF)
	}
	if n == 0 {
		return nil
	}
	// One package at a time, no larger than the object: a 64 KiB buffer
	// for every small inline object read was most of a 4 KiB GET's
	// garbage.
	buf := make([]byte, 0, min(int64(c.pkg), size)+TagSize)
	var s scratch
	for i := off / int64(c.pkg); i <= (off+n-1)/int64(c.pkg); i++ {
		start := i * int64(c.pkg)
		end := min(size, start+int64(c.pkg))
		buf = append(append(buf[:0], ct[start:end]...), tags[i*TagSize:(i+1)*TagSize]...)
		plain, err := c.open(buf[:0], buf, i, i == packages-1, &s)
		if err != nil {
			return err
		}
		lo, hi := max(off, start)-start, min(off+n, end)-start
		if _, err := w.Write(plain[lo:hi]); err != nil {
			return err
		}
	}
	return nil
}
