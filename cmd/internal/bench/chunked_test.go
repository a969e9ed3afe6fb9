package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cairn-store/cairn/s3api/sigv4"
)

// TestChunkedPutVerifies sends chunked PUTs of several sizes to a server
// that checks them with Cairn's SigV4 verifier (seed and every chunk
// signature) and compares the decoded bytes with the pattern.
func TestChunkedPutVerifies(t *testing.T) {
	verifier := &sigv4.Verifier{Region: "us-east-1", Service: "s3", Now: time.Now, MaxSkew: time.Minute}
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := verifier.Verify(r.Context(), r, func(context.Context, string) (string, error) { return "SK", nil })
		if err == nil {
			got, err = io.ReadAll(r.Body)
		}
		if err != nil {
			t.Logf("verify: %v", err)
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	for _, size := range []int64{0, 1, chunkedSize, chunkedSize + 1, 3*chunkedSize + 17} {
		cfg := Config{Endpoint: srv.URL, Region: "us-east-1", AccessKey: "AK", SecretKey: "SK"}
		p := newChunkedPutter(&cfg, srv.Client())
		pat := newPattern(size)
		if err := p.put(context.Background(), "b", "k", pat.body(7, size), size); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		want, _ := io.ReadAll(pat.body(7, size))
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: server decoded %d bytes, want %d", size, len(got), len(want))
		}
	}
}
