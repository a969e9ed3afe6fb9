package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
)

// patternSize bounds the pseudo-random block object bodies are cut from, so
// memory use does not depend on ObjectSize.
const patternSize = 1 << 20

// patternSeed makes object content reproducible across runs and processes.
const patternSeed = "cairn-bench object content seed"

// pattern is a read-only block of pseudo-random bytes. The body of the object
// with key index i is the block repeated endlessly, starting at offset(i) and
// truncated to the object size, so different keys have different content
// without any per-object allocation. It is safe for concurrent use.
type pattern struct {
	buf []byte
}

// newPattern returns a pattern of min(patternSize, objectSize) bytes (at
// least one).
func newPattern(objectSize int64) *pattern {
	n := int64(patternSize)
	if objectSize < n {
		n = max(objectSize, 1)
	}
	var seed [32]byte
	copy(seed[:], patternSeed)
	buf := make([]byte, n)
	// ChaCha8.Read never fails.
	_, _ = rand.NewChaCha8(seed).Read(buf)
	return &pattern{buf: buf}
}

// offset returns where in the block the body of key index i starts.
func (p *pattern) offset(i int64) int64 {
	return int64(uint64(i) * 0x9E3779B97F4A7C15 % uint64(len(p.buf)))
}

// body returns a fresh reader over the size-byte body of key index i.
func (p *pattern) body(i, size int64) *bodyReader {
	return &bodyReader{p: p, start: p.offset(i), size: size}
}

// matches reports whether b equals the body of key index i at offset pos.
func (p *pattern) matches(i, pos int64, b []byte) bool {
	n := int64(len(p.buf))
	at := (p.offset(i) + pos) % n
	for len(b) > 0 {
		seg := p.buf[at:]
		if len(seg) > len(b) {
			seg = seg[:len(b)]
		}
		if !bytes.Equal(seg, b[:len(seg)]) {
			return false
		}
		b = b[len(seg):]
		at = 0
	}
	return true
}

// bodyReader streams one object body out of a pattern. It implements
// io.ReadSeeker (the SDK rewinds bodies after hashing them), io.WriterTo and
// io.ReaderAt (the upload manager cuts parts out of it with section readers
// instead of buffering them). ReadAt is safe for concurrent use; the other
// methods are not, and each request gets its own reader.
type bodyReader struct {
	p     *pattern
	start int64 // pattern offset of body byte 0
	size  int64
	pos   int64
}

// chunk returns the pattern bytes at the current position, at most limit.
func (r *bodyReader) chunk(limit int64) []byte {
	at := (r.start + r.pos) % int64(len(r.p.buf))
	seg := r.p.buf[at:]
	if int64(len(seg)) > limit {
		seg = seg[:limit]
	}
	return seg
}

// Read implements io.Reader.
func (r *bodyReader) Read(b []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if rem := r.size - r.pos; int64(len(b)) > rem {
		b = b[:rem]
	}
	n := 0
	for n < len(b) {
		c := copy(b[n:], r.chunk(int64(len(b)-n)))
		n += c
		r.pos += int64(c)
	}
	return n, nil
}

// ReadAt implements io.ReaderAt. It does not move the read position.
func (r *bodyReader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("bench: body ReadAt: negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	var err error
	if rem := r.size - off; int64(len(b)) > rem {
		b, err = b[:rem], io.EOF
	}
	n := int64(len(r.p.buf))
	at := (r.start + off) % n
	for done := 0; done < len(b); at = 0 {
		done += copy(b[done:], r.p.buf[at:])
	}
	return len(b), err
}

// WriteTo implements io.WriterTo, handing pattern slices straight to w.
func (r *bodyReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.pos < r.size {
		c, err := w.Write(r.chunk(r.size - r.pos))
		total += int64(c)
		r.pos += int64(c)
		if err != nil {
			return total, err
		}
		if c == 0 {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// Seek implements io.Seeker.
func (r *bodyReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, fmt.Errorf("bench: body seek: invalid whence %d", whence)
	}
	if abs < 0 {
		return 0, errors.New("bench: body seek: negative position")
	}
	r.pos = abs
	return abs, nil
}
