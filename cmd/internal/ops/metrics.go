package ops

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewRegistry returns a registry holding the Go runtime and process
// collectors, for a process to add its own metrics to and pass to Serve.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// SnapshotMetric is one series read from a snapshot of type T.
type SnapshotMetric[T any] struct {
	Name, Help string
	Type       prometheus.ValueType // prometheus.CounterValue or prometheus.GaugeValue
	Value      func(T) float64
}

// snapshotCollector takes one snapshot per scrape and reports every metric
// from it, so related series are consistent and a costly snapshot (a disk
// statfs, a database scan) is taken once, not once per series.
type snapshotCollector[T any] struct {
	snap    func() (T, error)
	descs   []*prometheus.Desc
	metrics []SnapshotMetric[T]
}

// NewSnapshotCollector returns a collector that calls snap on every scrape
// and reports metrics from its result, each with constLabels. A scrape
// where snap fails reports none of them (the scrape itself still works).
func NewSnapshotCollector[T any](snap func() (T, error), constLabels prometheus.Labels, metrics ...SnapshotMetric[T]) prometheus.Collector {
	c := &snapshotCollector[T]{snap: snap, metrics: metrics}
	for _, m := range metrics {
		c.descs = append(c.descs, prometheus.NewDesc(m.Name, m.Help, nil, constLabels))
	}
	return c
}

func (c *snapshotCollector[T]) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *snapshotCollector[T]) Collect(ch chan<- prometheus.Metric) {
	v, err := c.snap()
	if err != nil {
		return
	}
	for i, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(c.descs[i], m.Type, m.Value(v))
	}
}
