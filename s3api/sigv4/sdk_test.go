package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/s3api/checksum"
)

// sdkClient is an unmodified aws-sdk-go-v2 S3 client built the way
// applications build it (config.LoadDefaultConfig, so default checksum
// settings apply), pointed at srv. Shared config files are not read.
func sdkClient(t *testing.T, srv *httptest.Server, region string) *s3.Client {
	t.Helper()
	for _, env := range []string{"AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE"} {
		t.Setenv(env, "")
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(testAccessKey, testSecret, "")),
		config.WithHTTPClient(srv.Client()),
		config.WithRetryMaxAttempts(1),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.UsePathStyle = true
	})
}

// trailerOf adapts a captured trailer to checksum.Requested.Verify.
type trailerOf http.Header

func (trailerOf) Read([]byte) (int, error) { return 0, io.EOF }
func (t trailerOf) Trailer() http.Header   { return http.Header(t) }

// checkChecksums runs the gateway's checksum pipeline on what the server saw.
func checkChecksums(t *testing.T, res serverResult) *checksum.Requested {
	t.Helper()
	q, err := checksum.FromHeaders(res.header)
	if err != nil {
		t.Fatalf("checksum.FromHeaders: %v", err)
	}
	sums, err := checksum.NewSet(q.Algorithms()...)
	if err != nil {
		t.Fatal(err)
	}
	sums.Write(res.body)
	if err := q.Verify(sums, trailerOf(res.trailer)); err != nil {
		t.Fatalf("checksum verify: %v", err)
	}
	return q
}

var putSizes = []int{0, 1, 70000, 5<<20 + 7}

// TestSDKPutObjectPlainHTTP: the real client's PutObject over http:// must
// verify and arrive intact. Over plain HTTP the SDK cannot use trailing
// checksums, so it signs the body's SHA-256 and sends the CRC32 as a header.
func TestSDKPutObjectPlainHTTP(t *testing.T) {
	v := &Verifier{Region: testRegion}
	srv, ch := newVerifyServer(t, v, false)
	client := sdkClient(t, srv, testRegion)
	for _, n := range putSizes {
		data := randomBytes(n, uint64(n)+1)
		_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String("bucket"), Key: aws.String("dir/ünï cödé+=&?#%~!*'();:@$,[] .bin"), Body: bytes.NewReader(data),
		})
		res := <-ch
		if err != nil {
			t.Fatalf("size %d: PutObject: %v (server: verify %v, read %v)", n, err, res.verifyErr, res.readErr)
		}
		if res.path != "/bucket/dir/ünï cödé+=&?#%~!*'();:@$,[] .bin" {
			t.Errorf("path %q", res.path)
		}
		sum := sha256.Sum256(data)
		if mode := res.header.Get("X-Amz-Content-Sha256"); mode != hex.EncodeToString(sum[:]) || res.id.ContentSHA256 != mode {
			t.Errorf("size %d: x-amz-content-sha256 = %q, want the body's hex SHA-256", n, mode)
		}
		if !bytes.Equal(res.body, data) {
			t.Errorf("size %d: body differs (%d bytes)", n, len(res.body))
		}
		q := checkChecksums(t, res)
		if q.Algorithm != checksum.CRC32 || q.Value == "" || q.Trailer != "" {
			t.Errorf("size %d: checksum request %+v", n, q)
		}
		t.Logf("http size %d: x-amz-content-sha256=<hex>, x-amz-checksum-crc32=%s, content-encoding=%q",
			n, q.Value, res.header.Get("Content-Encoding"))
	}
}

// TestSDKPutObjectHTTPS: over TLS the SDK streams aws-chunked bodies with an
// unsigned payload and a trailing CRC32 (STREAMING-UNSIGNED-PAYLOAD-TRAILER);
// the decoder must yield the exact bytes and expose the trailer.
func TestSDKPutObjectHTTPS(t *testing.T) {
	v := &Verifier{Region: testRegion}
	srv, ch := newVerifyServer(t, v, true)
	client := sdkClient(t, srv, testRegion)
	for _, seekable := range []bool{true, false} {
		for _, n := range putSizes {
			data := randomBytes(n, uint64(n)+2)
			var body io.Reader = bytes.NewReader(data)
			if !seekable {
				body = struct{ io.Reader }{body} // hide Seek
			}
			_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: aws.String("bucket"), Key: aws.String("k"), Body: body, ContentLength: aws.Int64(int64(n)),
			})
			res := <-ch
			if err != nil {
				t.Fatalf("size %d seekable %v: PutObject: %v (server: verify %v, read %v)", n, seekable, err, res.verifyErr, res.readErr)
			}
			if !bytes.Equal(res.body, data) {
				t.Errorf("size %d: body differs (%d bytes)", n, len(res.body))
			}
			q := checkChecksums(t, res)
			mode := res.header.Get("X-Amz-Content-Sha256")
			if n == 0 {
				// Empty bodies carry the checksum as a header.
				if mode != UnsignedPayload || q.Trailer != "" || q.Value == "" {
					t.Errorf("empty body: mode %q, checksum %+v", mode, q)
				}
				continue
			}
			if mode != StreamingUnsignedTrailer || res.id.ContentSHA256 != mode {
				t.Errorf("size %d: x-amz-content-sha256 = %q", n, mode)
			}
			if tr := res.header.Get("X-Amz-Trailer"); tr != "x-amz-checksum-crc32" || q.Trailer != tr {
				t.Errorf("size %d: x-amz-trailer = %q", n, tr)
			}
			if !strings.Contains(res.header.Get("Content-Encoding"), "aws-chunked") {
				t.Errorf("size %d: content-encoding %q", n, res.header.Get("Content-Encoding"))
			}
			if got := res.header.Get("X-Amz-Decoded-Content-Length"); got != strconv.Itoa(n) {
				t.Errorf("size %d: decoded length header %q", n, got)
			}
			if res.trailer.Get("x-amz-checksum-crc32") == "" {
				t.Errorf("size %d: no trailer", n)
			}
			t.Logf("https size %d seekable %v: x-amz-content-sha256=%s, x-amz-trailer=%s, trailer=%v, content-encoding=%q",
				n, seekable, mode, res.header.Get("X-Amz-Trailer"), res.trailer, res.header.Get("Content-Encoding"))
		}
	}
}

