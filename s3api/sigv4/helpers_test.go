package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAccessKey = "AKIDEXAMPLE"
	testSecret    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion    = "eu-west-3"
	emptyHash     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// testNow is the fixed server clock of most tests.
var testNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func testLookup(_ context.Context, ak string) (string, error) {
	switch ak {
	case testAccessKey:
		return testSecret, nil
	case "AKIDOTHER":
		return "other-secret", nil
	case "AKIDBROKEN":
		return "", errors.New("credential store unavailable")
	}
	return "", fmt.Errorf("access key %q: %w", ak, ErrUnknownAccessKey)
}

func newTestVerifier(now time.Time) *Verifier {
	return &Verifier{Region: testRegion, Service: "s3", Now: func() time.Time { return now }, MaxSkew: 15 * time.Minute}
}

func testCreds() aws.Credentials {
	return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}
}

// s3Signer is the real aws-sdk-go-v2 signer configured as the S3 client
// configures it: no double path escaping.
func s3Signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// sdkSign signs r in place with the real SDK signer. The payload hash is
// also set as x-amz-content-sha256, as the S3 client does.
func sdkSign(t testing.TB, r *http.Request, payloadHash, region string, at time.Time) {
	t.Helper()
	if payloadHash != "" {
		r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	}
	if err := s3Signer().SignHTTP(context.Background(), testCreds(), r, payloadHash, "s3", region, at); err != nil {
		t.Fatal(err)
	}
}

// sdkPresign presigns r with the real SDK signer and returns a request for
// the presigned URL carrying the headers the SDK says must be sent.
func sdkPresign(t testing.TB, r *http.Request, expires int, region string, at time.Time) *http.Request {
	t.Helper()
	q := r.URL.Query()
	q.Set("X-Amz-Expires", fmt.Sprint(expires))
	r.URL.RawQuery = q.Encode()
	u, hdr, err := s3Signer().PresignHTTP(context.Background(), testCreds(), r, UnsignedPayload, "s3", region, at)
	if err != nil {
		t.Fatal(err)
	}
	out, err := http.NewRequest(r.Method, u, r.Body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if !strings.EqualFold(k, "host") {
			out.Header[k] = v
		}
	}
	out.ContentLength = r.ContentLength
	return out
}

func sha256HexOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// seedSignature extracts Signature= from a signed request.
func seedSignature(t testing.TB, r *http.Request) string {
	t.Helper()
	h := r.Header.Get("Authorization")
	i := strings.Index(h, "Signature=")
	if i < 0 {
		t.Fatalf("no signature in %q", h)
	}
	return h[i+len("Signature="):]
}

// --- An independent, minimal implementation of aws-chunked signing, written
// from the specification, used to build bodies the SDK cannot produce.

func testHMAC(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func testSigningKey(secret, date, region string) []byte {
	k := testHMAC([]byte("AWS4"+secret), date)
	k = testHMAC(k, region)
	k = testHMAC(k, "s3")
	return testHMAC(k, "aws4_request")
}

// chunkSpec describes an aws-chunked body to build.
type chunkSpec struct {
	data      []byte
	chunkSize int
	signed    bool
	key       []byte
	timestamp string
	scope     string
	seed      string
	trailers  [][2]string // name, value; written in this order
	trailerOK bool        // write x-amz-trailer-signature (signed mode)
}

func (s chunkSpec) chunkSig(prev string, data []byte) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + s.timestamp + "\n" + s.scope + "\n" + prev + "\n" + emptyHash + "\n" + sha256HexOf(data)
	return hex.EncodeToString(testHMAC(s.key, sts))
}

