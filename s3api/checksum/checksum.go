package checksum

import (
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"strings"
)

// Algorithm names, spelled as S3 spells them in x-amz-sdk-checksum-algorithm
// and in ChecksumAlgorithm API fields.
const (
	CRC32     = "CRC32"
	CRC32C    = "CRC32C"
	CRC64NVME = "CRC64NVME"
	SHA1      = "SHA1"
	SHA256    = "SHA256"
)

// MD5 is the key under which Content-MD5 values appear in the expected-value
// maps of Set.Verify and Requested.Expected. It is not an x-amz-checksum
// algorithm: New and Header reject it.
const MD5 = "MD5"

// headerPrefix starts the name of every x-amz-checksum-<alg> header.
const headerPrefix = "x-amz-checksum-"

var (
	// ErrUnknownAlgorithm reports a checksum algorithm name this package does
	// not implement (in x-amz-sdk-checksum-algorithm, an x-amz-checksum-*
	// header, x-amz-trailer, or a call to New/NewSet).
	// S3: InvalidRequest 400 "Checksum algorithm provided is unsupported."
	ErrUnknownAlgorithm = errors.New("unsupported checksum algorithm")

	// ErrInvalidDigest reports a Content-MD5 header that is not the base64
	// encoding of 16 bytes.
	// S3: InvalidDigest 400 "The Content-MD5 you specified is not valid."
	ErrInvalidDigest = errors.New("invalid Content-MD5")

	// ErrInvalidChecksum reports an x-amz-checksum-* value (header or
	// trailer) that is not the base64 encoding of a digest of the
	// algorithm's size, or an x-amz-sdk-checksum-algorithm that contradicts
	// the checksum actually sent.
	// S3: InvalidRequest 400 "Value for x-amz-checksum-crc32 header is invalid."
	ErrInvalidChecksum = errors.New("invalid checksum value")

	// ErrMultipleChecksums reports a request carrying more than one
	// x-amz-checksum-* value (headers and/or declared trailers).
	// S3: InvalidRequest 400 "Expecting a single x-amz-checksum- header.
	// Multiple checksum Types are not allowed."
	ErrMultipleChecksums = errors.New("multiple checksum algorithms")

	// ErrMissingTrailer reports that a checksum declared in x-amz-trailer did
	// not arrive in the body's trailer.
	// S3: MalformedTrailerError 400 "The request contained trailing data that
	// was not well-formed or did not conform to our published schema."
	ErrMissingTrailer = errors.New("declared checksum trailer missing")

	// ErrBadDigest reports that the body's MD5 differs from Content-MD5.
	// S3: BadDigest 400 "The Content-MD5 you specified did not match what we
	// received."
	ErrBadDigest = errors.New("Content-MD5 mismatch")

	// ErrChecksumMismatch reports that the body's checksum differs from the
	// x-amz-checksum-* value sent in a header or trailer; the wrapping error
	// names the header. S3: BadDigest 400 "The x-amz-checksum-crc32 you
	// specified did not match the calculated checksum."
	ErrChecksumMismatch = errors.New("checksum mismatch")
)

// algorithm describes one supported x-amz-checksum algorithm.
type algorithm struct {
	name   string // canonical S3 name
	header string // lower-case x-amz-checksum-* header name
	size   int    // raw digest length in bytes
	id     int    // index into Set.sums
}

// algorithms is the constant table of supported algorithms, in the order a
// Set reports them.
var algorithms = [...]algorithm{
	{CRC32, headerPrefix + "crc32", crc32.Size, 0},
	{CRC32C, headerPrefix + "crc32c", crc32.Size, 1},
	{CRC64NVME, headerPrefix + "crc64nvme", 8, 2},
	{SHA1, headerPrefix + "sha1", sha1.Size, 3},
	{SHA256, headerPrefix + "sha256", sha256.Size, 4},
}

// lookup finds an algorithm by name, case-insensitively.
func lookup(name string) (algorithm, bool) {
	for _, a := range algorithms {
		if strings.EqualFold(a.name, name) {
			return a, true
		}
	}
	return algorithm{}, false
}

// lookupHeader finds an algorithm by its x-amz-checksum-* header name,
// case-insensitively.
func lookupHeader(header string) (algorithm, bool) {
	for _, a := range algorithms {
		if strings.EqualFold(a.header, header) {
			return a, true
		}
	}
	return algorithm{}, false
}

// Canonical returns the canonical S3 spelling of an algorithm name given in
// any case, and whether it is supported.
func Canonical(alg string) (string, bool) {
	a, ok := lookup(alg)
	return a.name, ok
}

// Algorithms lists the supported algorithm names.
func Algorithms() []string {
	out := make([]string, len(algorithms))
	for i, a := range algorithms {
		out[i] = a.name
	}
	return out
}

// Header returns the lower-case header that carries alg's checksum, e.g.
// "x-amz-checksum-crc32" for "CRC32", or "" if alg is not supported.
func Header(alg string) string {
	a, ok := lookup(alg)
	if !ok {
		return ""
	}
	return a.header
}

// Size returns the raw digest length of alg in bytes, or 0 if alg is not
// supported.
func Size(alg string) int {
	a, ok := lookup(alg)
	if !ok {
		return 0
	}
	return a.size
}

// New returns a fresh hash for alg. Sum appends the digest in the byte order
// S3 encodes (big-endian for the CRCs). An unsupported name yields an error
// wrapping ErrUnknownAlgorithm.
func New(alg string) (hash.Hash, error) {
	a, ok := lookup(alg)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, alg)
	}
	return newHash(a), nil
}

// newHash returns a fresh hash for a supported algorithm.
func newHash(a algorithm) hash.Hash {
	switch a.name {
	case CRC32:
		return crc32.NewIEEE()
	case CRC32C:
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case CRC64NVME:
		return NewCRC64NVME()
	case SHA1:
		return sha1.New()
	default:
		return sha256.New()
	}
}
