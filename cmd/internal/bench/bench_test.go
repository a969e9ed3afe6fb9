package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testBucket = "bench-bucket"

func testConfig(endpoint string) Config {
	return Config{
		Endpoint:    endpoint,
		AccessKey:   "AKIDTEST",
		SecretKey:   "secret",
		Bucket:      testBucket,
		Prefix:      "t/",
		Op:          OpPut,
		ObjectSize:  10 << 10,
		Concurrency: 4,
		Count:       50,
	}
}

func mustRun(t *testing.T, cfg Config) []Result {
	t.Helper()
	res, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// checkResult asserts the invariants every Result must satisfy.
func checkResult(t *testing.T, r Result, op string, cfg Config) {
	t.Helper()
	if r.Op != op {
		t.Errorf("Op = %q, want %q", r.Op, op)
	}
	if r.ObjectSize != cfg.ObjectSize || r.Concurrency != cfg.Concurrency || r.Checksums != cfg.Checksums {
		t.Errorf("result echoes size=%d conc=%d checksums=%v, config has %d %d %v",
			r.ObjectSize, r.Concurrency, r.Checksums, cfg.ObjectSize, cfg.Concurrency, cfg.Checksums)
	}
	if r.Bytes != r.Ops*cfg.ObjectSize {
		t.Errorf("%s: Bytes = %d, want Ops*size = %d", op, r.Bytes, r.Ops*cfg.ObjectSize)
	}
	if r.Elapsed <= 0 {
		t.Errorf("%s: Elapsed = %v", op, r.Elapsed)
	}
	if r.Ops > 0 {
		if !(0 < r.P50 && r.P50 <= r.P90 && r.P90 <= r.P99 && r.P99 <= r.Max) {
			t.Errorf("%s: percentiles out of order: p50=%v p90=%v p99=%v max=%v", op, r.P50, r.P90, r.P99, r.Max)
		}
		if r.Max > r.Elapsed {
			t.Errorf("%s: max latency %v exceeds elapsed %v", op, r.Max, r.Elapsed)
		}
		if r.OpsPerSec <= 0 || (cfg.ObjectSize > 0 && r.MBps <= 0) {
			t.Errorf("%s: rates ops/s=%v MiB/s=%v", op, r.OpsPerSec, r.MBps)
		}
		wantMBps := float64(r.Bytes) / (1 << 20) / r.Elapsed.Seconds()
		if diff := r.MBps - wantMBps; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("%s: MBps = %v, want %v (MiB/s)", op, r.MBps, wantMBps)
		}
	}
}

func TestRunPut(t *testing.T) {
	fake, srv := newFakeS3(t)
	cfg := testConfig(srv.URL)
	res := mustRun(t, cfg)
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1", len(res))
	}
	r := res[0]
	checkResult(t, r, OpPut, cfg)
	if r.Ops != 50 || r.Errors != 0 || r.Bytes != 50*10<<10 {
		t.Errorf("ops=%d errors=%d bytes=%d, want 50, 0, %d", r.Ops, r.Errors, r.Bytes, 50*10<<10)
	}
	if n := fake.objectCount(testBucket, "t/"); n != 50 {
		t.Errorf("server holds %d objects, want 50 distinct keys", n)
	}
	if got := fake.callCount("PUT bucket"); got != 1 {
		t.Errorf("bucket created %d times, want 1", got)
	}
	if bad, _, _ := fake.counters(); bad != 0 {
		t.Errorf("%d PUTs had a payload hash that did not match the body sent", bad)
	}
	// A second run finds the bucket and does not create it again.
	mustRun(t, cfg)
	if got := fake.callCount("PUT bucket"); got != 1 {
		t.Errorf("bucket created %d times after second run, want 1", got)
	}
}

func TestRunPutKeySpaceCycles(t *testing.T) {
	fake, srv := newFakeS3(t)
	cfg := testConfig(srv.URL)
	cfg.Keys = 7
	r := mustRun(t, cfg)[0]
	if r.Ops != 50 {
		t.Errorf("ops = %d, want 50", r.Ops)
	}
	if n := fake.objectCount(testBucket, "t/"); n != 7 {
		t.Errorf("server holds %d objects, want the 7-key space", n)
	}
}

