package s3api

import (
	"bytes"
	"context"
	"math/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// objectHeaders are headers of an object that must never ride on an error.
var objectHeaders = []string{"ETag", "Last-Modified", "Accept-Ranges", "Content-Range", "X-Amz-Meta-Color",
	"X-Amz-Checksum-Crc32c", "X-Amz-Checksum-Type", "X-Amz-Server-Side-Encryption", "Cache-Control"}

func TestUnreadableObjectSaysSo(t *testing.T) {
	cl, srv, reg, addr := limitedGateway(t, Limits{})
	sh := srv.cfg.Shards.(*fakeShards)
	ctx := context.Background()
	body := make([]byte, 700<<10)
	rand.New(rand.NewSource(7)).Read(body)
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: bytes.NewReader(body),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c, CacheControl: aws.String("no-cache"), Metadata: map[string]string{"color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	get := func() (int, http.Header, string) {
		return surfDo(t, "http://"+addr, http.MethodGet, "/bkt/k", nil, map[string]string{"x-amz-checksum-mode": "ENABLED"})
	}
	if st, h, _ := get(); st != http.StatusOK || h.Get("X-Amz-Checksum-Crc32c") == "" {
		t.Fatalf("healthy GET: %d %v", st, h)
	}
	noObjectHeaders := func(h http.Header) {
		t.Helper()
		for _, name := range objectHeaders {
			if v := h.Get(name); v != "" {
				t.Fatalf("error response carries the object's %s: %q", name, v)
			}
		}
		if h.Get("Content-Type") != "application/xml" {
			t.Fatalf("error Content-Type %q", h.Get("Content-Type"))
		}
	}

	// Three of six nodes down (parity 2): the object may come back.
	for _, n := range []string{"n0", "n2", "n4"} {
		sh.SetDown(n, true)
	}
	st, h, out := get()
	if st != http.StatusServiceUnavailable || !strings.Contains(out, "<Code>ServiceUnavailable</Code>") ||
		!strings.Contains(out, "cannot be read right now: 3 of its 6 shards are unavailable") {
		t.Fatalf("GET with 3 nodes down: %d %s", st, out)
	}
	if strings.Contains(out, "reduce your request rate") {
		t.Fatal("an unreadable object must not tell the client to slow down")
	}
	noObjectHeaders(h)
	if v, _ := metricValue(t, reg, "cairn_s3_unreadable_objects_total", map[string]string{"cause": "unreachable"}); v != 1 {
		t.Fatalf("unreachable count %v, want 1", v)
	}

	// The nodes answer, but three shards are gone: the object is lost.
	for _, n := range []string{"n0", "n2", "n4"} {
		sh.SetDown(n, false)
	}
	deleted := 0
	sh.Edit(func(shards map[string][][]byte) {
		for k := range shards {
			if deleted < 3 && (strings.HasPrefix(k, "n1/") || strings.HasPrefix(k, "n3/") || strings.HasPrefix(k, "n5/")) {
				delete(shards, k)
				deleted++
			}
		}
	})
	if deleted != 3 {
		t.Fatalf("deleted %d shards", deleted)
	}
	st, h, out = get()
	if st != http.StatusInternalServerError || !strings.Contains(out, "<Code>InternalError</Code>") ||
		!strings.Contains(out, "cannot be read: 3 of its 6 shards are missing or corrupt") {
		t.Fatalf("GET with 3 shards gone: %d %s", st, out)
	}
	noObjectHeaders(h)
	if v, _ := metricValue(t, reg, "cairn_s3_unreadable_objects_total", map[string]string{"cause": "lost"}); v != 1 {
		t.Fatalf("lost count %v, want 1", v)
	}
	// Meta heard of the version once (a second failed read within the
	// minute is not reported again).
	get()
	idx := srv.cfg.Index.(*fakeIndex)
	deadline := time.Now().Add(5 * time.Second)
	for len(idx.UnreadableReports()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	reps := idx.UnreadableReports()
	if len(reps) != 1 || reps[0].GetBucket() != "bkt" || reps[0].GetKey() != "k" || reps[0].GetVersionId() == "" ||
		reps[0].GetShardsNeeded() != 4 || reps[0].GetShardsReadable() > 3 {
		t.Fatalf("unreadable reports to meta: %v", reps)
	}
	// HEAD reads no shards: the record is intact.
	if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")}); err != nil {
		t.Fatalf("HEAD: %v", err)
	}
}

func TestErrorResponsesKeepTheirOwnHeaders(t *testing.T) {
	cl, _, _, addr := limitedGateway(t, Limits{})
	ctx := context.Background()
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("0123456789"),
		Metadata: map[string]string{"color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	st, h, _ := surfDo(t, "http://"+addr, http.MethodGet, "/bkt/k", nil, map[string]string{"Range": "bytes=20-30"})
	if st != http.StatusRequestedRangeNotSatisfiable || h.Get("Content-Range") != "bytes */10" {
		t.Fatalf("InvalidRange: %d, Content-Range %q", st, h.Get("Content-Range"))
	}
	if h.Get("ETag") != "" || h.Get("X-Amz-Meta-Color") != "" || h.Get("X-Amz-Request-Id") == "" {
		t.Fatalf("InvalidRange headers: %v", h)
	}
}
