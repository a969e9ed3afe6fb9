package s3api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// lockedBuffer is a log sink the server's goroutines may write at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNotImplementedIsNotLoggedAsAFailure: the reads s3cmd's `info` makes
// of subresources Cairn does not implement answer 501 NotImplemented, and
// the gateway logs each as a refusal at debug level, not as an ERROR.
func TestNotImplementedIsNotLoggedAsAFailure(t *testing.T) {
	var logs lockedBuffer
	srv, err := New(Config{Index: newFakeIndex(6), Shards: newFakeShards(), Credentials: map[string]string{"AK": "SK"},
		BlockSize: 64 << 10, InlineThreshold: 1024, MasterKey: testMasterKey(t),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cl := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		Credentials: surfCreds("AK", "SK"), Retryer: aws.NopRetryer{}})
	if _, err := cl.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"requestPayment", "website"} {
		st, _, body := surfDo(t, hs.URL, http.MethodGet, "/bkt?"+sub, nil, nil)
		if st != http.StatusNotImplemented || !strings.Contains(body, "<Code>NotImplemented</Code>") {
			t.Fatalf("GET ?%s: %d %s, want 501 NotImplemented", sub, st, body)
		}
	}
	out := logs.String()
	if strings.Contains(out, "level=ERROR") {
		t.Fatalf("a 501 was logged as an error:\n%s", out)
	}
	if n := strings.Count(out, `msg="s3 request refused"`); n != 2 {
		t.Fatalf("%d refusals logged, want 2:\n%s", n, out)
	}
}
