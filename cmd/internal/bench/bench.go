package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// progressInterval is how often a progress line goes to Config.Out during
// the measured phase.
const progressInterval = 5 * time.Second

// durationSampleCap is the initial per-worker latency slice capacity for
// duration-bound runs, whose operation count is not known up front.
const durationSampleCap = 4096

var (
	errSizeMismatch    = errors.New("object size mismatch")
	errContentMismatch = errors.New("object content mismatch")
)

// Run executes the benchmark described by cfg against cfg.Endpoint and
// returns one Result per operation kind measured: [put], [get], or for
// mixed [get, put].
//
// The bucket is created if missing; for get and mixed the key space is
// written first (not timed, any failure aborts the run). Failed operations
// are counted in Result.Errors and excluded from latencies and throughput.
// If ctx is cancelled during the measured phase Run returns the partial
// results together with an error wrapping ctx.Err(). Cleanup, when
// requested, also runs under ctx and is skipped once ctx is done.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	client, release := newClient(&cfg)
	defer release()

	r := &runner{cfg: cfg, client: client, pat: newPattern(cfg.ObjectSize)}
	if cfg.UnsignedPayload {
		r.putOpts = []func(*s3.Options){unsignedPayload}
	}
	if cfg.Multipart {
		r.uploader = newUploader(client, &r.cfg, r.putOpts)
	}
	if cfg.Chunked {
		hc := cfg.HTTPClient
		if hc == nil {
			tr := newTransport(cfg.Concurrency, cfg.Dial)
			defer tr.CloseIdleConnections()
			hc = &http.Client{Transport: tr}
		}
		r.chunked = newChunkedPutter(&r.cfg, hc)
	}
	if cfg.SSEC {
		if r.sse, err = newSSECustomerKey(); err != nil {
			return nil, err
		}
	}
	results, runErr := r.run(ctx)
	var cleanupErr error
	if cfg.Cleanup {
		cleanupErr = r.cleanup(ctx)
	}
	return results, errors.Join(runErr, cleanupErr)
}

// runner holds the state of one Run.
type runner struct {
	cfg     Config
	client  *s3.Client
	pat     *pattern
	putOpts []func(*s3.Options)
	// uploader sends PUTs when Config.Multipart is set.
	uploader *manager.Uploader
	// sse is the run's SSE-C key, nil unless Config.SSEC is set.
	sse *sseCustomerKey
	// chunked sends PUTs when Config.Chunked is set.
	chunked *chunkedPutter

	issued atomic.Int64 // operations claimed, for Count-bound runs
	putSeq atomic.Int64 // PUT sequence number in put mode
	done   atomic.Int64 // successful operations, for progress lines
	failed atomic.Int64 // failed operations, for progress lines

	// touched is the size of the key index range [0, touched) this run
	// may have written; only the Run goroutine uses it.
	touched int64
}

