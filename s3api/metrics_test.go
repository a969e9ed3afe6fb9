package s3api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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

func TestS3Op(t *testing.T) {
	cases := []struct {
		method, target string
		header         string // x-amz-copy-source, if any
		want           string
	}{
		{"GET", "/", "", "ListBuckets"},
		{"PUT", "/b", "", "CreateBucket"},
		{"HEAD", "/b", "", "HeadBucket"},
		{"DELETE", "/b", "", "DeleteBucket"},
		{"GET", "/b?list-type=2&prefix=x", "", "ListObjectsV2"},
		{"GET", "/b?prefix=x", "", "ListObjects"},
		{"GET", "/b?location", "", "GetBucketLocation"},
		{"GET", "/b?uploads", "", "ListMultipartUploads"},
		{"POST", "/b?delete", "", "DeleteObjects"},
		{"PUT", "/b?tagging", "", "PutBucketTagging"},
		{"GET", "/b/k?tagging", "", "GetObjectTagging"},
		{"DELETE", "/b/k?tagging", "", "DeleteObjectTagging"},
		{"PUT", "/b/k", "", "PutObject"},
		{"PUT", "/b/k", "/src/k", "CopyObject"},
		{"GET", "/b/k", "", "GetObject"},
		{"HEAD", "/b/k", "", "HeadObject"},
		{"DELETE", "/b/k", "", "DeleteObject"},
		{"POST", "/b/k?uploads", "", "CreateMultipartUpload"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", "", "UploadPart"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", "/src/k", "UploadPartCopy"},
		{"POST", "/b/k?uploadId=u", "", "CompleteMultipartUpload"},
		{"GET", "/b/k?uploadId=u", "", "ListParts"},
		{"DELETE", "/b/k?uploadId=u", "", "AbortMultipartUpload"},
		{"GET", "/b?acl", "", "NotImplemented"},
		{"PATCH", "/b/k", "", "Other"},
		{"GET", "/b/k?delete", "", "Other"},
		{"GET", "/b?uploadId=u", "", "Other"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.target, http.NoBody)
		if c.header != "" {
			r.Header.Set("x-amz-copy-source", c.header)
		}
		bucket, key := splitPath(r.URL.Path)
		if got := s3Op(r, bucket, key); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.method, c.target, got, c.want)
		}
	}
}
