package s3api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
)

// limitedGateway is a gateway on fakes with the given limits: an SDK
// client, the server, its metrics and the address it listens on.
func limitedGateway(t *testing.T, l Limits) (*s3.Client, *Server, *prometheus.Registry, string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Index: newFakeIndex(6), Shards: newFakeShards(), Credentials: map[string]string{"AK": "SK"},
		BlockSize: 64 << 10, InlineThreshold: 1024, MasterKey: testMasterKey(t), Limits: l, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(m.Wrap(srv))
	t.Cleanup(hs.Close)
	cl := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		Credentials: surfCreds("AK", "SK"), Retryer: aws.NopRetryer{},
	})
	if _, err := cl.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	return cl, srv, reg, u.Host
}

// rawPut is a PUT of path on a connection of its own, written by hand: a
// head signed with UNSIGNED-PAYLOAD declaring length bytes, and then
// whatever body the test writes.
type rawPut struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func startRawPut(t *testing.T, addr, path string, length int64) *rawPut {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req, err := http.NewRequest(http.MethodPut, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, addr, length)
	for name, vals := range req.Header {
		fmt.Fprintf(&head, "%s: %s\r\n", name, vals[0])
	}
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		t.Fatal(err)
	}
	return &rawPut{t: t, conn: conn, br: bufio.NewReader(conn)}
}

func (p *rawPut) write(b []byte) error { _, err := p.conn.Write(b); return err }

// response reads the answer within wait and returns it with its body.
func (p *rawPut) response(wait time.Duration) (*http.Response, string) {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		p.t.Fatalf("no response within %s: %v", wait, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatalf("response body: %v", err)
	}
	return resp, string(b)
}

// closedWithin checks that the server closes the connection within wait.
func (p *rawPut) closedWithin(wait time.Duration) {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(wait))
	var one [1]byte
	if n, err := p.br.Read(one[:]); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		p.t.Fatalf("connection still open after the response (read %d, %v)", n, err)
	}
}

func wantXMLError(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || !strings.Contains(body, "<Code>"+code+"</Code>") {
		t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, status, code)
	}
}

func TestSilentBodyGetsRequestTimeout(t *testing.T) {
	cl, _, _, addr := limitedGateway(t, Limits{BodyIdleTimeout: 300 * time.Millisecond})
	p := startRawPut(t, addr, "/bkt/silent", 1<<20)
	if err := p.write(make([]byte, 100<<10)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, body := p.response(5 * time.Second)
	wantXMLError(t, resp, body, http.StatusBadRequest, "RequestTimeout")
	if took := time.Since(start); took < 250*time.Millisecond || took > 3*time.Second {
		t.Fatalf("answered after %s, want about the 300ms idle timeout", took)
	}
	if !resp.Close {
		t.Fatal("RequestTimeout without Connection: close")
	}
	p.closedWithin(3 * time.Second)
	_, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("silent")})
	if code(err) != "NotFound" {
		t.Fatalf("a timed-out PUT left an object: %v", err)
	}
}

func TestSlowSteadyBodyIsNotCut(t *testing.T) {
	cl, _, _, addr := limitedGateway(t, Limits{BodyIdleTimeout: 300 * time.Millisecond})
	// 16 pieces, one every 100 ms: 1.6 s in all, far past the idle timeout,
	// but never silent for as long as it.
	const piece, pieces = 16 << 10, 16
	data := bytes.Repeat([]byte("slow but steady "), piece*pieces/16)
	p := startRawPut(t, addr, "/bkt/steady", int64(len(data)))
	for i := range pieces {
		time.Sleep(100 * time.Millisecond)
		if err := p.write(data[i*piece : (i+1)*piece]); err != nil {
			t.Fatalf("piece %d: %v", i, err)
		}
	}
	resp, body := p.response(5 * time.Second)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slow PUT: %d %s", resp.StatusCode, body)
	}
	out, err := cl.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("steady")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	if !bytes.Equal(got, data) {
		t.Fatal("slow PUT stored other bytes")
	}
}

func TestShortBodyGetsIncompleteBody(t *testing.T) {
	cl, _, _, addr := limitedGateway(t, Limits{})
	for _, n := range []int{600, 200 << 10} { // inline, erasure coded
		key := fmt.Sprintf("short-%d", n)
		p := startRawPut(t, addr, "/bkt/"+key, int64(2*n))
		if err := p.write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		p.conn.(*net.TCPConn).CloseWrite()
		resp, body := p.response(5 * time.Second)
		wantXMLError(t, resp, body, http.StatusBadRequest, "IncompleteBody")
		_, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
		if code(err) != "NotFound" {
			t.Fatalf("%d of %d bytes stored an object: %v", n, 2*n, err)
		}
	}
}