func TestRunGetVerify(t *testing.T) {
	fake, srv := newFakeS3(t)
	cfg := testConfig(srv.URL)
	cfg.Op = OpGet
	cfg.Keys = 8
	cfg.Count = 100
	cfg.ObjectSize = 300<<10 + 7 // not a multiple of any buffer size
	cfg.Verify = true
	res := mustRun(t, cfg)
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1", len(res))
	}
	r := res[0]
	checkResult(t, r, OpGet, cfg)
	if r.Ops != 100 || r.Errors != 0 {
		t.Errorf("ops=%d errors=%d (%s), want 100, 0", r.Ops, r.Errors, r.FirstError)
	}
	if got := fake.callCount("PUT object"); got != 8 {
		t.Errorf("population sent %d PUTs, want 8", got)
	}
	// What was stored is exactly the deterministic body of each key, and
	// different keys hold different bytes.
	pat := newPattern(cfg.ObjectSize)
	fake.mu.Lock()
	defer fake.mu.Unlock()
	var prev []byte
	for i := range int64(8) {
		got := fake.objects[testBucket+"/"+cfg.key(i)]
		want, _ := io.ReadAll(pat.body(i, cfg.ObjectSize))
		if !bytes.Equal(got, want) {
			t.Errorf("object %d: stored %d bytes that differ from its pattern body", i, len(got))
		}
		if prev != nil && bytes.Equal(prev, got) {
			t.Errorf("objects %d and %d have identical content", i-1, i)
		}
		prev = got
	}
}

// A put run with Keys and Count equal writes each key once; a Populated
// get run over the same key space then reads it without writing anything,
// and what it reads is what the earlier run wrote.
func TestRunGetPopulatedByEarlierRun(t *testing.T) {
	fake, srv := newFakeS3(t)
	cfg := testConfig(srv.URL)
	cfg.Keys = 5
	cfg.Count = 5
	cfg.ObjectSize = 70<<10 + 3
	mustRun(t, cfg)
	if n := fake.objectCount(testBucket, "t/"); n != 5 {
		t.Fatalf("the put run left %d objects, want 5", n)
	}
	cfg.Op = OpGet
	cfg.Populated = true
	cfg.Verify = true
	cfg.Count = 20
	r := mustRun(t, cfg)[0]
	if r.Ops != 20 || r.Errors != 0 {
		t.Errorf("ops=%d errors=%d (%s), want 20, 0", r.Ops, r.Errors, r.FirstError)
	}
	if got := fake.callCount("PUT object"); got != 5 {
		t.Errorf("%d PUTs in all, want only the put run's 5", got)
	}
}

func TestRunMixed(t *testing.T) {
	_, srv := newFakeS3(t)
	cfg := testConfig(srv.URL)
	cfg.Op = OpMixed
	cfg.GetRatio = 0.7
	cfg.Count = 400
	cfg.Keys = 16
	cfg.Verify = true
	res := mustRun(t, cfg)
	if len(res) != 2 || res[0].Op != OpGet || res[1].Op != OpPut {
		t.Fatalf("results = %v, want [get put]", res)
	}
	checkResult(t, res[0], OpGet, cfg)
	checkResult(t, res[1], OpPut, cfg)
	get, put := res[0], res[1]
	if get.Errors+put.Errors != 0 {
		t.Fatalf("errors: %s %s", get.FirstError, put.FirstError)
	}
	if get.Ops+put.Ops != 400 {
		t.Errorf("get %d + put %d != 400", get.Ops, put.Ops)
	}
	if get.Ops < 220 || get.Ops > 340 {
		t.Errorf("get share %d/400 far from ratio 0.7", get.Ops)
	}
	if get.Elapsed != put.Elapsed {
		t.Errorf("mixed kinds report different elapsed: %v vs %v", get.Elapsed, put.Elapsed)
	}
}

