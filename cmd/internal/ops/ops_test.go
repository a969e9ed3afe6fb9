package ops

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestEndpoints(t *testing.T) {
	var notReady error
	srv := httptest.NewServer(Handler(func(context.Context) error { return notReady }, nil))
	defer srv.Close()
	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get("/healthz") != 200 || get("/readyz") != 200 || get("/debug/pprof/") != 200 {
		t.Fatal("endpoints should answer 200")
	}
	notReady = errors.New("no leader")
	if get("/readyz") != http.StatusServiceUnavailable || get("/healthz") != 200 {
		t.Fatal("readyz must follow the ready check; healthz must not")
	}
}

func TestMetrics(t *testing.T) {
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "cairn_test_things_total", Help: "Things."})
	reg.MustRegister(c)
	c.Add(3)
	type snap struct{ a, b int }
	reg.MustRegister(NewSnapshotCollector(func() (snap, error) { return snap{7, 9}, nil },
		prometheus.Labels{"node": "n1"},
		SnapshotMetric[snap]{Name: "cairn_test_a_total", Help: "A.", Type: prometheus.CounterValue, Value: func(s snap) float64 { return float64(s.a) }},
		SnapshotMetric[snap]{Name: "cairn_test_b", Help: "B.", Type: prometheus.GaugeValue, Value: func(s snap) float64 { return float64(s.b) }},
	))
	reg.MustRegister(NewSnapshotCollector(func() (snap, error) { return snap{}, errors.New("closed") }, nil,
		SnapshotMetric[snap]{Name: "cairn_test_broken", Help: "Never reported.", Type: prometheus.GaugeValue, Value: func(s snap) float64 { return 1 }},
	))
	srv := httptest.NewServer(Handler(nil, reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		"cairn_test_things_total 3\n",
		`cairn_test_a_total{node="n1"} 7` + "\n",
		`cairn_test_b{node="n1"} 9` + "\n",
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(string(body), "cairn_test_broken") {
		t.Error("a failed snapshot must report nothing")
	}

	// Without a registry there is no /metrics.
	bare := httptest.NewServer(Handler(nil, nil))
	defer bare.Close()
	resp, err = http.Get(bare.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics without a registry: %d", resp.StatusCode)
	}
}