// run performs the bucket check, population and measured phase.
func (r *runner) run(ctx context.Context) ([]Result, error) {
	cfg := &r.cfg
	if err := ensureBucket(ctx, r.client, cfg); err != nil {
		return nil, err
	}
	if cfg.Op != OpPut {
		r.touched = int64(cfg.Keys)
	}
	if cfg.Op != OpPut && !cfg.Populated {
		fmt.Fprintf(cfg.Out, "bench: populating %d objects of %s under s3://%s/%s\n",
			cfg.Keys, formatSize(cfg.ObjectSize), cfg.Bucket, cfg.Prefix)
		_, err := forEachKey(ctx, int64(cfg.Keys), cfg.Concurrency, true, func(ctx context.Context, i int64) error {
			_, err := r.put(ctx, i)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("bench: populating key space: %w", err)
		}
	}

	limit := cfg.Duration.String()
	if cfg.Count > 0 {
		limit = fmt.Sprintf("%d ops", cfg.Count)
	}
	fmt.Fprintf(cfg.Out, "bench: %s of %s objects, concurrency %d, for %s against %s (%s)\n",
		cfg.Op, formatSize(cfg.ObjectSize), cfg.Concurrency, limit, cfg.Endpoint, cfg.modes())
	results := r.measure(ctx)

	if cfg.Op == OpPut {
		written := r.putSeq.Load()
		if cfg.Keys > 0 {
			written = min(written, int64(cfg.Keys))
		}
		r.touched = written
	}
	if err := ctx.Err(); err != nil {
		return results, fmt.Errorf("bench: run interrupted: %w", err)
	}
	return results, nil
}

// kindStats accumulates one worker's measurements for one operation kind.
type kindStats struct {
	samples    []time.Duration
	bytes      int64
	errors     int64
	firstErr   error
	firstErrAt time.Time
}

func (s *kindStats) fail(err error) {
	s.errors++
	if s.firstErr == nil {
		s.firstErr, s.firstErrAt = err, time.Now()
	}
}

// worker is the private state of one load-generating goroutine.
type worker struct {
	rng      *rand.Rand
	buf      []byte // GET read buffer
	get, put kindStats
}

// measure runs the timed phase and summarizes it.
func (r *runner) measure(ctx context.Context) []Result {
	cfg := &r.cfg
	workers := make([]*worker, cfg.Concurrency)
	for id := range workers {
		w := &worker{rng: rand.New(rand.NewPCG(uint64(id), 0xca12b))}
		switch cfg.Op {
		case OpPut:
			w.put.samples = make([]time.Duration, 0, r.sampleCap(1))
		case OpGet:
			w.get.samples = make([]time.Duration, 0, r.sampleCap(1))
		case OpMixed:
			w.get.samples = make([]time.Duration, 0, r.sampleCap(cfg.GetRatio))
			w.put.samples = make([]time.Duration, 0, r.sampleCap(1-cfg.GetRatio))
		}
		if cfg.Op != OpPut {
			w.buf = make([]byte, ioBufferSize)
		}
		workers[id] = w
	}

	start := time.Now()
	deadline := start.Add(cfg.Duration)
	stopProgress := r.startProgress(start)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { r.work(ctx, w, deadline) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()

	var kinds []string
	switch cfg.Op {
	case OpMixed:
		kinds = []string{OpGet, OpPut}
	default:
		kinds = []string{cfg.Op}
	}
	results := make([]Result, 0, len(kinds))
	for _, kind := range kinds {
		base := Result{
			Op:          kind,
			ObjectSize:  cfg.ObjectSize,
			Concurrency: cfg.Concurrency,
			Checksums:   cfg.Checksums,
			SSEC:        cfg.SSEC,
			Elapsed:     elapsed,
		}
		parts := make([][]time.Duration, 0, len(workers))
		var first *kindStats
		for _, w := range workers {
			st := &w.put
			if kind == OpGet {
				st = &w.get
			}
			parts = append(parts, st.samples)
			base.Bytes += st.bytes
			base.Errors += st.errors
			if st.firstErr != nil && (first == nil || st.firstErrAt.Before(first.firstErrAt)) {
				first = st
			}
		}
		if first != nil {
			base.FirstError = first.firstErr.Error()
		}
		if kind == OpPut && cfg.Multipart {
			base.Multipart = true
			base.PartSize, base.PartConcurrency = cfg.PartSize, cfg.PartConcurrency
		}
		results = append(results, summarize(base, mergeSorted(parts)))
	}
	return results
}

// sampleCap estimates how many latency samples a worker will record for an
// operation kind that makes up the given fraction of the traffic.
func (r *runner) sampleCap(fraction float64) int {
	if r.cfg.Count == 0 {
		return durationSampleCap
	}
	per := (r.cfg.Count + r.cfg.Concurrency - 1) / r.cfg.Concurrency
	return min(per, int(float64(per)*fraction*1.05)+64)
}

// work issues operations until the run's count or deadline is reached or
// ctx is done. Operations already in flight when the deadline passes are
// completed and counted; operations cut short by ctx are not counted.
func (r *runner) work(ctx context.Context, w *worker, deadline time.Time) {
	cfg := &r.cfg
	for ctx.Err() == nil {
		if cfg.Count > 0 {
			if r.issued.Add(1) > int64(cfg.Count) {
				return
			}
		} else if !time.Now().Before(deadline) {
			return
		}

		kind := cfg.Op
		if kind == OpMixed {
			kind = OpPut
			if w.rng.Float64() < cfg.GetRatio {
				kind = OpGet
			}
		}
		var (
			st  *kindStats
			i   int64
			n   int64
			err error
		)
		t0 := time.Now()
		switch {
		case kind == OpGet:
			st, i = &w.get, w.rng.Int64N(int64(cfg.Keys))
			n, err = r.get(ctx, i, w.buf)
		case cfg.Op == OpMixed:
			st, i = &w.put, w.rng.Int64N(int64(cfg.Keys))
			n, err = r.put(ctx, i)
		default:
			st, i = &w.put, r.putSeq.Add(1)-1
			if cfg.Keys > 0 {
				i %= int64(cfg.Keys)
			}
			n, err = r.put(ctx, i)
		}
		lat := time.Since(t0)
		if err != nil {
			if ctx.Err() != nil {
				return // interrupted, not a server failure
			}
			st.fail(err)
			r.failed.Add(1)
			continue
		}
		st.samples = append(st.samples, lat)
		st.bytes += n
		r.done.Add(1)
	}
}

// put writes the object of key index i and returns the bytes sent.
func (r *runner) put(ctx context.Context, i int64) (int64, error) {
	key := r.cfg.key(i)
	in := &s3.PutObjectInput{
		Bucket:        aws.String(r.cfg.Bucket),
		Key:           aws.String(key),
		Body:          r.pat.body(i, r.cfg.ObjectSize),
		ContentLength: aws.Int64(r.cfg.ObjectSize),
	}
	r.sse.applyPut(in)
	var err error
	if r.chunked != nil {
		err = r.chunked.put(ctx, r.cfg.Bucket, key, in.Body, r.cfg.ObjectSize)
	} else if r.uploader != nil {
		// The body is an io.ReaderAt, so the manager sends section
		// readers over it rather than copying parts into buffers.
		_, err = r.uploader.Upload(ctx, in)
	} else {
		_, err = r.client.PutObject(ctx, in, r.putOpts...)
	}
	if err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	return r.cfg.ObjectSize, nil
}

// get reads the object of key index i through buf, discarding it, and
// returns the bytes received. The length must equal ObjectSize and, with
// Verify, the content must match what put writes for i.
func (r *runner) get(ctx context.Context, i int64, buf []byte) (int64, error) {
	key := r.cfg.key(i)
	in := &s3.GetObjectInput{
		Bucket: aws.String(r.cfg.Bucket),
		Key:    aws.String(key),
	}
	r.sse.applyGet(in)
	out, err := r.client.GetObject(ctx, in)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	var n int64
	mismatch := int64(-1)
	for {
		m, rerr := out.Body.Read(buf)
		if m > 0 {
			if r.cfg.Verify && mismatch < 0 && !r.pat.matches(i, n, buf[:m]) {
				mismatch = n
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, fmt.Errorf("get %s: reading body after %d bytes: %w", key, n, rerr)
		}
	}
	if n != r.cfg.ObjectSize {
		return n, fmt.Errorf("get %s: got %d bytes, want %d: %w", key, n, r.cfg.ObjectSize, errSizeMismatch)
	}
	if mismatch >= 0 {
		return n, fmt.Errorf("get %s: differs from what was put in the chunk read at offset %d: %w", key, mismatch, errContentMismatch)
	}
	return n, nil
}

// cleanup deletes every key the run may have written.
func (r *runner) cleanup(ctx context.Context) error {
	cfg := &r.cfg
	n := r.touched
	if n == 0 {
		return nil
	}
	if ctx.Err() != nil {
		fmt.Fprintf(cfg.Out, "bench: interrupted, leaving up to %d objects under s3://%s/%s\n", n, cfg.Bucket, cfg.Prefix)
		return nil
	}
	fmt.Fprintf(cfg.Out, "bench: deleting %d objects under s3://%s/%s\n", n, cfg.Bucket, cfg.Prefix)
	failed, err := forEachKey(ctx, n, cfg.Concurrency, false, func(ctx context.Context, i int64) error {
		key := cfg.key(i)
		_, err := r.client.DeleteObject(ctx, &s3.DeleteObjectInput{
			Bucket: aws.String(cfg.Bucket),
			Key:    aws.String(key),
		})
		if err != nil && httpStatus(err) != http.StatusNotFound {
			return fmt.Errorf("delete %s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bench: cleanup: %d of %d deletes failed: %w", failed, n, err)
	}
	return nil
}

// startProgress prints a progress line to Config.Out every progressInterval
// until the returned func is called.
func (r *runner) startProgress(start time.Time) (stop func()) {
	if r.cfg.Out == io.Discard {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				fmt.Fprintf(r.cfg.Out, "bench: %s: %d ops, %d errors\n",
					now.Sub(start).Round(time.Second), r.done.Load(), r.failed.Load())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// forEachKey calls fn for every key index in [0, n) from up to conc
// goroutines. It returns the number of failed calls and the first error;
// with stopOnError no new calls start after a failure. If ctx ends before
// every index was handled, the error wraps ctx.Err().
func forEachKey(ctx context.Context, n int64, conc int, stopOnError bool, fn func(context.Context, int64) error) (int64, error) {
	var (
		next, failed atomic.Int64
		stop         atomic.Bool
		mu           sync.Mutex
		first        error
		wg           sync.WaitGroup
	)
	for range min(int64(conc), n) {
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					failed.Add(1)
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					if stopOnError {
						stop.Store(true)
					}
				}
			}
		})
	}
	wg.Wait()
	if first == nil && next.Load() < n {
		if err := ctx.Err(); err != nil {
			return failed.Load(), err
		}
	}
	return failed.Load(), first
}
