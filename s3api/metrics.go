package s3api

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts the gateway's S3 requests by operation. Labels are
// low-cardinality on purpose: op is the label of the request's operation
// in opTable (never a bucket or key), code the HTTP status.
type Metrics struct {
	requests *prometheus.CounterVec   // op, code
	duration *prometheus.HistogramVec // op
	received *prometheus.CounterVec   // op
	sent     *prometheus.CounterVec   // op
	inFlight prometheus.Gauge
	// shed counts requests refused with 503 SlowDown, by the limit that
	// was reached; unreadable counts reads that could not get enough
	// shards, by cause (see s3api/model/unreadable.go).
	shed       *prometheus.CounterVec // reason: requests, body_bytes
	unreadable *prometheus.CounterVec // cause: lost, unreachable
}

// durationBuckets span a small inline GET (a millisecond) to a multi-GiB
// transfer (minutes).
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// NewMetrics creates the gateway's request metrics and registers them
// with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_s3_requests_total",
			Help: "S3 requests served, by operation and HTTP status (code=\"aborted\": the connection was cut mid-response).",
		}, []string{"op", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cairn_s3_request_duration_seconds",
			Help:    "Time from the start of an S3 request to the end of its response body, by operation.",
			Buckets: durationBuckets,
		}, []string{"op"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_s3_received_bytes_total",
			Help: "Request body bytes read, as received (aws-chunked framing included), by operation.",
		}, []string{"op"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_s3_sent_bytes_total",
			Help: "Response body bytes written, by operation.",
		}, []string{"op"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cairn_s3_requests_in_flight",
			Help: "S3 requests being served.",
		}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_s3_shed_requests_total",
			Help: "Requests refused with 503 SlowDown before their body was read, by the limit reached (requests: --max-requests, body_bytes: --max-body-bytes).",
		}, []string{"reason"}),
		unreadable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_s3_unreadable_objects_total",
			Help: "Object reads (GET, copy source) that could not get enough shards: cause=lost when more shards are missing or corrupt than parity covers, unreachable when data nodes did not answer.",
		}, []string{"cause"}),
	}
	for _, reason := range []string{"requests", "body_bytes"} {
		m.shed.WithLabelValues(reason)
	}
	for _, cause := range []string{"lost", "unreachable"} {
		m.unreadable.WithLabelValues(cause)
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.received, m.sent, m.inFlight, m.shed, m.unreadable} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// countShed counts one request refused at admission. m may be nil.
func (m *Metrics) countShed(reason string) {
	if m != nil {
		m.shed.WithLabelValues(reason).Inc()
	}
}

// countUnreadable counts one read that could not get enough shards. m may
// be nil.
func (m *Metrics) countUnreadable(cause string) {
	if m != nil {
		m.unreadable.WithLabelValues(cause).Inc()
	}
}

// Wrap returns s as an http.Handler that records every request in m.
func (m *Metrics) Wrap(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		o := s.parse(r)
		op := s.ops[o.op].label
		m.inFlight.Inc()
		if r.Body != nil && r.Body != http.NoBody {
			r = withBody(r, &meteredBody{ReadCloser: r.Body, n: m.received.WithLabelValues(op)})
		}
		cw := &meteredWriter{ResponseWriter: w, n: m.sent.WithLabelValues(op)}
		completed := false
		// Deferred so that a handler cutting the connection (it panics with
		// http.ErrAbortHandler) is counted too; the panic goes on.
		defer func() {
			m.inFlight.Dec()
			code := "aborted"
			if completed {
				code = strconv.Itoa(cw.status())
			}
			m.requests.WithLabelValues(op, code).Inc()
			m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
		}()
		s.serve(cw, r, o)
		completed = true
	})
}

// meteredBody adds the bytes read from a request body to n as they
// arrive, so long uploads show up while they run.
type meteredBody struct {
	io.ReadCloser
	n prometheus.Counter
}

func (b *meteredBody) Read(p []byte) (int, error) {
	k, err := b.ReadCloser.Read(p)
	if k > 0 {
		b.n.Add(float64(k))
	}
	return k, err
}

// meteredWriter records the status and adds the body bytes written to n.
type meteredWriter struct {
	http.ResponseWriter
	n    prometheus.Counter
	code int
}

func (w *meteredWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *meteredWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	k, err := w.ResponseWriter.Write(p)
	if k > 0 {
		w.n.Add(float64(k))
	}
	return k, err
}

// Flush passes flushes through; Unwrap lets http.ResponseController reach
// the connection's own writer.
func (w *meteredWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *meteredWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is the response's status: 200 when the handler wrote nothing.
func (w *meteredWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
