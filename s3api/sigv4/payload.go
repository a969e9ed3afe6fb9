package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Values of x-amz-content-sha256 (besides a hex SHA-256) that select how the
// body is carried.
const (
	// UnsignedPayload: the body is not covered by the signature.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// StreamingSigned: aws-chunked body, every chunk signed.
	StreamingSigned = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// StreamingSignedTrailer: aws-chunked body, every chunk and the trailer
	// signed.
	StreamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	// StreamingUnsignedTrailer: aws-chunked body, unsigned chunks followed by
	// an unsigned trailer (integrity comes from the trailing checksum).
	StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// payloadKind classifies an x-amz-content-sha256 value.
type payloadKind int

const (
	payloadUnsigned payloadKind = iota
	payloadHex
	payloadStreaming
)

// classifyPayload validates an x-amz-content-sha256 value.
func classifyPayload(v string) (payloadKind, error) {
	switch v {
	case UnsignedPayload:
		return payloadUnsigned, nil
	case StreamingSigned, StreamingSignedTrailer, StreamingUnsignedTrailer:
		return payloadStreaming, nil
	}
	if isHex64(v) {
		return payloadHex, nil
	}
	return 0, fmt.Errorf("%w: x-amz-content-sha256 must be %s, %s, %s, %s or a valid sha256 value; got %q",
		ErrInvalidContentSHA256, UnsignedPayload, StreamingSigned, StreamingSignedTrailer, StreamingUnsignedTrailer, v)
}

// ExpectedDecodedLength returns the X-Amz-Decoded-Content-Length of an
// aws-chunked request: the number of object bytes its decoded body yields.
// ok is false when the request is not aws-chunked (its body is not a
// *ChunkedReader and x-amz-content-sha256 is not a STREAMING- mode), so a
// stray header on a plain body is never mistaken for the object size, and
// when the header is absent or not a non-negative decimal integer (Verify
// rejects the latter on streaming requests).
func ExpectedDecodedLength(r *http.Request) (int64, bool) {
	if c, ok := r.Body.(*ChunkedReader); ok {
		return c.want, c.want >= 0
	}
	if !strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		return 0, false
	}
	return decodedLength(r.Header)
}

// decodedLength parses X-Amz-Decoded-Content-Length.
func decodedLength(h http.Header) (int64, bool) {
	vals := h.Values("X-Amz-Decoded-Content-Length")
	if len(vals) != 1 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(vals[0]), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// StripAWSChunked removes the "aws-chunked" coding from a Content-Encoding
// value, returning what should be stored with the object ("" if nothing is
// left), its codings joined with ", " as S3 answers them. S3 does not
// store aws-chunked: it describes the transfer only.
func StripAWSChunked(contentEncoding string) string {
	var keep []string
	for part := range strings.SplitSeq(contentEncoding, ",") {
		part = strings.TrimSpace(part)
		if part == "" || strings.EqualFold(part, "aws-chunked") {
			continue
		}
		keep = append(keep, part)
	}
	return strings.Join(keep, ", ")
}

// sha256Body passes a body through while hashing it; at EOF it reports
// ErrContentSHA256Mismatch instead of io.EOF if the digest differs from the
// signed x-amz-content-sha256. Nothing is buffered.
type sha256Body struct {
	body io.ReadCloser
	h    hash.Hash
	want [sha256.Size]byte
	err  error // sticky terminal error (io.EOF once verified)
}

func newSHA256Body(body io.ReadCloser, hexDigest string) (*sha256Body, error) {
	b := &sha256Body{body: body, h: sha256.New()}
	if _, err := hex.Decode(b.want[:], []byte(hexDigest)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidContentSHA256, err)
	}
	return b, nil
}

func (b *sha256Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.body.Read(p)
	b.h.Write(p[:n])
	if err == io.EOF {
		if !bytes.Equal(b.h.Sum(nil), b.want[:]) {
			err = fmt.Errorf("%w: computed %x, x-amz-content-sha256 %x", ErrContentSHA256Mismatch, b.h.Sum(nil), b.want)
		}
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *sha256Body) Close() error { return b.body.Close() }