func TestShedsPastTheBodyBudget(t *testing.T) {
	// Room for one 1 MiB body. The idle timeout is long, so the first body
	// is not silent long enough (2 s under pressure) to be evicted.
	cl, srv, reg, addr := limitedGateway(t, Limits{MaxBodyBytes: 1 << 20, BodyIdleTimeout: 10 * time.Second})
	first := startRawPut(t, addr, "/bkt/first", 1<<20)
	if err := first.write(make([]byte, 4<<10)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first PUT admitted", func() bool { _, b := srv.admit.inFlight(); return b > 0 })

	// The second sends its head only: it must be answered without its body,
	// after waiting at most queueWait for a place.
	second := startRawPut(t, addr, "/bkt/second", 512<<10)
	start := time.Now()
	resp, body := second.response(5 * time.Second)
	wantXMLError(t, resp, body, http.StatusServiceUnavailable, "SlowDown")
	if took := time.Since(start); took > queueWait+500*time.Millisecond {
		t.Fatalf("SlowDown took %s", took)
	}
	if !resp.Close {
		t.Fatal("SlowDown without Connection: close: the unread body is still on the connection")
	}
	second.closedWithin(3 * time.Second)
	if v, _ := metricValue(t, reg, "cairn_s3_shed_requests_total", map[string]string{"reason": "body_bytes"}); v != 1 {
		t.Fatalf("shed body_bytes = %v, want 1", v)
	}

	// A request without a body still fits; the first PUT completes.
	if _, err := cl.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("bkt")}); err != nil {
		t.Fatalf("a bodiless request was refused: %v", err)
	}
	if err := first.write(make([]byte, 1<<20-4<<10)); err != nil {
		t.Fatal(err)
	}
	if resp, body := first.response(5 * time.Second); resp.StatusCode != http.StatusOK {
		t.Fatalf("first PUT: %d %s", resp.StatusCode, body)
	}
}

func TestShedsPastTheRequestLimit(t *testing.T) {
	cl, srv, reg, addr := limitedGateway(t, Limits{MaxRequests: 1, BodyIdleTimeout: 10 * time.Second})
	first := startRawPut(t, addr, "/bkt/first", 10)
	if err := first.write([]byte("12345")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first PUT admitted", func() bool { r, _ := srv.admit.inFlight(); return r > 0 })
	_, err := cl.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	if code(err) != "SlowDown" {
		t.Fatalf("second request: %v, want SlowDown", err)
	}
	if v, _ := metricValue(t, reg, "cairn_s3_shed_requests_total", map[string]string{"reason": "requests"}); v != 1 {
		t.Fatalf("shed requests = %v, want 1", v)
	}
	if err := first.write([]byte("67890")); err != nil {
		t.Fatal(err)
	}
	if resp, body := first.response(5 * time.Second); resp.StatusCode != http.StatusOK {
		t.Fatalf("first PUT: %d %s", resp.StatusCode, body)
	}
}

func TestSilentBodyGivesWayUnderPressure(t *testing.T) {
	// Idle timeout 3 s: a body silent for 1.5 s gives way when the budget
	// is full and another request waits.
	cl, srv, reg, addr := limitedGateway(t, Limits{MaxBodyBytes: 1 << 20, BodyIdleTimeout: 3 * time.Second})
	stalled := startRawPut(t, addr, "/bkt/stalled", 1<<20)
	if err := stalled.write(make([]byte, 4<<10)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stalled PUT admitted", func() bool { _, b := srv.admit.inFlight(); return b > 0 })
	time.Sleep(1700 * time.Millisecond)

	start := time.Now()
	data := bytes.Repeat([]byte("x"), 300<<10)
	if _, err := cl.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("busy"), Body: bytes.NewReader(data)}); err != nil {
		t.Fatalf("PUT while a silent body held the budget: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("PUT took %s", took)
	}
	resp, body := stalled.response(time.Second) // before its own 3 s are up
	wantXMLError(t, resp, body, http.StatusBadRequest, "RequestTimeout")
	stalled.closedWithin(3 * time.Second)
	if v, _ := metricValue(t, reg, "cairn_s3_shed_requests_total", map[string]string{"reason": "body_bytes"}); v != 0 {
		t.Fatalf("shed = %v, want 0: the newcomer got the place", v)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShortOverloadWaitsInLine(t *testing.T) {
	// Room for one body: a second PUT arriving while the first is finishing
	// waits for its place instead of being refused.
	cl, srv, reg, addr := limitedGateway(t, Limits{MaxBodyBytes: 1 << 20, BodyIdleTimeout: 10 * time.Second})
	first := startRawPut(t, addr, "/bkt/first", 512<<10)
	if err := first.write(make([]byte, 4<<10)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first PUT admitted", func() bool { _, b := srv.admit.inFlight(); return b > 0 })
	done := make(chan error, 1)
	go func() {
		_, err := cl.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("second"),
			Body: bytes.NewReader(make([]byte, 600<<10))})
		done <- err
	}()
	time.Sleep(queueWait / 4)
	if err := first.write(make([]byte, 512<<10-4<<10)); err != nil {
		t.Fatal(err)
	}
	if resp, body := first.response(5 * time.Second); resp.StatusCode != http.StatusOK {
		t.Fatalf("first PUT: %d %s", resp.StatusCode, body)
	}
	if err := <-done; err != nil {
		t.Fatalf("second PUT, which waited for the first: %v", err)
	}
	if v, _ := metricValue(t, reg, "cairn_s3_shed_requests_total", map[string]string{"reason": "body_bytes"}); v != 0 {
		t.Fatalf("shed = %v, want 0", v)
	}
}
