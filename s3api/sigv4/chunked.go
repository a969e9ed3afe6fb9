package sigv4

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

const (
	// chunkBufSize is the decoder's only buffer. Chunk data streams through
	// it (or bypasses it for large reads); it also bounds line length.
	chunkBufSize = 16 << 10
	// maxLineLen bounds a chunk-size or trailer line.
	maxLineLen = 4 << 10
	// maxTrailerLines bounds the trailer section.
	maxTrailerLines = 16
	// chunkSigExt is the only chunk extension signed modes carry.
	chunkSigExt = "chunk-signature="
	// trailerSigName names the trailer line that signs the trailer.
	trailerSigName = "x-amz-trailer-signature"
)

// ChunkedReader decodes an aws-chunked request body (the STREAMING-*
// x-amz-content-sha256 modes) as a stream, yielding only the object bytes.
// Verify installs it as r.Body; the gateway reads it like any body and may
// reach it by type assertion (r.Body.(*sigv4.ChunkedReader)) or through the
// interface{ Trailer() http.Header }.
//
// In the signed modes each chunk's signature is checked when the chunk ends,
// chaining from the request's seed signature; the trailer signature is
// checked after the trailer. Because chunks are streamed, not buffered,
// bytes of a chunk are returned before its signature is checked: any error
// other than io.EOF means the whole body must be discarded. io.EOF is
// returned only after every signature, the framing, the declared trailers
// and X-Amz-Decoded-Content-Length have all been verified.
type ChunkedReader struct {
	body io.ReadCloser
	br   *bufio.Reader

	signed      bool // chunks carry signatures
	trailerMode bool // a trailer section may follow the final chunk

	key       []byte // derived signing key
	timestamp string // X-Amz-Date of the request
	scope     string // credential scope, region as the client wrote it
	prevSig   string // signature of the previous chunk (seed first)

	declared []string // lower-case trailer names from X-Amz-Trailer
	want     int64    // X-Amz-Decoded-Content-Length, or -1
	got      int64    // decoded bytes so far

	inData   bool      // inside a chunk's data
	left     int64     // data bytes left in the current chunk
	chunkSig string    // signature claimed for the current chunk
	h        hash.Hash // SHA-256 of the current chunk's data

	trailer http.Header
	err     error // sticky: io.EOF after success, else the failure
}

// chunkParams carries what a ChunkedReader needs from the verified request.
type chunkParams struct {
	mode      string
	key       []byte
	timestamp string
	scope     string
	seedSig   string
	declared  []string
	want      int64
}

func newChunkedReader(body io.ReadCloser, p chunkParams) *ChunkedReader {
	c := &ChunkedReader{
		body:        body,
		br:          bufio.NewReaderSize(body, chunkBufSize),
		signed:      p.mode == StreamingSigned || p.mode == StreamingSignedTrailer,
		trailerMode: p.mode == StreamingSignedTrailer || p.mode == StreamingUnsignedTrailer,
		key:         p.key,
		timestamp:   p.timestamp,
		scope:       p.scope,
		prevSig:     p.seedSig,
		want:        p.want,
	}
	if c.trailerMode {
		c.declared = p.declared
	}
	if c.signed {
		c.h = sha256.New()
	}
	return c
}

// Read returns decoded object bytes. See the type comment for the error
// contract.
func (c *ChunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for !c.inData {
		if err := c.nextChunk(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	c.got += int64(n)
	if c.signed {
		c.h.Write(p[:n])
	}
	if c.left == 0 {
		if ferr := c.endChunk(); ferr != nil {
			// Withhold the chunk's last bytes: they failed verification.
			c.err = ferr
			return 0, ferr
		}
		c.inData = false
		return n, nil
	}
	if err != nil {
		c.err = bodyErr(err, "in chunk data")
		return 0, c.err
	}
	return n, nil
}

// Close closes the underlying body.
func (c *ChunkedReader) Close() error { return c.body.Close() }

// Trailer returns the trailing headers (e.g. X-Amz-Checksum-Crc32) once
// Read has returned io.EOF; before that, and in modes without a trailer, it
// returns nil. x-amz-trailer-signature is verified and not included.
func (c *ChunkedReader) Trailer() http.Header {
	if c.err != io.EOF {
		return nil
	}
	return c.trailer
}

// DecodedLength returns the number of object bytes decoded so far.
func (c *ChunkedReader) DecodedLength() int64 { return c.got }

// bodyErr maps a read error of the raw body to this package's errors: a
// premature end is ErrIncompleteBody, anything else (timeouts, size limits)
// passes through.
func bodyErr(err error, where string) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: body ended %s", ErrIncompleteBody, where)
	}
	return err
}

