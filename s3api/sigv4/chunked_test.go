package sigv4

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

var checksumTrailer = [][2]string{{"x-amz-checksum-crc32c", "sOO8/Q=="}}

func TestChunkedModes(t *testing.T) {
	v := newTestVerifier(testNow)
	sizes := []struct{ n, chunk int }{
		{0, 64 << 10}, {1, 64 << 10}, {8192, 8192}, {8193, 8192}, {70000, 64 << 10}, {70000, 8192}, {5<<20 + 7, 1 << 20},
	}
	for _, mode := range []string{StreamingSigned, StreamingSignedTrailer, StreamingUnsignedTrailer} {
		for _, sz := range sizes {
			var trailers [][2]string
			if mode != StreamingSigned {
				trailers = checksumTrailer
			}
			data := randomBytes(sz.n, uint64(sz.n))
			c := newChunkedRequest(t, mode, data, sz.chunk, trailers, testNow)
			r := c.withBody(c.body)
			id, err := v.Verify(context.Background(), r, testLookup)
			if err != nil {
				t.Fatalf("%s/%d: %v", mode, sz.n, err)
			}
			cr, ok := r.Body.(*ChunkedReader)
			if !ok || id.ContentSHA256 != mode {
				t.Fatalf("%s: body %T, identity %+v", mode, r.Body, id)
			}
			if cr.Trailer() != nil {
				t.Errorf("Trailer before EOF should be nil")
			}
			// Read through an odd-sized buffer to cross chunk borders.
			got, err := readOdd(r.Body, 4093)
			if err != nil {
				t.Fatalf("%s/%d/%d: read: %v", mode, sz.n, sz.chunk, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("%s/%d: decoded %d bytes, differ", mode, sz.n, len(got))
			}
			if n, ok := ExpectedDecodedLength(r); !ok || n != int64(sz.n) || cr.DecodedLength() != n {
				t.Errorf("decoded length %d %v / %d", n, ok, cr.DecodedLength())
			}
			tr := cr.Trailer()
			if mode == StreamingSigned {
				if len(tr) != 0 {
					t.Errorf("unexpected trailer %v", tr)
				}
			} else if tr.Get("X-Amz-Checksum-Crc32c") != "sOO8/Q==" || tr.Get(trailerSigName) != "" {
				t.Errorf("%s trailer = %v", mode, tr)
			}
			if n, err := r.Body.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				t.Errorf("read after EOF: %d %v", n, err)
			}
		}
	}
}

// readOdd reads r to EOF with reads of at most n bytes.
func readOdd(r io.Reader, n int) ([]byte, error) {
	var out []byte
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// verifyChunked runs Verify and reads the whole body, returning the read
// error (Verify must succeed: the tampering is in the body).
func verifyChunked(t *testing.T, c *chunkedRequest, body []byte) ([]byte, error) {
	t.Helper()
	r := c.withBody(body)
	if _, err := newTestVerifier(testNow).Verify(context.Background(), r, testLookup); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return io.ReadAll(r.Body)
}

func TestChunkedTampering(t *testing.T) {
	data := randomBytes(3*8192+100, 7)
	for _, mode := range []string{StreamingSigned, StreamingSignedTrailer} {
		var trailers [][2]string
		if mode == StreamingSignedTrailer {
			trailers = checksumTrailer
		}
		c := newChunkedRequest(t, mode, data, 8192, trailers, testNow)
		body := c.body
		if _, err := verifyChunked(t, c, body); err != nil {
			t.Fatalf("%s untampered: %v", mode, err)
		}
		_, sigs := c.spec.encode()
		firstData := bytes.Index(body, []byte("\r\n")) + 2

		cases := map[string]func(b []byte) []byte{
			"chunk data byte": func(b []byte) []byte { b[firstData+100] ^= 1; return b },
			"last chunk data": func(b []byte) []byte { b[bytes.LastIndex(b, []byte(";chunk-signature="))-4] ^= 0x20; return b },
			"chunk signature": func(b []byte) []byte {
				return bytes.Replace(b, []byte(sigs[1]), []byte(flipHex(sigs[1])), 1)
			},
			"final chunk signature": func(b []byte) []byte {
				return bytes.Replace(b, []byte(sigs[len(sigs)-1]), []byte(flipHex(sigs[len(sigs)-1])), 1)
			},
			"swapped chunks": func(b []byte) []byte {
				// Exchange the first two (equal-size) chunks with their own
				// signatures: each is individually valid, the chain is not.
				l := len(fmt.Sprintf("%x;chunk-signature=", 8192)) + 64 + 2 + 8192 + 2
				out := append([]byte(nil), b[l:2*l]...)
				out = append(out, b[:l]...)
				return append(out, b[2*l:]...)
			},
		}
		for name, f := range cases {
			_, err := verifyChunked(t, c, f(bytes.Clone(body)))
			if !errors.Is(err, ErrSignatureMismatch) {
				t.Errorf("%s/%s: err = %v, want ErrSignatureMismatch", mode, name, err)
			}
		}

		// A body chained from another request's seed signature fails.
		other := newChunkedRequest(t, mode, data, 8192, c.spec.trailers, testNow.Add(time.Second))
		if _, err := verifyChunked(t, c, other.body); !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("%s: body of another request: %v", mode, err)
		}
	}
}

