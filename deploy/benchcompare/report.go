package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// benchResult is the part of one `cairn bench -json` result this program
// reads (cmd/internal/bench.Result; the JSON names are the contract).
type benchResult struct {
	Op          string        `json:"op"`
	ObjectSize  int64         `json:"object_size"`
	Concurrency int           `json:"concurrency"`
	Ops         int64         `json:"ops"`
	Bytes       int64         `json:"bytes"`
	Errors      int64         `json:"errors"`
	MBps        float64       `json:"mib_per_sec"`
	OpsPerSec   float64       `json:"ops_per_sec"`
	P50         time.Duration `json:"p50_ns"`
	FirstError  string        `json:"first_error,omitempty"`
}

// sample is one measured workload on one target in one rep.
type sample struct {
	Rep      int         `json:"rep"`
	Target   string      `json:"target"`
	Workload string      `json:"workload"`
	Result   benchResult `json:"result"`
	// CPU is the CPU seconds per GiB moved of each process kind, and of
	// the load client under clientKind.
	CPU map[string]float64 `json:"cpu_s_per_gib,omitempty"`
	Err string             `json:"error,omitempty"`
}

// clientKind names the load client's own CPU in sample.CPU.
const clientKind = "client"

// metric is the figure a workload is judged by.
type metric int

const (
	mibPerSec metric = iota
	opsPerSec
	p50Millis
)

func (m metric) label() string {
	return [...]string{"MiB/s", "ops/s", "p50 ms"}[m]
}

func (m metric) value(r benchResult) float64 {
	switch m {
	case mibPerSec:
		return r.MBps
	case opsPerSec:
		return r.OpsPerSec
	default:
		return float64(r.P50) / float64(time.Millisecond)
	}
}

func (m metric) format(v float64) string {
	switch m {
	case mibPerSec, opsPerSec:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// summary is the median, min and max of a set of figures.
type summary struct {
	Median, Min, Max float64
	N                int
}

// summarize returns the summary of xs (the mean of the middle two for an
// even count); N is 0 for no figures.
func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return summary{Median: med, Min: s[0], Max: s[n-1], N: n}
}

// ratio formats a/b as "0.87x", or "-" when either is missing.
func ratio(a, b summary) string {
	if a.N == 0 || b.N == 0 || b.Median == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a.Median/b.Median)
}

// figures collects, over the successful samples of workload w on target t,
// what pick returns (skipping samples for which it says false).
func figures(samples []sample, w, t string, pick func(sample) (float64, bool)) []float64 {
	var out []float64
	for _, s := range samples {
		if s.Workload != w || s.Target != t || s.Err != "" {
			continue
		}
		if v, ok := pick(s); ok {
			out = append(out, v)
		}
	}
	return out
}

// throughputTable has a row per workload: its metric on every target as
// "median (min-max)", then the ratio of each Cairn target to each other
// target (for p50, below 1 is better).
func throughputTable(ws []workload, ts []target, samples []sample) [][]string {
	var cairns, others []target
	for _, t := range ts {
		if t.Cairn {
			cairns = append(cairns, t)
		} else {
			others = append(others, t)
		}
	}
	head := []string{"WORKLOAD", "METRIC"}
	for _, t := range ts {
		head = append(head, t.Name)
	}
	for _, c := range cairns {
		for _, o := range others {
			head = append(head, c.Short+"/"+o.Short)
		}
	}
	rows := [][]string{head}
	for _, w := range ws {
		row := []string{w.Name, w.Metric.label()}
		sums := make(map[string]summary, len(ts))
		for _, t := range ts {
			s := summarize(figures(samples, w.Name, t.Key, func(s sample) (float64, bool) {
				return w.Metric.value(s.Result), true
			}))
			sums[t.Key] = s
			row = append(row, cell(s, w.Metric.format))
		}
		for _, c := range cairns {
			for _, o := range others {
				row = append(row, ratio(sums[c.Key], sums[o.Key]))
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// cpuTable has a row per workload and target: the median CPU seconds per
// GiB moved of all its server processes together, of each process kind,
// and of the load client.
func cpuTable(ws []workload, ts []target, samples []sample) [][]string {
	rows := [][]string{{"WORKLOAD", "TARGET", "SERVER s/GiB", "BY KIND s/GiB", "CLIENT s/GiB"}}
	for _, w := range ws {
		for _, t := range ts {
			total := summarize(figures(samples, w.Name, t.Key, func(s sample) (float64, bool) {
				var sum float64
				for _, k := range t.Kinds {
					sum += s.CPU[k]
				}
				return sum, s.CPU != nil
			}))
			var kinds []string
			for _, k := range t.Kinds {
				s := summarize(figures(samples, w.Name, t.Key, func(s sample) (float64, bool) {
					v, ok := s.CPU[k]
					return v, ok
				}))
				if s.N > 0 {
					kinds = append(kinds, k+" "+formatCPU(s.Median))
				}
			}
			client := summarize(figures(samples, w.Name, t.Key, func(s sample) (float64, bool) {
				v, ok := s.CPU[clientKind]
				return v, ok
			}))
			byKind := strings.Join(kinds, ", ")
			if byKind == "" {
				byKind = "-"
			}
			rows = append(rows, []string{w.Name, t.Name, cell(total, formatCPU), byKind, cell(client, formatCPU)})
		}
	}
	return rows
}

// cell renders a summary as "median (min-max)", "median" for one figure,
// or "-" for none.
func cell(s summary, format func(float64) string) string {
	switch s.N {
	case 0:
		return "-"
	case 1:
		return format(s.Median)
	}
	return fmt.Sprintf("%s (%s-%s)", format(s.Median), format(s.Min), format(s.Max))
}

// formatCPU keeps about three significant digits.
func formatCPU(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// render writes rows as a left-aligned table. Write errors are returned.
func render(w io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, r := range rows {
		if _, err := fmt.Fprintln(tw, strings.Join(r, "\t")); err != nil {
			return fmt.Errorf("benchcompare: writing table: %w", err)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("benchcompare: writing table: %w", err)
	}
	return nil
}
