package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n int) []time.Duration {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(i+1) * time.Millisecond
		}
		return s
	}
	for _, tc := range []struct {
		n    int
		q    float64
		want time.Duration
	}{
		{0, 0.5, 0},
		{1, 0.5, time.Millisecond},
		{1, 0.99, time.Millisecond},
		{10, 0.5, 5 * time.Millisecond},
		{10, 0.9, 9 * time.Millisecond}, // 0.9*10 is 9.000000000000002 in float64
		{10, 0.99, 10 * time.Millisecond},
		{100, 0.99, 99 * time.Millisecond},
		{1000, 0.999, 999 * time.Millisecond},
		{7, 1, 7 * time.Millisecond},
		{7, 0, time.Millisecond},
	} {
		if got := percentile(ms(tc.n), tc.q); got != tc.want {
			t.Errorf("percentile(n=%d, q=%v) = %v, want %v", tc.n, tc.q, got, tc.want)
		}
	}
}

func TestMergeSortedAndSummarize(t *testing.T) {
	parts := [][]time.Duration{{5, 1, 9}, nil, {3, 7}}
	all := mergeSorted(parts)
	want := []time.Duration{1, 3, 5, 7, 9}
	if len(all) != len(want) {
		t.Fatalf("merged %v", all)
	}
	for i := range want {
		if all[i] != want[i] {
			t.Fatalf("merged %v, want %v", all, want)
		}
	}
	r := summarize(Result{Op: OpGet, Bytes: 5 << 20, Elapsed: 2 * time.Second}, all)
	if r.Ops != 5 || r.OpsPerSec != 2.5 || r.MBps != 2.5 || r.P50 != 5 || r.Max != 9 {
		t.Errorf("summarize = %+v", r)
	}
	if z := summarize(Result{}, nil); z.OpsPerSec != 0 || z.MBps != 0 || z.P99 != 0 {
		t.Errorf("empty summarize = %+v", z)
	}
}

func sampleResults() []Result {
	return []Result{
		{Op: OpGet, ObjectSize: 4 << 20, Concurrency: 16, Ops: 1200, Bytes: 1200 * 4 << 20,
			Elapsed: 5 * time.Second, MBps: 960, OpsPerSec: 240,
			P50: 61234567, P90: 80 * time.Millisecond, P99: 97 * time.Millisecond, Max: 120 * time.Millisecond},
		{Op: OpPut, ObjectSize: 4 << 20, Concurrency: 16, Checksums: true, Ops: 300, Errors: 2,
			Elapsed: 5 * time.Second, FirstError: "put t/00000001: boom"},
	}
}

func TestResultString(t *testing.T) {
	s := sampleResults()[0].String()
	for _, want := range []string{"get", "size=4MiB", "conc=16", "ops/s=240.0", "MiB/s=960.0",
		"p50=61.23ms", "p90=80ms", "p99=97ms", "max=120ms", "errors=0", "checksums=off", "multipart=off", "sse-c=off"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q lacks %q", s, want)
		}
	}
	if strings.Contains(s, "\n") {
		t.Errorf("String() spans lines: %q", s)
	}
	if s := sampleResults()[1].String(); !strings.Contains(s, "checksums=on") || !strings.Contains(s, "boom") {
		t.Errorf("String() = %q", s)
	}
}

func TestReport(t *testing.T) {
	var buf bytes.Buffer
	Report(&buf, sampleResults())
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("report has %d lines:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "MiB/s") || !strings.Contains(lines[0], "P99") {
		t.Errorf("header = %q", lines[0])
	}
	if len(lines[1]) != len(lines[2]) {
		t.Errorf("rows not aligned:\n%s", buf.String())
	}
	if !strings.Contains(lines[3], "put: first error: put t/00000001: boom") {
		t.Errorf("error line = %q", lines[3])
	}
}

func TestReportModeColumns(t *testing.T) {
	var plain bytes.Buffer
	Report(&plain, sampleResults())
	if h := strings.SplitN(plain.String(), "\n", 2)[0]; strings.Contains(h, "MULTIPART") || strings.Contains(h, "SSE-C") {
		t.Errorf("plain report grew mode columns: %q", h)
	}

	res := sampleResults()
	res[1].Multipart, res[1].PartSize, res[1].PartConcurrency, res[1].SSEC = true, 16<<20, 4, true
	if s := res[1].String(); !strings.Contains(s, "checksums=on multipart=16MiBx4 sse-c=on") {
		t.Errorf("String() = %q, want all three modes", s)
	}
	var buf bytes.Buffer
	Report(&buf, res)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.HasSuffix(strings.TrimSpace(lines[0]), "CHECKSUMS  MULTIPART  SSE-C") {
		t.Errorf("header = %q", lines[0])
	}
	if f := strings.Fields(lines[1]); f[len(f)-2] != "off" || f[len(f)-1] != "off" {
		t.Errorf("get row = %q, want multipart and sse-c off", lines[1])
	}
	if f := strings.Fields(lines[2]); f[len(f)-3] != "on" || f[len(f)-2] != "16MiBx4" || f[len(f)-1] != "on" {
		t.Errorf("put row = %q, want checksums on, 16MiBx4, sse-c on", lines[2])
	}
	if len(lines[1]) != len(lines[2]) {
		t.Errorf("rows not aligned:\n%s", buf.String())
	}
}

func TestReportJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := ReportJSON(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	var decoded []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if len(decoded) != 2 || decoded[0]["op"] != "get" || decoded[0]["mib_per_sec"] != 960.0 ||
		decoded[0]["p50_ns"] != 61234567.0 || decoded[1]["first_error"] != "put t/00000001: boom" {
		t.Errorf("decoded %v", decoded)
	}
	if _, ok := decoded[0]["first_error"]; ok {
		t.Error("empty first_error not omitted")
	}
	var back []Result
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back[0] != sampleResults()[0] {
		t.Errorf("round trip: %v %+v", err, back)
	}
	buf.Reset()
	if err := ReportJSON(&buf, nil); err != nil || strings.TrimSpace(buf.String()) != "[]" {
		t.Errorf("nil results encode as %q, %v", buf.String(), err)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0B", 100: "100B", 1024: "1KiB", 1536: "1.5KiB", 4 << 20: "4MiB", 1 << 30: "1GiB", 300<<10 + 7: "300.0KiB",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