func flipHex(s string) string {
	b := []byte(s)
	if b[10] == 'a' {
		b[10] = 'b'
	} else {
		b[10] = 'a'
	}
	return string(b)
}

func TestChunkedTrailerSignature(t *testing.T) {
	data := []byte("trailer test data")
	c := newChunkedRequest(t, StreamingSignedTrailer, data, 64<<10, checksumTrailer, testNow)
	good := string(c.body)
	i := strings.Index(good, "x-amz-trailer-signature:") + len("x-amz-trailer-signature:")
	cases := map[string]struct {
		body string
		want error
	}{
		"bad trailer signature": {good[:i] + flipHex(good[i:i+64]) + good[i+64:], ErrSignatureMismatch},
		"trailer value changed": {strings.Replace(good, "sOO8/Q==", "AAAAAA==", 1), ErrSignatureMismatch},
		"no trailer signature":  {good[:strings.Index(good, "x-amz-trailer-signature:")] + "\r\n", ErrMalformedTrailer},
		"signature not last": {strings.Replace(good, "x-amz-checksum-crc32c:sOO8/Q==\r\n"+good[i-len("x-amz-trailer-signature:"):i+64+2],
			good[i-len("x-amz-trailer-signature:"):i+64+2]+"x-amz-checksum-crc32c:sOO8/Q==\r\n", 1), ErrMalformedTrailer},
		"undeclared trailer": {strings.Replace(good, "x-amz-checksum-crc32c:", "x-amz-checksum-sha1:", 1), ErrMalformedTrailer},
		"repeated trailer": {strings.Replace(good, "x-amz-checksum-crc32c:sOO8/Q==\r\n", "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-checksum-crc32c:sOO8/Q==\r\n", 1),
			ErrMalformedTrailer},
		"trailer without colon": {strings.Replace(good, "x-amz-checksum-crc32c:", "x-amz-checksum-crc32c ", 1), ErrMalformedTrailer},
		"trailer LF only":       {strings.Replace(good, "sOO8/Q==\r\n", "sOO8/Q==\n", 1), nil},
		// minio-go's framing: header lines end in LF, the header block in
		// a CRLF of its own, then the signature line.
		"minio-go framing":   {strings.Replace(good, "sOO8/Q==\r\n", "sOO8/Q==\n\r\n", 1), nil},
		"two blank lines":    {strings.Replace(good, "sOO8/Q==\r\n", "sOO8/Q==\n\r\n\r\n", 1), ErrMalformedTrailer},
		"CRLF then blank":    {strings.Replace(good, "sOO8/Q==\r\n", "sOO8/Q==\r\n\r\n", 1), ErrMalformedTrailer},
		"bare CR in value":   {strings.Replace(good, "sOO8/Q==\r\n", "sOO8\r/Q==\r\n", 1), ErrSignatureMismatch},
		"missing final CRLF": {strings.TrimSuffix(good, "\r\n"), ErrIncompleteBody},
	}
	for name, c2 := range cases {
		_, err := verifyChunked(t, c, []byte(c2.body))
		if !errors.Is(err, c2.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c2.want)
		}
	}

	// Declared trailer absent (unsigned mode, no signature to break first).
	u := newChunkedRequest(t, StreamingUnsignedTrailer, data, 64<<10, checksumTrailer, testNow)
	noTrailer := strings.Replace(string(u.body), "x-amz-checksum-crc32c:sOO8/Q==\r\n", "", 1)
	if _, err := verifyChunked(t, u, []byte(noTrailer)); !errors.Is(err, ErrMalformedTrailer) {
		t.Errorf("declared trailer missing: %v", err)
	}
	// minio-go's unsigned framing: "name:value\n", a CRLF ending the
	// header block, the CRLF ending the body.
	mg := strings.Replace(string(u.body), "sOO8/Q==\r\n", "sOO8/Q==\n\r\n", 1)
	if _, err := verifyChunked(t, u, []byte(mg)); err != nil {
		t.Errorf("minio-go unsigned framing: %v", err)
	}
	// A trailer signature has no place in the unsigned mode.
	withSig := strings.Replace(string(u.body), "sOO8/Q==\r\n", "sOO8/Q==\r\nx-amz-trailer-signature:"+strings.Repeat("a", 64)+"\r\n", 1)
	if _, err := verifyChunked(t, u, []byte(withSig)); !errors.Is(err, ErrMalformedTrailer) {
		t.Errorf("signature in unsigned mode: %v", err)
	}
	// Whitespace around a trailer value is trimmed (before signing too).
	spaced := strings.Replace(string(u.body), "x-amz-checksum-crc32c:sOO8/Q==", "X-Amz-Checksum-CRC32C :  sOO8/Q==  ", 1)
	r := u.withBody([]byte(spaced))
	if _, err := newTestVerifier(testNow).Verify(context.Background(), r, testLookup); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r.Body); err != nil {
		t.Fatalf("spaced trailer: %v", err)
	}
	if got := r.Body.(*ChunkedReader).Trailer().Get("x-amz-checksum-crc32c"); got != "sOO8/Q==" {
		t.Errorf("spaced trailer value %q", got)
	}
}