func TestRunCountsErrors(t *testing.T) {
	fake, srv := newFakeS3(t)
	fake.failGetEvery = 5
	cfg := testConfig(srv.URL)
	cfg.Op = OpGet
	cfg.Keys = 4
	cfg.Count = 100
	r := mustRun(t, cfg)[0]
	checkResult(t, r, OpGet, cfg)
	if r.Ops != 80 || r.Errors != 20 {
		t.Errorf("ops=%d errors=%d, want 80 ok and 20 failed (no retries)", r.Ops, r.Errors)
	}
	if !strings.Contains(r.FirstError, "500") || !strings.Contains(r.FirstError, "InternalError") {
		t.Errorf("FirstError = %q, want the 500 InternalError", r.FirstError)
	}
	if got := fake.callCount("GET object"); got != 100 {
		t.Errorf("server saw %d GETs, want exactly 100 (retries must be off)", got)
	}
	if !strings.Contains(r.String(), "errors=20") {
		t.Errorf("String() = %q lacks the error count", r.String())
	}
}

func TestRunDetectsBadBodies(t *testing.T) {
	for _, tc := range []struct {
		name             string
		corrupt, trunc   bool
		verify           bool
		wantErrs         bool
		wantErrSubstring string
	}{
		{name: "corrupt/verify", corrupt: true, verify: true, wantErrs: true, wantErrSubstring: errContentMismatch.Error()},
		{name: "corrupt/noverify", corrupt: true},
		{name: "truncated", trunc: true, wantErrs: true, wantErrSubstring: errSizeMismatch.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv := newFakeS3(t)
			fake.corrupt, fake.truncate = tc.corrupt, tc.trunc
			cfg := testConfig(srv.URL)
			cfg.Op = OpGet
			cfg.Keys = 2
			cfg.Count = 10
			cfg.Verify = tc.verify
			r := mustRun(t, cfg)[0]
			if tc.wantErrs {
				if r.Errors != 10 || r.Ops != 0 || r.Bytes != 0 {
					t.Errorf("ops=%d errors=%d bytes=%d, want every GET failed", r.Ops, r.Errors, r.Bytes)
				}
				if !strings.Contains(r.FirstError, tc.wantErrSubstring) {
					t.Errorf("FirstError = %q, want %q", r.FirstError, tc.wantErrSubstring)
				}
			} else if r.Errors != 0 || r.Ops != 10 {
				t.Errorf("ops=%d errors=%d, want 10 ok", r.Ops, r.Errors)
			}
		})
	}
}

func TestRunCountWinsOverDuration(t *testing.T) {
	_, srv := newFakeS3(t)
	cfg := testConfig(srv.URL)
	cfg.Count = 37
	cfg.Duration = time.Hour
	start := time.Now()
	r := mustRun(t, cfg)[0]
	if r.Ops != 37 {
		t.Errorf("ops = %d, want 37", r.Ops)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("run took %v: the duration was not ignored", time.Since(start))
	}
}

func TestRunDuration(t *testing.T) {
	fake, srv := newFakeS3(t)
	fake.delay = 2 * time.Millisecond
	cfg := testConfig(srv.URL)
	cfg.Count = 0
	cfg.Duration = 300 * time.Millisecond
	r := mustRun(t, cfg)[0]
	checkResult(t, r, OpPut, cfg)
	if r.Ops == 0 || r.Errors != 0 {
		t.Errorf("ops=%d errors=%d (%s)", r.Ops, r.Errors, r.FirstError)
	}
	if r.Elapsed < cfg.Duration || r.Elapsed > cfg.Duration+5*time.Second {
		t.Errorf("elapsed %v for a %v run", r.Elapsed, cfg.Duration)
	}
}

func TestRunCancel(t *testing.T) {
	fake, srv := newFakeS3(t)
	fake.delay = 20 * time.Millisecond
	cfg := testConfig(srv.URL)
	cfg.Count = 0
	cfg.Duration = time.Hour
	cfg.Cleanup = true
	var out bytes.Buffer
	cfg.Out = &out
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	res, err := Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run took %v to notice cancellation", took)
	}
	if len(res) != 1 {
		t.Fatalf("got %d partial results, want 1", len(res))
	}
	if res[0].Ops == 0 || res[0].Errors != 0 {
		t.Errorf("partial result ops=%d errors=%d (%s): interrupted requests must not count as errors",
			res[0].Ops, res[0].Errors, res[0].FirstError)
	}
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("output does not mention the skipped cleanup:\n%s", out.String())
	}
}

