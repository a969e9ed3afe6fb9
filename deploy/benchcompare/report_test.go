package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want summary
	}{
		{nil, summary{}},
		{[]float64{5}, summary{5, 5, 5, 1}},
		{[]float64{9, 1, 5}, summary{5, 1, 9, 3}},
		{[]float64{4, 1, 3, 10}, summary{3.5, 1, 10, 4}},
	} {
		in := append([]float64(nil), tc.in...)
		if got := summarize(tc.in); got != tc.want {
			t.Errorf("summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Errorf("summarize reordered its input: %v", tc.in)
			}
		}
	}
}

func testTargets() []target {
	return []target{
		{Key: "dev", Name: "Cairn dev", Short: "dev", Cairn: true, Kinds: []string{"dev"}},
		{Key: "minio", Name: "MinIO", Short: "MinIO", Kinds: []string{"server"}},
		{Key: "weed", Name: "SeaweedFS", Short: "SeaweedFS", Kinds: []string{"server"}},
	}
}

func put(rep int, target string, mibps float64, cpu map[string]float64) sample {
	return sample{Rep: rep, Target: target, Workload: "PUT 16MiB c8", Result: benchResult{MBps: mibps}, CPU: cpu}
}

func TestThroughputTable(t *testing.T) {
	ws := []workload{{Name: "PUT 16MiB c8", Metric: mibPerSec}, {Name: "GET 4KiB c1", Metric: p50Millis}}
	samples := []sample{
		put(1, "dev", 90, nil), put(2, "dev", 70, nil), put(3, "dev", 80, nil),
		put(1, "minio", 100, nil), put(2, "minio", 120, nil), put(3, "minio", 110, nil),
		// A failed sample is left out, whatever figure it carries.
		{Rep: 3, Target: "weed", Workload: "PUT 16MiB c8", Result: benchResult{MBps: 1}, Err: "boom"},
		put(1, "weed", 160, nil), put(2, "weed", 160, nil),
		{Rep: 1, Target: "dev", Workload: "GET 4KiB c1", Result: benchResult{P50: 1500 * time.Microsecond}},
		{Rep: 1, Target: "minio", Workload: "GET 4KiB c1", Result: benchResult{P50: 3 * time.Millisecond}},
	}
	rows := throughputTable(ws, testTargets(), samples)
	want := [][]string{
		{"WORKLOAD", "METRIC", "Cairn dev", "MinIO", "SeaweedFS", "dev/MinIO", "dev/SeaweedFS"},
		{"PUT 16MiB c8", "MiB/s", "80 (70-90)", "110 (100-120)", "160 (160-160)", "0.73x", "0.50x"},
		{"GET 4KiB c1", "p50 ms", "1.50", "3.00", "-", "0.50x", "-"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d:\n got %q\nwant %q", i, rows[i], want[i])
		}
	}
}

func TestCPUTable(t *testing.T) {
	ts := []target{{Key: "cluster", Name: "Cairn cluster", Cairn: true, Kinds: []string{"gateway", "data", "meta"}}}
	ws := []workload{{Name: "PUT 16MiB c8", Metric: mibPerSec}}
	samples := []sample{
		put(1, "cluster", 70, map[string]float64{"gateway": 7, "data": 12, "meta": 1, clientKind: 2}),
		put(2, "cluster", 70, map[string]float64{"gateway": 5, "data": 14, "meta": 1, clientKind: 3}),
		put(3, "cluster", 70, map[string]float64{"gateway": 6, "data": 10, "meta": 0.5, clientKind: 1}),
	}
	rows := cpuTable(ws, ts, samples)
	want := []string{"PUT 16MiB c8", "Cairn cluster", "20.0 (16.5-20.0)", "gateway 6.00, data 12.0, meta 1.00", "2.00 (1.00-3.00)"}
	if len(rows) != 2 || strings.Join(rows[1], "|") != strings.Join(want, "|") {
		t.Fatalf("rows = %q, want header and %q", rows, want)
	}
}

func TestRenderAligns(t *testing.T) {
	var b bytes.Buffer
	if err := render(&b, [][]string{{"A", "BBBB"}, {"CCC", "D"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "A    BBBB\nCCC  D\n"; got != want {
		t.Errorf("render = %q, want %q", got, want)
	}
}
