package s3api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Helpers of the CopyObject, DeleteObjects, SigV2, virtual-host and
// override tests.

func surfSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func surfCreds(access, secret string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(access, secret, "")
}

// surfDialTo returns an HTTP client whose connections all go to addr,
// whatever host name the URL has.
func surfDialTo(addr string) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// surfGateway starts a gateway on fakes with cfg adjusted by adjust and
// returns an SDK client, the fakes and the server's URL.
func surfGateway(t *testing.T, adjust func(*Config)) (*s3.Client, *fakeIndex, *fakeShards, string) {
	t.Helper()
	idx, sh := newFakeIndex(6), newFakeShards()
	cfg := Config{Index: idx, Shards: sh, Credentials: map[string]string{"AK": "SK"}, BlockSize: 64 << 10, InlineThreshold: 1024, MasterKey: testMasterKey(t)}
	if adjust != nil {
		adjust(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cl := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		Credentials: surfCreds("AK", "SK"), Retryer: aws.NopRetryer{},
	})
	return cl, idx, sh, hs.URL
}

// surfDo sends a SigV4-signed request (path as sent, already escaped) and
// returns the status, headers and body of the response.
func surfDo(t *testing.T, base, method, path string, body []byte, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sum := surfSHA256(body)
	req.Header.Set("X-Amz-Content-Sha256", sum)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}, req, sum, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return surfSend(t, req)
}

// surfSend sends req as is.
func surfSend(t *testing.T, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