func TestRunCancelDuringPopulation(t *testing.T) {
	fake, srv := newFakeS3(t)
	fake.delay = 50 * time.Millisecond
	cfg := testConfig(srv.URL)
	cfg.Op = OpGet
	cfg.Keys = 1000
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, cfg)
	if !errors.Is(err, context.DeadlineExceeded) || res != nil {
		t.Fatalf("Run = %v, %v; want no results and a deadline error", res, err)
	}
}

func TestRunCleanup(t *testing.T) {
	for _, op := range []string{OpPut, OpGet, OpMixed} {
		t.Run(op, func(t *testing.T) {
			fake, srv := newFakeS3(t)
			cfg := testConfig(srv.URL)
			cfg.Op = op
			cfg.GetRatio = 0.5
			cfg.Keys = 0
			cfg.Cleanup = true
			// Someone else's object in the same bucket must survive.
			fake.mu.Lock()
			fake.buckets[testBucket] = true
			fake.sizes[testBucket+"/other/keep"] = 1
			fake.mu.Unlock()
			mustRun(t, cfg)
			if n := fake.objectCount(testBucket, "t/"); n != 0 {
				t.Errorf("%d objects left under the prefix", n)
			}
			if n := fake.objectCount(testBucket, "other/"); n != 1 {
				t.Errorf("cleanup touched objects outside the prefix")
			}
		})
	}
}

func TestRunChecksumsAndSigning(t *testing.T) {
	for _, tc := range []struct {
		name                string
		checksums, unsigned bool
	}{
		{"defaults-off", false, false},
		{"checksums", true, false},
		{"unsigned", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv := newFakeS3(t)
			cfg := testConfig(srv.URL)
			cfg.Count = 10
			cfg.Checksums = tc.checksums
			cfg.UnsignedPayload = tc.unsigned
			r := mustRun(t, cfg)[0]
			if r.Ops != 10 {
				t.Fatalf("ops=%d errors=%d (%s)", r.Ops, r.Errors, r.FirstError)
			}
			wantChecksum, wantUnsigned := 0, 0
			if tc.checksums {
				wantChecksum = 10
			}
			if tc.unsigned {
				wantUnsigned = 10
			}
			bad, unsigned, checksum := fake.counters()
			if checksum != wantChecksum || unsigned != wantUnsigned || bad != 0 {
				t.Errorf("PUTs with checksum=%d unsigned=%d badHash=%d, want %d %d 0",
					checksum, unsigned, bad, wantChecksum, wantUnsigned)
			}
			want := "checksums=off"
			if tc.checksums {
				want = "checksums=on"
			}
			if !strings.Contains(r.String(), want) {
				t.Errorf("String() = %q, want it to say %s", r.String(), want)
			}
		})
	}
}

func TestRunZeroSizeObjects(t *testing.T) {
	_, srv := newFakeS3(t)
	cfg := testConfig(srv.URL)
	cfg.Op = OpMixed
	cfg.GetRatio = 0.5
	cfg.ObjectSize = 0
	cfg.Verify = true
	res := mustRun(t, cfg)
	for _, r := range res {
		if r.Errors != 0 || r.Bytes != 0 {
			t.Errorf("%s: errors=%d (%s) bytes=%d", r.Op, r.Errors, r.FirstError, r.Bytes)
		}
	}
	if res[0].Ops+res[1].Ops != 50 {
		t.Errorf("ops %d+%d, want 50", res[0].Ops, res[1].Ops)
	}
}

