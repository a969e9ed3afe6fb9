package checksum

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"hash"
	"sort"
	"strings"
)

// Set computes, in one pass over the object bytes, the MD5 (always: it is
// the ETag of a simple object) plus any requested x-amz-checksum algorithms.
// A Set is not safe for concurrent use.
type Set struct {
	md5  hash.Hash
	sums [len(algorithms)]hash.Hash // indexed by algorithm.id; nil = not requested
	list []hash.Hash                // the non-nil entries of sums, for Write
}

// NewSet returns a Set computing MD5 and each named algorithm (names are
// case-insensitive; duplicates are ignored). An unsupported name yields an
// error wrapping ErrUnknownAlgorithm.
func NewSet(algs ...string) (*Set, error) {
	s := &Set{md5: md5.New()}
	for _, name := range algs {
		a, ok := lookup(name)
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, name)
		}
		if s.sums[a.id] != nil {
			continue
		}
		h := newHash(a)
		s.sums[a.id] = h
		s.list = append(s.list, h)
	}
	return s, nil
}

// Write feeds p to every digest. It never fails.
func (s *Set) Write(p []byte) (int, error) {
	s.md5.Write(p)
	for _, h := range s.list {
		h.Write(p)
	}
	return len(p), nil
}

// MD5 returns the raw 16-byte MD5 of everything written so far.
func (s *Set) MD5() []byte { return s.md5.Sum(nil) }

// Algorithms lists, in canonical form and table order, the x-amz-checksum
// algorithms this Set computes (MD5 is implicit and not listed).
func (s *Set) Algorithms() []string {
	var out []string
	for _, a := range algorithms {
		if s.sums[a.id] != nil {
			out = append(out, a.name)
		}
	}
	return out
}

// Sum returns the raw digest of alg over everything written so far, or nil
// if the Set does not compute alg. Sum(MD5) equals MD5().
func (s *Set) Sum(alg string) []byte {
	if strings.EqualFold(alg, MD5) {
		return s.MD5()
	}
	a, ok := lookup(alg)
	if !ok || s.sums[a.id] == nil {
		return nil
	}
	return s.sums[a.id].Sum(nil)
}

// Base64 returns Sum(alg) in standard padded base64, the form S3 uses in
// x-amz-checksum-* and Content-MD5 headers, or "" if the Set does not
// compute alg.
func (s *Set) Base64(alg string) string {
	sum := s.Sum(alg)
	if sum == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(sum)
}

// Verify compares the digests with expected base64 values keyed by algorithm
// name (MD5 for Content-MD5). Keys are checked in a fixed order (MD5 first)
// and the first problem is returned:
//   - a value that is not base64 of the right size: ErrInvalidDigest (MD5) or
//     ErrInvalidChecksum;
//   - a key the Set does not compute: ErrUnknownAlgorithm (a caller bug:
//     build the Set from the same request);
//   - a mismatch: ErrBadDigest (MD5) or ErrChecksumMismatch naming the
//     x-amz-checksum-* header.
func (s *Set) Verify(expected map[string]string) error {
	keys := make([]string, 0, len(expected))
	for k := range expected {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		mi, mj := strings.EqualFold(keys[i], MD5), strings.EqualFold(keys[j], MD5)
		if mi != mj {
			return mi
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		if err := s.verifyOne(k, expected[k]); err != nil {
			return err
		}
	}
	return nil
}

// verifyOne checks one expected value.
func (s *Set) verifyOne(alg, want string) error {
	if strings.EqualFold(alg, MD5) {
		raw, err := decodeDigest(want, md5.Size)
		if err != nil {
			return fmt.Errorf("%w: %q", ErrInvalidDigest, want)
		}
		if !bytes.Equal(raw, s.MD5()) {
			return fmt.Errorf("%w: The Content-MD5 you specified did not match what we received", ErrBadDigest)
		}
		return nil
	}
	a, ok := lookup(alg)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownAlgorithm, alg)
	}
	raw, err := decodeDigest(want, a.size)
	if err != nil {
		return fmt.Errorf("%w: Value for %s header is invalid", ErrInvalidChecksum, a.header)
	}
	h := s.sums[a.id]
	if h == nil {
		return fmt.Errorf("%w: %s was not computed for this request", ErrUnknownAlgorithm, a.name)
	}
	if !bytes.Equal(raw, h.Sum(nil)) {
		return fmt.Errorf("%w: The %s you specified did not match the calculated checksum", ErrChecksumMismatch, a.header)
	}
	return nil
}

// decodeDigest decodes a standard padded base64 value that must encode
// exactly size bytes.
func decodeDigest(v string, size int) ([]byte, error) {
	if len(v) != base64.StdEncoding.EncodedLen(size) {
		return nil, fmt.Errorf("length %d, want %d", len(v), base64.StdEncoding.EncodedLen(size))
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil {
		return nil, err
	}
	if len(raw) != size {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(raw), size)
	}
	return raw, nil
}
