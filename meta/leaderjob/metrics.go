package leaderjob

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The series of Collector, each labelled job=<name>, after the prefix.
const (
	metricRounds      = "_rounds_total"
	metricErrors      = "_errors_total"
	metricDuration    = "_last_round_seconds"
	metricLastSuccess = "_last_success_timestamp_seconds"
	metricRunning     = "_running"
	metricActive      = "_active"
)

// collector reports a runner's Status on every scrape.
type collector struct {
	r                                                   *Runner
	rounds, errors, duration, lastSuccess, running, act *prometheus.Desc
}

// Collector returns a Prometheus collector of every job's status, one
// series per job labelled job=<name>, named prefix followed by:
//
//   - _rounds_total: rounds finished;
//   - _errors_total: rounds that failed;
//   - _last_round_seconds: how long the last finished round took;
//   - _last_success_timestamp_seconds: when the last successful round
//     ended, in Unix seconds (0: never);
//   - _running: 1 while a round is under way;
//   - _active: 1 while the job's loop runs (this node leads).
//
// Register it once per runner.
func (r *Runner) Collector(prefix string) prometheus.Collector {
	desc := func(suffix, help string) *prometheus.Desc {
		return prometheus.NewDesc(prefix+suffix, help, []string{"job"}, nil)
	}
	return &collector{
		r:           r,
		rounds:      desc(metricRounds, "Rounds the leader job finished on this node."),
		errors:      desc(metricErrors, "Rounds of the leader job that failed on this node."),
		duration:    desc(metricDuration, "Duration of the leader job's last finished round."),
		lastSuccess: desc(metricLastSuccess, "When the leader job's last successful round ended, in Unix seconds (0: never)."),
		running:     desc(metricRunning, "1 while a round of the leader job is under way."),
		act:         desc(metricActive, "1 while the leader job runs on this node (it leads)."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rounds, c.errors, c.duration, c.lastSuccess, c.running, c.act} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	flag := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for _, st := range c.r.Status() {
		var success float64
		if !st.LastSuccess.IsZero() {
			success = float64(st.LastSuccess.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(c.rounds, prometheus.CounterValue, float64(st.Rounds), st.Name)
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(st.Errors), st.Name)
		ch <- prometheus.MustNewConstMetric(c.duration, prometheus.GaugeValue, st.LastDuration.Seconds(), st.Name)
		ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, success, st.Name)
		ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, flag(st.Running), st.Name)
		ch <- prometheus.MustNewConstMetric(c.act, prometheus.GaugeValue, flag(st.Active), st.Name)
	}
}