// encode renders the body. It also returns each chunk's signature.
func (s chunkSpec) encode() ([]byte, []string) {
	var b bytes.Buffer
	var sigs []string
	prev := s.seed
	writeChunk := func(p []byte) {
		fmt.Fprintf(&b, "%x", len(p))
		if s.signed {
			sig := s.chunkSig(prev, p)
			sigs = append(sigs, sig)
			prev = sig
			b.WriteString(";chunk-signature=" + sig)
		}
		b.WriteString("\r\n")
		if len(p) > 0 {
			b.Write(p)
			b.WriteString("\r\n")
		}
	}
	for off := 0; off < len(s.data); off += s.chunkSize {
		writeChunk(s.data[off:min(off+s.chunkSize, len(s.data))])
	}
	writeChunk(nil)
	var canon strings.Builder
	sorted := append([][2]string(nil), s.trailers...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i][0] < sorted[j][0] })
	for _, tr := range sorted {
		canon.WriteString(strings.ToLower(tr[0]) + ":" + strings.TrimSpace(tr[1]) + "\n")
	}
	for _, tr := range s.trailers {
		b.WriteString(tr[0] + ":" + tr[1] + "\r\n")
	}
	if s.trailerOK {
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + s.timestamp + "\n" + s.scope + "\n" + prev + "\n" + sha256HexOf([]byte(canon.String()))
		b.WriteString("x-amz-trailer-signature:" + hex.EncodeToString(testHMAC(s.key, sts)) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes(), sigs
}

// chunkedRequest is a signed aws-chunked PUT ready for Verify.
type chunkedRequest struct {
	req  *http.Request
	spec chunkSpec
	body []byte
}

// newChunkedRequest signs (with the SDK) a PUT whose x-amz-content-sha256 is
// mode, then encodes data as its aws-chunked body chained from the SDK's
// seed signature. trailers are declared in X-Amz-Trailer.
func newChunkedRequest(t testing.TB, mode string, data []byte, chunkSize int, trailers [][2]string, at time.Time) *chunkedRequest {
	t.Helper()
	r, err := http.NewRequest(http.MethodPut, "http://cairn.test:9000/bucket/chunked%20key", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	if len(trailers) > 0 {
		var names []string
		for _, tr := range trailers {
			names = append(names, strings.ToLower(tr[0]))
		}
		r.Header.Set("X-Amz-Trailer", strings.Join(names, ","))
	}
	sdkSign(t, r, mode, testRegion, at)
	spec := chunkSpec{
		data:      data,
		chunkSize: chunkSize,
		signed:    mode != StreamingUnsignedTrailer,
		key:       testSigningKey(testSecret, at.Format("20060102"), testRegion),
		timestamp: at.UTC().Format("20060102T150405Z"),
		scope:     at.Format("20060102") + "/" + testRegion + "/s3/aws4_request",
		seed:      seedSignature(t, r),
		trailers:  trailers,
		trailerOK: mode == StreamingSignedTrailer,
	}
	body, _ := spec.encode()
	return &chunkedRequest{req: r, spec: spec, body: body}
}

// withBody returns a shallow copy of the request carrying body.
func (c *chunkedRequest) withBody(body []byte) *http.Request {
	r := c.req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return r
}

// roundTrip verifies r in-process and reads the body fully.
func roundTrip(t testing.TB, v *Verifier, r *http.Request) (*Identity, []byte, error) {
	t.Helper()
	id, err := v.Verify(context.Background(), r, testLookup)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(r.Body)
	return id, body, err
}

// serverResult is what the test server saw for one request.
type serverResult struct {
	id        *Identity
	verifyErr error
	body      []byte
	readErr   error
	trailer   http.Header
	header    http.Header
	path      string
}

// newVerifyServer starts a server that verifies every request with v and
// reports what it saw on the returned channel (buffered).
func newVerifyServer(t testing.TB, v *Verifier, tls bool) (*httptest.Server, <-chan serverResult) {
	ch := make(chan serverResult, 64)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := serverResult{header: r.Header.Clone(), path: r.URL.Path}
		res.id, res.verifyErr = v.Verify(r.Context(), r, testLookup)
		if res.verifyErr == nil {
			res.body, res.readErr = io.ReadAll(r.Body)
			if tr, ok := r.Body.(interface{ Trailer() http.Header }); ok {
				res.trailer = tr.Trailer()
			}
		}
		ch <- res
		if res.verifyErr != nil || res.readErr != nil {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
		w.WriteHeader(http.StatusOK)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, ch
}

// send performs r against the server and returns what the server saw.
func send(t testing.TB, srv *httptest.Server, ch <-chan serverResult, r *http.Request) serverResult {
	t.Helper()
	resp, err := srv.Client().Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	select {
	case res := <-ch:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("server saw no request")
		return serverResult{}
	}
}
