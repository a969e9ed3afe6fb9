package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// Result is the measurement of one operation kind over one run. The JSON
// encoding is meant for `cairn bench -json`: durations are integer
// nanoseconds and throughput is MiB/s, as the field names say.
type Result struct {
	Op          string `json:"op"`
	ObjectSize  int64  `json:"object_size"`
	Concurrency int    `json:"concurrency"`
	Checksums   bool   `json:"checksums"`
	// SSEC reports requests carrying an SSE-C key; Multipart reports PUTs
	// sent through the upload manager with PartSize parts, PartConcurrency
	// of them in flight per object.
	SSEC            bool  `json:"sse_c"`
	Multipart       bool  `json:"multipart"`
	PartSize        int64 `json:"part_size,omitempty"`
	PartConcurrency int   `json:"part_concurrency,omitempty"`

	// Ops counts successful operations, Errors failed ones; Bytes is the
	// payload moved by the successful ones.
	Ops    int64 `json:"ops"`
	Bytes  int64 `json:"bytes"`
	Errors int64 `json:"errors"`

	// Elapsed is the wall time of the measured phase, from the first
	// request until the last in-flight one finished.
	Elapsed   time.Duration `json:"elapsed_ns"`
	MBps      float64       `json:"mib_per_sec"` // MiB/s (2^20 bytes)
	OpsPerSec float64       `json:"ops_per_sec"`

	// Latency percentiles (nearest rank) over every successful operation.
	P50 time.Duration `json:"p50_ns"`
	P90 time.Duration `json:"p90_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`

	// FirstError is the text of the first failure seen, if any.
	FirstError string `json:"first_error,omitempty"`
}

// summarize builds a Result from sorted latency samples.
func summarize(r Result, sorted []time.Duration) Result {
	r.Ops = int64(len(sorted))
	if secs := r.Elapsed.Seconds(); secs > 0 {
		r.OpsPerSec = float64(r.Ops) / secs
		r.MBps = float64(r.Bytes) / (1 << 20) / secs
	}
	r.P50 = percentile(sorted, 0.50)
	r.P90 = percentile(sorted, 0.90)
	r.P99 = percentile(sorted, 0.99)
	r.Max = percentile(sorted, 1)
	return r
}

// percentile returns the nearest-rank q-quantile of sorted (0 if empty).
func percentile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// Smallest rank k (1-based) with k >= q*n; the epsilon absorbs float
	// noise such as 0.9*10 = 9.000000000000002.
	k := int(math.Ceil(q*float64(n) - 1e-9))
	k = min(max(k, 1), n)
	return sorted[k-1]
}

// mergeSorted concatenates the per-worker sample slices and sorts them.
func mergeSorted(parts [][]time.Duration) []time.Duration {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	all := make([]time.Duration, 0, n)
	for _, p := range parts {
		all = append(all, p...)
	}
	slices.Sort(all)
	return all
}

// String renders r as one line, e.g.
//
//	put  size=4MiB conc=16 ops=1200 ops/s=240.0 MiB/s=960.0 p50=61.2ms p90=80.1ms p99=97ms max=120ms errors=0 checksums=off multipart=16MiBx4 sse-c=off
func (r Result) String() string {
	s := fmt.Sprintf("%-4s size=%s conc=%d ops=%d ops/s=%.1f MiB/s=%.1f p50=%s p90=%s p99=%s max=%s errors=%d checksums=%s multipart=%s sse-c=%s",
		r.Op, formatSize(r.ObjectSize), r.Concurrency, r.Ops, r.OpsPerSec, r.MBps,
		formatLatency(r.P50), formatLatency(r.P90), formatLatency(r.P99), formatLatency(r.Max),
		r.Errors, onOff(r.Checksums), r.multipartMode(), onOff(r.SSEC))
	if r.FirstError != "" {
		s += fmt.Sprintf(" first_error=%q", r.FirstError)
	}
	return s
}

// Report writes results to w as an aligned table, followed by the first
// error of every result that had one. Write errors are ignored. The
// MULTIPART and SSE-C columns appear only when some result used that mode,
// so plain runs keep their original layout.
func Report(w io.Writer, results []Result) {
	var multipart, ssec bool
	for _, r := range results {
		multipart = multipart || r.Multipart
		ssec = ssec || r.SSEC
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	header := "OP\tSIZE\tCONC\tOPS\tERRORS\tOPS/S\tMiB/s\tP50\tP90\tP99\tMAX\tCHECKSUMS\t"
	if multipart {
		header += "MULTIPART\t"
	}
	if ssec {
		header += "SSE-C\t"
	}
	fmt.Fprintln(tw, header)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t%s\t",
			r.Op, formatSize(r.ObjectSize), r.Concurrency, r.Ops, r.Errors, r.OpsPerSec, r.MBps,
			formatLatency(r.P50), formatLatency(r.P90), formatLatency(r.P99), formatLatency(r.Max),
			onOff(r.Checksums))
		if multipart {
			fmt.Fprintf(tw, "%s\t", r.multipartMode())
		}
		if ssec {
			fmt.Fprintf(tw, "%s\t", onOff(r.SSEC))
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	for _, r := range results {
		if r.FirstError != "" {
			fmt.Fprintf(w, "%s: first error: %s\n", r.Op, r.FirstError)
		}
	}
}

// ReportJSON writes results to w as an indented JSON array of Result.
func ReportJSON(w io.Writer, results []Result) error {
	if results == nil {
		results = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(results); err != nil {
		return fmt.Errorf("bench: encoding results: %w", err)
	}
	return nil
}

// formatSize renders a byte count with a binary unit when it divides evenly
// enough to stay readable ("4MiB", "1.5KiB", "100B").
func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / unit
	i := 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d%s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f%s", v, units[i])
}

// formatLatency rounds d to a precision that keeps three or four
// significant digits.
func formatLatency(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		d = d.Round(time.Millisecond)
	case d >= 10*time.Millisecond:
		d = d.Round(10 * time.Microsecond)
	case d >= 10*time.Microsecond:
		d = d.Round(time.Microsecond)
	}
	return d.String()
}

// multipartMode renders the multipart setting as "off" or part size x
// parts in flight, e.g. "16MiBx4".
func (r Result) multipartMode() string {
	if !r.Multipart {
		return "off"
	}
	return fmt.Sprintf("%sx%d", formatSize(r.PartSize), r.PartConcurrency)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