// readLine reads one CRLF-terminated line and returns it without the CRLF.
func (c *ChunkedReader) readLine(where string) (string, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(line) > maxLineLen {
		return "", fmt.Errorf("%w: line too long %s", ErrMalformedChunk, where)
	}
	if err != nil {
		return "", bodyErr(err, where)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", fmt.Errorf("%w: line not terminated by CRLF %s", ErrMalformedChunk, where)
	}
	return string(line[:len(line)-2]), nil
}

// readTrailerLine reads one trailer line and returns it without its line
// end, which may be CRLF or, as minio-go writes trailer headers, a bare
// LF (bareLF). Chunk framing lines stay strictly CRLF (readLine).
func (c *ChunkedReader) readTrailerLine() (line string, bareLF bool, err error) {
	b, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(b) > maxLineLen {
		return "", false, fmt.Errorf("%w: line too long in trailer", ErrMalformedChunk)
	}
	if err != nil {
		return "", false, bodyErr(err, "in trailer")
	}
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return string(b[:n-1]), false, nil
	}
	return string(b), true, nil
}

// nextChunk parses a chunk-size line. For the final (zero-size) chunk it
// also consumes and verifies the trailer and the end of the body, returning
// io.EOF on success.
func (c *ChunkedReader) nextChunk() error {
	line, err := c.readLine("in chunk header")
	if err != nil {
		return err
	}
	sizeStr, ext, hasExt := strings.Cut(line, ";")
	if len(sizeStr) == 0 || len(sizeStr) > 16 {
		return fmt.Errorf("%w: bad chunk size %q", ErrMalformedChunk, sizeStr)
	}
	size, err := strconv.ParseUint(sizeStr, 16, 64)
	if err != nil || size > math.MaxInt64-uint64(c.got) {
		return fmt.Errorf("%w: bad chunk size %q", ErrMalformedChunk, sizeStr)
	}
	if c.signed {
		sig, ok := strings.CutPrefix(ext, chunkSigExt)
		if !hasExt || !ok || !isHex64(sig) {
			return fmt.Errorf("%w: missing or malformed chunk-signature in %q", ErrMalformedChunk, line)
		}
		c.chunkSig = strings.ToLower(sig)
	} else if hasExt {
		return fmt.Errorf("%w: unexpected chunk extension in unsigned mode: %q", ErrMalformedChunk, line)
	}
	if c.want >= 0 && c.got+int64(size) > c.want {
		return fmt.Errorf("%w: chunks carry more than the %d bytes of x-amz-decoded-content-length", ErrIncompleteBody, c.want)
	}
	if size > 0 {
		c.left = int64(size)
		c.inData = true
		if c.signed {
			c.h.Reset()
		}
		return nil
	}

	// Final chunk.
	if c.signed {
		if err := c.checkChunkSig(emptySHA256); err != nil {
			return err
		}
	}
	if err := c.readTrailer(); err != nil {
		return err
	}
	if c.want >= 0 && c.got != c.want {
		return fmt.Errorf("%w: decoded %d bytes, x-amz-decoded-content-length is %d", ErrIncompleteBody, c.got, c.want)
	}
	if _, err := c.br.Peek(1); err == nil {
		return fmt.Errorf("%w: data after the final chunk", ErrMalformedChunk)
	} else if err != io.EOF {
		return err
	}
	return io.EOF
}

// endChunk consumes the CRLF after a chunk's data and checks its signature.
func (c *ChunkedReader) endChunk() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		return bodyErr(err, "after chunk data")
	}
	if crlf != [2]byte{'\r', '\n'} {
		return fmt.Errorf("%w: chunk data not followed by CRLF", ErrMalformedChunk)
	}
	if !c.signed {
		return nil
	}
	return c.checkChunkSig(hex.EncodeToString(c.h.Sum(nil)))
}

