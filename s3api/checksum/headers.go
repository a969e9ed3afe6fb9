package checksum

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// Requested describes the integrity checks an upload request asked for, as
// parsed by FromHeaders. S3 allows at most one x-amz-checksum algorithm per
// request, in addition to Content-MD5.
type Requested struct {
	// ContentMD5 is the validated base64 Content-MD5 value, "" if absent.
	ContentMD5 string
	// Algorithm is the canonical name of the requested x-amz-checksum
	// algorithm, "" if none. It comes from an x-amz-checksum-* header, from
	// x-amz-trailer, or from x-amz-sdk-checksum-algorithm alone (then S3
	// computes and stores the checksum without checking it).
	Algorithm string
	// Value is the validated base64 checksum sent as a header, "" if the
	// value is sent as a trailer or not at all.
	Value string
	// Trailer is the lower-case trailer name (e.g. "x-amz-checksum-crc32")
	// that will carry the value at the end of an aws-chunked body, "" if none.
	Trailer string
}

// isNonValueHeader reports whether lower, a lower-case x-amz-checksum-*
// header name, is one of the request headers that carry no digest.
func isNonValueHeader(lower string) bool {
	switch lower {
	case "x-amz-checksum-algorithm", // CreateMultipartUpload
		"x-amz-checksum-type", // FULL_OBJECT / COMPOSITE
		"x-amz-checksum-mode": // GetObject / HeadObject
		return true
	}
	return false
}

// FromHeaders extracts the requested checksums from request headers:
// Content-MD5, x-amz-checksum-<alg>, x-amz-trailer naming an
// x-amz-checksum-<alg> trailer, and x-amz-sdk-checksum-algorithm. Values are
// validated for form (base64 of the algorithm's digest size), not against the
// body. Errors wrap ErrInvalidDigest (bad Content-MD5), ErrInvalidChecksum,
// ErrUnknownAlgorithm or ErrMultipleChecksums.
func FromHeaders(h http.Header) (*Requested, error) {
	q := &Requested{}

	if vals := h.Values("Content-Md5"); len(vals) > 0 {
		if len(vals) > 1 {
			return nil, fmt.Errorf("%w: Content-MD5 sent %d times", ErrInvalidDigest, len(vals))
		}
		if _, err := decodeDigest(vals[0], 16); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrInvalidDigest, vals[0], err)
		}
		q.ContentMD5 = vals[0]
	}

	// Checksum headers, in sorted order so errors are deterministic.
	var names []string
	for name := range h {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, headerPrefix) && !isNonValueHeader(lower) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		a, ok := lookupHeader(name)
		if !ok {
			return nil, fmt.Errorf("%w: header %s", ErrUnknownAlgorithm, strings.ToLower(name))
		}
		vals := h[name]
		if q.Algorithm != "" || len(vals) != 1 {
			return nil, fmt.Errorf("%w: Expecting a single x-amz-checksum- header", ErrMultipleChecksums)
		}
		if _, err := decodeDigest(vals[0], a.size); err != nil {
			return nil, fmt.Errorf("%w: Value for %s header is invalid", ErrInvalidChecksum, a.header)
		}
		q.Algorithm, q.Value = a.name, vals[0]
	}

	for _, v := range h.Values("X-Amz-Trailer") {
		for _, name := range strings.Split(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if !strings.HasPrefix(name, headerPrefix) {
				continue // not a checksum trailer; the chunk decoder owns the rest
			}
			a, ok := lookupHeader(name)
			if !ok {
				return nil, fmt.Errorf("%w: trailer %s", ErrUnknownAlgorithm, name)
			}
			if q.Algorithm != "" {
				return nil, fmt.Errorf("%w: Expecting a single x-amz-checksum- header", ErrMultipleChecksums)
			}
			q.Algorithm, q.Trailer = a.name, a.header
		}
	}

	if vals := h.Values("X-Amz-Sdk-Checksum-Algorithm"); len(vals) > 0 {
		a, ok := lookup(strings.TrimSpace(vals[0]))
		if len(vals) > 1 || !ok {
			return nil, fmt.Errorf("%w: x-amz-sdk-checksum-algorithm %q", ErrUnknownAlgorithm, strings.Join(vals, ","))
		}
		if q.Algorithm != "" && q.Algorithm != a.name {
			return nil, fmt.Errorf("%w: Value for x-amz-sdk-checksum-algorithm header is invalid: %s does not match the %s checksum sent",
				ErrInvalidChecksum, a.name, q.Algorithm)
		}
		q.Algorithm = a.name
	}
	return q, nil
}

// Algorithms lists the x-amz-checksum algorithms to compute over the body
// (zero or one name); pass it to NewSet. MD5 is always computed by a Set.
func (q *Requested) Algorithms() []string {
	if q.Algorithm == "" {
		return nil
	}
	return []string{q.Algorithm}
}

// Expected returns the values known from the headers, keyed for Set.Verify
// (MD5 for Content-MD5). A trailer value is not included: see Verify.
func (q *Requested) Expected() map[string]string {
	m := make(map[string]string, 2)
	if q.ContentMD5 != "" {
		m[MD5] = q.ContentMD5
	}
	if q.Algorithm != "" && q.Value != "" {
		m[q.Algorithm] = q.Value
	}
	return m
}

// TrailerValue fetches and validates the declared checksum trailer from an
// aws-chunked body's trailer (as returned after EOF by the sigv4 chunk
// decoder's Trailer method). It returns "" and no error when no trailer was
// declared; a declared but absent trailer wraps ErrMissingTrailer, a
// malformed one ErrInvalidChecksum.
func (q *Requested) TrailerValue(trailer http.Header) (string, error) {
	if q.Trailer == "" {
		return "", nil
	}
	vals := trailer.Values(q.Trailer)
	if len(vals) == 0 {
		return "", fmt.Errorf("%w: %s", ErrMissingTrailer, q.Trailer)
	}
	if len(vals) > 1 {
		return "", fmt.Errorf("%w: Expecting a single x-amz-checksum- trailer", ErrMultipleChecksums)
	}
	a, _ := lookupHeader(q.Trailer)
	if _, err := decodeDigest(vals[0], a.size); err != nil {
		return "", fmt.Errorf("%w: Value for %s trailing header is invalid", ErrInvalidChecksum, q.Trailer)
	}
	return vals[0], nil
}

// trailerSource is implemented by bodies that carry an HTTP trailer, such as
// the sigv4 aws-chunked decoder.
type trailerSource interface {
	Trailer() http.Header
}

// Verify checks sums, which must have been fed the whole body, against every
// requested value: Content-MD5, the header checksum, and the trailer checksum
// read from body (which must then implement Trailer() http.Header and have
// been read to EOF). Errors wrap ErrBadDigest, ErrChecksumMismatch,
// ErrMissingTrailer, ErrInvalidChecksum or ErrMultipleChecksums.
func (q *Requested) Verify(sums *Set, body io.Reader) error {
	expected := q.Expected()
	if q.Trailer != "" {
		src, ok := body.(trailerSource)
		if !ok {
			return fmt.Errorf("%w: %s declared but the body carries no trailer", ErrMissingTrailer, q.Trailer)
		}
		v, err := q.TrailerValue(src.Trailer())
		if err != nil {
			return err
		}
		expected[q.Algorithm] = v
	}
	return sums.Verify(expected)
}