// TestChunkedTruncation cuts a valid body at every offset: every prefix must
// fail with ErrIncompleteBody, never succeed.
func TestChunkedTruncation(t *testing.T) {
	data := randomBytes(300, 3)
	for _, mode := range []string{StreamingSigned, StreamingSignedTrailer, StreamingUnsignedTrailer} {
		var trailers [][2]string
		if mode != StreamingSigned {
			trailers = checksumTrailer
		}
		c := newChunkedRequest(t, mode, data, 128, trailers, testNow)
		for cut := 0; cut < len(c.body); cut++ {
			_, err := verifyChunked(t, c, c.body[:cut])
			if !errors.Is(err, ErrIncompleteBody) {
				t.Fatalf("%s cut at %d/%d: err = %v", mode, cut, len(c.body), err)
			}
		}
	}
}

func TestChunkedFraming(t *testing.T) {
	data := []byte("0123456789abcdef")
	signed := newChunkedRequest(t, StreamingSigned, data, 10, nil, testNow)
	unsigned := newChunkedRequest(t, StreamingUnsignedTrailer, data, 10, checksumTrailer, testNow)
	sb, ub := string(signed.body), string(unsigned.body)
	sig0 := sb[strings.Index(sb, "=")+1 : strings.Index(sb, "\r\n")]

	cases := []struct {
		name string
		c    *chunkedRequest
		body string
		want error
	}{
		{"garbage size", signed, strings.Replace(sb, "a;chunk", "zz;chunk", 1), ErrMalformedChunk},
		{"signed size", signed, strings.Replace(sb, "a;chunk", "+a;chunk", 1), ErrMalformedChunk},
		{"0x size", signed, strings.Replace(sb, "a;chunk", "0xa;chunk", 1), ErrMalformedChunk},
		{"huge size", signed, strings.Replace(sb, "a;chunk", "fffffffffffffffff;chunk", 1), ErrMalformedChunk},
		{"empty size", signed, strings.Replace(sb, "a;chunk", ";chunk", 1), ErrMalformedChunk},
		{"missing signature", signed, strings.Replace(sb, ";chunk-signature="+sig0, "", 1), ErrMalformedChunk},
		{"short signature", signed, strings.Replace(sb, sig0, sig0[:63], 1), ErrMalformedChunk},
		{"other extension", signed, strings.Replace(sb, "chunk-signature=", "chunk-signatur=", 1), ErrMalformedChunk},
		{"LF only header", signed, strings.Replace(sb, sig0+"\r\n", sig0+"\n", 1), ErrMalformedChunk},
		{"no CRLF after data", signed, strings.Replace(sb, "0123456789\r\n", "0123456789XX", 1), ErrMalformedChunk},
		{"data after end", signed, sb + "extra", ErrMalformedChunk},
		{"long line", signed, strings.Replace(sb, "a;chunk", strings.Repeat("0", 5000)+"a;chunk", 1), ErrMalformedChunk},
		{"extension in unsigned", unsigned, strings.Replace(ub, "a\r\n", "a;chunk-signature="+sig0+"\r\n", 1), ErrMalformedChunk},
		{"more than declared", unsigned, strings.Replace(ub, "6\r\nabcdef\r\n", "7\r\nabcdefg\r\n", 1), ErrIncompleteBody},
		{"less than declared", unsigned, strings.Replace(ub, "6\r\nabcdef\r\n", "5\r\nabcde\r\n", 1), ErrIncompleteBody},
		{"trailer lines flood", unsigned, strings.Replace(ub, "0\r\n", "0\r\n"+strings.Repeat("x-a:b\r\n", 20), 1), ErrMalformedTrailer},
	}
	for _, c := range cases {
		_, err := verifyChunked(t, c.c, []byte(c.body))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}

	// Upper-case hex sizes are fine in unsigned mode.
	big := randomBytes(300, 9)
	u := newChunkedRequest(t, StreamingUnsignedTrailer, big, 300, checksumTrailer, testNow)
	body := strings.Replace(string(u.body), "12c\r\n", "12C\r\n", 1)
	if got, err := verifyChunked(t, u, []byte(body)); err != nil || !bytes.Equal(got, big) {
		t.Errorf("upper-case size: %v", err)
	}
}