// TestSDKPutObjectUnknownLength: an unseekable body of unknown length over
// TLS is sent aws-chunked inside HTTP chunked transfer encoding.
func TestSDKPutObjectUnknownLength(t *testing.T) {
	v := &Verifier{Region: testRegion}
	srv, ch := newVerifyServer(t, v, true)
	client := sdkClient(t, srv, testRegion)
	data := randomBytes(200000, 77)
	_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("bucket"), Key: aws.String("k"), Body: struct{ io.Reader }{bytes.NewReader(data)},
	})
	res := <-ch
	if err != nil {
		t.Fatalf("PutObject: %v (verify %v, read %v)", err, res.verifyErr, res.readErr)
	}
	if !bytes.Equal(res.body, data) {
		t.Errorf("body differs (%d bytes)", len(res.body))
	}
	checkChecksums(t, res)
	t.Logf("unknown length: x-amz-content-sha256=%s decoded-length=%q trailer=%v",
		res.header.Get("X-Amz-Content-Sha256"), res.header.Get("X-Amz-Decoded-Content-Length"), res.trailer)
}

// TestSDKChecksumAlgorithms: every algorithm the client can request arrives
// as a verifiable trailer over TLS.
func TestSDKChecksumAlgorithms(t *testing.T) {
	v := &Verifier{Region: testRegion}
	srv, ch := newVerifyServer(t, v, true)
	client := sdkClient(t, srv, testRegion)
	data := randomBytes(100000, 5)
	for _, alg := range []types.ChecksumAlgorithm{
		types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme,
		types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256,
	} {
		_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String("bucket"), Key: aws.String("k"), Body: bytes.NewReader(data), ChecksumAlgorithm: alg,
		})
		res := <-ch
		if err != nil {
			t.Fatalf("%s: %v (verify %v, read %v)", alg, err, res.verifyErr, res.readErr)
		}
		q := checkChecksums(t, res)
		if q.Algorithm != string(alg) || q.Trailer != checksum.Header(string(alg)) || !bytes.Equal(res.body, data) {
			t.Errorf("%s: %+v", alg, q)
		}
	}
}

// TestSDKPresignClient sends URLs from the SDK's S3 presign client.
func TestSDKPresignClient(t *testing.T) {
	v := &Verifier{Region: testRegion}
	srv, ch := newVerifyServer(t, v, false)
	pc := s3.NewPresignClient(sdkClient(t, srv, testRegion), func(o *s3.PresignOptions) { o.Expires = 5 * time.Minute })
	data := []byte("presigned upload")

	put, err := pc.PresignPutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("bucket"), Key: aws.String("a b+c/ü~.txt"), ContentType: aws.String("text/plain"),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(put.Method, put.URL, bytes.NewReader(data))
	for k, vals := range put.SignedHeader {
		if !strings.EqualFold(k, "Host") {
			r.Header[k] = vals
		}
	}
	res := send(t, srv, ch, r)
	if res.verifyErr != nil || res.readErr != nil || !bytes.Equal(res.body, data) || !res.id.Presigned {
		t.Fatalf("presigned PUT: verify %v read %v body %q", res.verifyErr, res.readErr, res.body)
	}
	if res.path != "/bucket/a b+c/ü~.txt" {
		t.Errorf("path %q", res.path)
	}

	get, err := pc.PresignGetObject(context.Background(), &s3.GetObjectInput{
		Bucket: aws.String("bucket"), Key: aws.String("a b+c/ü~.txt"), ResponseContentDisposition: aws.String(`attachment; filename="x y.txt"`),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, _ = http.NewRequest(get.Method, get.URL, nil)
	res = send(t, srv, ch, r)
	if res.verifyErr != nil {
		t.Fatalf("presigned GET %s: %v", get.URL, res.verifyErr)
	}
}