// checkChunkSig verifies the current chunk's claimed signature given the
// hex SHA-256 of its data, and advances the chain.
func (c *ChunkedReader) checkChunkSig(dataHash string) error {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.timestamp + "\n" + c.scope + "\n" +
		c.prevSig + "\n" + emptySHA256 + "\n" + dataHash
	if !signaturesEqual(signHex(c.key, sts), c.chunkSig) {
		return fmt.Errorf("%w: chunk signature after %d decoded bytes", ErrSignatureMismatch, c.got)
	}
	c.prevSig = c.chunkSig
	return nil
}

// readTrailer consumes the lines after the final chunk up to the empty line
// that ends the body, validating them against X-Amz-Trailer and, in the
// signed-trailer mode, x-amz-trailer-signature.
func (c *ChunkedReader) readTrailer() error {
	var (
		trailer = http.Header{}
		names   []string // lower-case, in arrival order
		values  = map[string]string{}
		sig     string
		sigSeen bool
	)
	afterBareLF := false
	for i := 0; ; i++ {
		line, bareLF, err := c.readTrailerLine()
		if err != nil {
			if errors.Is(err, ErrMalformedChunk) {
				return fmt.Errorf("%w: %v", ErrMalformedTrailer, err)
			}
			return err
		}
		if line == "" && afterBareLF && !bareLF {
			// minio-go ends each trailer header with a bare LF and the
			// header block with one CRLF, before the signature line
			// (signed) or the final CRLF (unsigned): skip that CRLF.
			afterBareLF = false
			continue
		}
		if line == "" {
			break
		}
		afterBareLF = bareLF
		if i >= maxTrailerLines {
			return fmt.Errorf("%w: too many trailer lines", ErrMalformedTrailer)
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if !ok || name == "" {
			return fmt.Errorf("%w: %q", ErrMalformedTrailer, line)
		}
		if sigSeen {
			return fmt.Errorf("%w: %s must be the last trailer line", ErrMalformedTrailer, trailerSigName)
		}
		if name == trailerSigName {
			if !c.signed || !c.trailerMode || !isHex64(value) {
				return fmt.Errorf("%w: unexpected or malformed %s", ErrMalformedTrailer, trailerSigName)
			}
			sig, sigSeen = strings.ToLower(value), true
			continue
		}
		if !c.isDeclared(name) {
			return fmt.Errorf("%w: trailer %q not declared in x-amz-trailer", ErrMalformedTrailer, name)
		}
		if _, dup := values[name]; dup {
			return fmt.Errorf("%w: trailer %q repeated", ErrMalformedTrailer, name)
		}
		values[name] = value
		names = append(names, name)
		trailer.Set(name, value)
	}
	for _, d := range c.declared {
		if _, ok := values[d]; !ok {
			return fmt.Errorf("%w: declared trailer %q missing", ErrMalformedTrailer, d)
		}
	}
	if c.signed && c.trailerMode {
		if !sigSeen {
			return fmt.Errorf("%w: missing %s", ErrMalformedTrailer, trailerSigName)
		}
		sort.Strings(names)
		var canon strings.Builder
		for _, n := range names {
			canon.WriteString(n)
			canon.WriteByte(':')
			canon.WriteString(values[n])
			canon.WriteByte('\n')
		}
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.timestamp + "\n" + c.scope + "\n" +
			c.prevSig + "\n" + sha256Hex(canon.String())
		if !signaturesEqual(signHex(c.key, sts), sig) {
			return fmt.Errorf("%w: trailer signature", ErrSignatureMismatch)
		}
	}
	c.trailer = trailer
	return nil
}

func (c *ChunkedReader) isDeclared(name string) bool {
	for _, d := range c.declared {
		if d == name {
			return true
		}
	}
	return false
}

// declaredTrailers parses X-Amz-Trailer into lower-case names.
func declaredTrailers(h http.Header) []string {
	var out []string
	for _, v := range h.Values("X-Amz-Trailer") {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}
