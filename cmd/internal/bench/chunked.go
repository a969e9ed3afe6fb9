package bench

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Signed aws-chunked PUTs (Config.Chunked): the body goes as
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD in chunks of chunkedSize, each
// signed in a chain from the request's seed signature, the way SDKs
// stream bodies they cannot hash up front.

const (
	chunkedMode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	chunkedSize = 64 << 10 // what the SDKs send
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// chunkedPutter sends signed aws-chunked PUTs over its own HTTP client.
type chunkedPutter struct {
	hc       *http.Client
	endpoint string
	region   string
	creds    aws.Credentials
	signer   *v4.Signer
}

func newChunkedPutter(cfg *Config, hc *http.Client) *chunkedPutter {
	return &chunkedPutter{
		hc: hc, endpoint: cfg.Endpoint, region: cfg.Region,
		creds:  aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey},
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
	}
}

// encodedLength is the aws-chunked length of a size-byte body.
func encodedLength(size int64) int64 {
	const sig = len(";chunk-signature=") + 64 + 4 // and the two CRLFs
	n := int64(len("0") + sig)
	full, rest := size/chunkedSize, size%chunkedSize
	n += full * int64(len(fmt.Sprintf("%x", chunkedSize))+sig+chunkedSize)
	if rest > 0 {
		n += int64(len(fmt.Sprintf("%x", rest))+sig) + rest
	}
	return n
}

func hmacSum(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// put sends body (size bytes) to bucket/key.
func (c *chunkedPutter) put(ctx context.Context, bucket, key string, body io.Reader, size int64) error {
	now := time.Now().UTC()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.endpoint+"/"+bucket+"/"+key, nil)
	if err != nil {
		return err
	}
	req.ContentLength = encodedLength(size)
	req.Header.Set("X-Amz-Content-Sha256", chunkedMode)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(size))
	if err := c.signer.SignHTTP(ctx, c.creds, req, chunkedMode, "s3", c.region, now); err != nil {
		return err
	}
	auth := req.Header.Get("Authorization")
	date := now.Format("20060102")
	k := hmacSum([]byte("AWS4"+c.creds.SecretAccessKey), date)
	for _, s := range []string{c.region, "s3", "aws4_request"} {
		k = hmacSum(k, s)
	}
	enc := &chunkEncoder{
		src: body, left: size, key: k,
		prefix: "AWS4-HMAC-SHA256-PAYLOAD\n" + now.Format("20060102T150405Z") + "\n" + date + "/" + c.region + "/s3/aws4_request\n",
		prev:   auth[strings.LastIndex(auth, "Signature=")+len("Signature="):],
		buf:    make([]byte, chunkedSize),
	}
	req.Body = io.NopCloser(enc)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("aws-chunked PUT: %s", resp.Status)
	}
	return nil
}

// chunkEncoder frames and signs src as aws-chunked, one chunk at a time.
type chunkEncoder struct {
	src    io.Reader
	left   int64 // object bytes not yet framed
	key    []byte
	prefix string // string-to-sign up to the previous signature
	prev   string
	buf    []byte
	out    []byte // framed bytes not yet returned
	done   bool
}

func (e *chunkEncoder) Read(p []byte) (int, error) {
	for len(e.out) == 0 {
		if e.done {
			return 0, io.EOF
		}
		n := int(min(e.left, int64(len(e.buf))))
		data := e.buf[:n]
		if _, err := io.ReadFull(e.src, data); err != nil {
			return 0, err
		}
		e.left -= int64(n)
		sum := sha256.Sum256(data)
		e.prev = hex.EncodeToString(hmacSum(e.key, e.prefix+e.prev+"\n"+emptySHA256+"\n"+hex.EncodeToString(sum[:])))
		e.out = append(e.out[:0], fmt.Sprintf("%x;chunk-signature=%s\r\n", n, e.prev)...)
		e.out = append(e.out, data...)
		e.out = append(e.out, "\r\n"...)
		e.done = n == 0
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}