// TestChunkedHeaders covers request-level validation of streaming requests.
func TestChunkedHeaders(t *testing.T) {
	v := newTestVerifier(testNow)
	r, _ := http.NewRequest("PUT", "http://cairn.test/bucket/k", strings.NewReader("0\r\n\r\n"))
	r.Header.Set("X-Amz-Decoded-Content-Length", "-1")
	sdkSign(t, r, StreamingUnsignedTrailer, testRegion, testNow)
	if _, err := v.Verify(context.Background(), r, testLookup); !errors.Is(err, ErrInvalidDecodedLength) {
		t.Errorf("negative decoded length: %v", err)
	}
	if _, ok := ExpectedDecodedLength(r); ok {
		t.Error("ExpectedDecodedLength accepted -1")
	}
	// A stray header on a plain body is not a decoded length.
	r, _ = http.NewRequest("PUT", "http://cairn.test/bucket/k", strings.NewReader("abc"))
	r.Header.Set("X-Amz-Decoded-Content-Length", "3")
	sdkSign(t, r, UnsignedPayload, testRegion, testNow)
	if _, ok := ExpectedDecodedLength(r); ok {
		t.Error("ExpectedDecodedLength on a plain body")
	}
	// Before Verify, the header of a streaming request is reported.
	r.Header.Set("X-Amz-Content-Sha256", StreamingSigned)
	if n, ok := ExpectedDecodedLength(r); !ok || n != 3 {
		t.Errorf("ExpectedDecodedLength before Verify: %d %v", n, ok)
	}
	// Without X-Amz-Decoded-Content-Length the length is not checked.
	r, _ = http.NewRequest("PUT", "http://cairn.test/bucket/k", strings.NewReader("3\r\nabc\r\n0\r\n\r\n"))
	sdkSign(t, r, StreamingUnsignedTrailer, testRegion, testNow)
	_, got, err := roundTrip(t, v, r)
	if err != nil || string(got) != "abc" {
		t.Errorf("no decoded length: %q %v", got, err)
	}
	if _, ok := ExpectedDecodedLength(r); ok {
		t.Error("ExpectedDecodedLength without header")
	}
	for in, want := range map[string]string{"aws-chunked": "", "aws-chunked,gzip": "gzip", "gzip, AWS-CHUNKED , br": "gzip, br", "gzip,br": "gzip, br", "": ""} {
		if got := StripAWSChunked(in); got != want {
			t.Errorf("StripAWSChunked(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestChunkedLargeChunkMemory decodes one 17 MiB signed chunk and checks the
// decoder allocates nothing near the chunk size.
func TestChunkedLargeChunkMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large body")
	}
	data := randomBytes(17<<20, 11)
	c := newChunkedRequest(t, StreamingSignedTrailer, data, len(data), checksumTrailer, testNow)
	r := c.withBody(c.body)
	if _, err := newTestVerifier(testNow).Verify(context.Background(), r, testLookup); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var n int64
	for {
		k, err := r.Body.Read(buf)
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if n != int64(len(data)) {
		t.Fatalf("decoded %d bytes", n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("decoding a %d-byte chunk allocated %d bytes", len(data), alloc)
	}
}

// FuzzChunkedReader feeds arbitrary bodies to the decoder: it must never
// panic, never report success for bytes that were not properly signed, and
// every failure must wrap one of the package's body sentinels.
func FuzzChunkedReader(f *testing.F) {
	c := newChunkedRequest(f, StreamingSignedTrailer, []byte("hello fuzz"), 4, checksumTrailer, testNow)
	u := newChunkedRequest(f, StreamingUnsignedTrailer, []byte("hello fuzz"), 4, checksumTrailer, testNow)
	f.Add(c.body, true)
	f.Add(u.body, false)
	f.Add([]byte("0\r\n\r\n"), false)
	f.Add([]byte("4\r\nabcd\r\n0\r\nx-amz-checksum-crc32c:AAAAAA==\r\n\r\n"), false)
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		req := u
		if signed {
			req = c
		}
		r := req.withBody(body)
		if _, err := newTestVerifier(testNow).Verify(context.Background(), r, testLookup); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r.Body)
		if err == nil {
			// Equivalent re-encodings (hex case, trailer spacing) may pass,
			// but never different content.
			tr := r.Body.(*ChunkedReader).Trailer()
			if signed && (string(got) != "hello fuzz" || tr.Get("x-amz-checksum-crc32c") != "sOO8/Q==") {
				t.Fatalf("accepted modified signed content %q, trailer %v", got, tr)
			}
			return
		}
		for _, s := range []error{ErrIncompleteBody, ErrMalformedChunk, ErrMalformedTrailer, ErrSignatureMismatch} {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("unexpected error %v", err)
	})
}
