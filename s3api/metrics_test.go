package s3api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricValue returns the value of the series name{labels} in reg (the
// sample count for a histogram) and whether it exists.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), true
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func TestMetricsCountRequests(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Fatal("registering the metrics twice must fail, not panic")
	}
	srv, err := New(Config{Index: newFakeIndex(6), Shards: newFakeShards(), Credentials: map[string]string{"AK": "SK"},
		BlockSize: 64 << 10, InlineThreshold: 1024, MasterKey: testMasterKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(m.Wrap(srv))
	defer hs.Close()
	cl := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AK", "SK", ""), Retryer: aws.NopRetryer{},
	})
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 200<<10) // erasure-coded, not inline
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, out.Body); err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")}); err == nil {
		t.Fatal("HEAD of a missing key should fail")
	}

	want := []struct {
		name   string
		labels map[string]string
		min    float64
		max    float64
	}{
		{"cairn_s3_requests_total", map[string]string{"op": "CreateBucket", "code": "200"}, 1, 1},
		{"cairn_s3_requests_total", map[string]string{"op": "PutObject", "code": "200"}, 1, 1},
		{"cairn_s3_requests_total", map[string]string{"op": "GetObject", "code": "200"}, 1, 1},
		{"cairn_s3_requests_total", map[string]string{"op": "HeadObject", "code": "404"}, 1, 1},
		{"cairn_s3_request_duration_seconds", map[string]string{"op": "PutObject"}, 1, 1},
		{"cairn_s3_received_bytes_total", map[string]string{"op": "PutObject"}, float64(len(body)), float64(len(body) + 4096)}, // aws-chunked framing
		{"cairn_s3_sent_bytes_total", map[string]string{"op": "GetObject"}, float64(len(body)), float64(len(body))},
		{"cairn_s3_requests_in_flight", map[string]string{}, 0, 0},
	}
	for _, w := range want {
		v, ok := metricValue(t, reg, w.name, w.labels)
		if !ok || v < w.min || v > w.max {
			t.Errorf("%s%v = %v (present %v), want %v..%v", w.name, w.labels, v, ok, w.min, w.max)
		}
	}
	if _, ok := metricValue(t, reg, "cairn_s3_requests_total", map[string]string{"op": "HeadObject", "code": "200"}); ok {
		t.Error("a failed HEAD was counted as 200")
	}
}

// TestMetricsCountTheServedOperation: a request is counted as the
// operation that serves it, whatever else its query names.
func TestMetricsCountTheServedOperation(t *testing.T) {
	_, _, reg, addr := limitedGateway(t, Limits{})
	base := "http://" + addr
	cases := []struct {
		method, path string
		status       int
		body, op     string
	}{
		{http.MethodGet, "/bkt?versioning&uploads", http.StatusOK, "<VersioningConfiguration", "GetBucketVersioning"},
		{http.MethodGet, "/bkt?versions&uploads", http.StatusOK, "<ListVersionsResult", "ListObjectVersions"},
		{http.MethodPost, "/bkt?delete&uploads", http.StatusMethodNotAllowed, "MethodNotAllowed", "Other"},
		{http.MethodPut, "/bkt?replication", http.StatusNotImplemented, "NotImplemented", "PutBucketReplication"},
		{http.MethodDelete, "/bkt?acl", http.StatusNotImplemented, "NotImplemented", "NotImplemented"},
	}
	for _, c := range cases {
		st, _, body := surfDo(t, base, c.method, c.path, nil, nil)
		if st != c.status || !strings.Contains(body, c.body) {
			t.Errorf("%s %s: %d %s, want %d with %s", c.method, c.path, st, body, c.status, c.body)
		}
		labels := map[string]string{"op": c.op, "code": strconv.Itoa(c.status)}
		if v, ok := metricValue(t, reg, "cairn_s3_requests_total", labels); !ok || v != 1 {
			t.Errorf("%s %s: cairn_s3_requests_total%v = %v (present %v), want 1", c.method, c.path, labels, v, ok)
		}
	}
}