func TestRunBucketCheckFails(t *testing.T) {
	_, srv := newFakeS3(t)
	cfg := testConfig(srv.URL)
	cfg.AccessKey, cfg.SecretKey = "", "" // anonymous: the fake answers 403
	_, err := Run(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "checking bucket") {
		t.Fatalf("Run error = %v, want a bucket check failure", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"no endpoint":    func(c *Config) { c.Endpoint = "" },
		"no bucket":      func(c *Config) { c.Bucket = "" },
		"bad op":         func(c *Config) { c.Op = "delete" },
		"ratio":          func(c *Config) { c.GetRatio = 1.5 },
		"size":           func(c *Config) { c.ObjectSize = -1 },
		"concurrency":    func(c *Config) { c.Concurrency = -2 },
		"no limit":       func(c *Config) { c.Count, c.Duration = 0, 0 },
		"negative count": func(c *Config) { c.Count = -1 },
		"negative keys":  func(c *Config) { c.Keys = -1 },
		"small parts":    func(c *Config) { c.Multipart, c.PartSize = true, MinPartSize-1 },
		"negative parts": func(c *Config) { c.PartConcurrency = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig("http://127.0.0.1:1") // nothing listens: must fail before dialing
			mutate(&cfg)
			if _, err := Run(t.Context(), cfg); err == nil || !strings.HasPrefix(err.Error(), "bench: ") {
				t.Errorf("Run error = %v, want a validation error", err)
			}
		})
	}

	cfg, err := Config{Endpoint: "localhost:9000/", Bucket: "b", Op: OpGet, Concurrency: 3, Count: 1}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Endpoint != "http://localhost:9000" || cfg.Region != DefaultRegion || cfg.Prefix != DefaultPrefix ||
		cfg.Keys != 3 || cfg.Out == nil {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	cfg, _ = Config{Endpoint: "e", Bucket: "b", Count: 5, Duration: time.Second}.normalize()
	if cfg.Op != OpPut || cfg.Concurrency != DefaultConcurrency || cfg.Duration != 0 || cfg.Keys != 0 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

// allocDuring returns the bytes allocated process-wide while f runs.
func allocDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestRunLargeObjectsDoNotAllocateObjectSize(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 512 MiB through loopback")
	}
	const size = 64 << 20
	const ops = 4
	for _, tc := range []struct {
		name      string
		op        string
		checksums bool
		multipart bool
	}{
		{"put", OpPut, false, false},
		{"put-checksums", OpPut, true, false},
		{"get-verify", OpGet, false, false},
		// 16 MiB parts, 4 in flight: the manager must not buffer them.
		{"put-multipart", OpPut, false, true},
		{"put-multipart-checksums", OpPut, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv := newFakeS3(t)
			fake.discard = true
			pat := newPattern(size)
			fake.synth = func(key string, size int64) io.Reader {
				i, err := strconv.ParseInt(strings.TrimPrefix(key, "t/"), 10, 64)
				if err != nil {
					t.Errorf("fake s3: unexpected key %q", key)
				}
				return pat.body(i, size)
			}
			cfg := testConfig(srv.URL)
			cfg.Op = tc.op
			cfg.ObjectSize = size
			cfg.Concurrency = 2
			cfg.Count = ops
			cfg.Keys = 2
			cfg.Checksums = tc.checksums
			cfg.Multipart = tc.multipart
			cfg.SSEC = tc.multipart
			cfg.Verify = tc.op == OpGet
			var res []Result
			alloc := allocDuring(func() { res = mustRun(t, cfg) })
			r := res[0]
			if r.Ops != ops || r.Bytes != ops*size {
				t.Fatalf("ops=%d bytes=%d errors=%d (%s)", r.Ops, r.Bytes, r.Errors, r.FirstError)
			}
			// The population PUTs and the fake server are included, so the
			// whole process moved (ops+keys)*64 MiB; allow a fraction of a
			// single object.
			if alloc > size/4 {
				t.Errorf("allocated %d MiB while moving %d MiB", alloc>>20, (ops+cfg.Keys)*size>>20)
			}
			if tc.multipart && fake.ssecCount("part") != ops*size/DefaultPartSize {
				t.Errorf("%d SSE-C parts uploaded, want %d", fake.ssecCount("part"), ops*size/DefaultPartSize)
			}
			t.Logf("allocated %.1f MiB", float64(alloc)/(1<<20))
		})
	}
}
