package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cairn-store/cairn/cmd/internal/bench"
	"github.com/cairn-store/cairn/proto/netseam"
)

// runBench runs the load generator; with checkOnly it returns once the
// flags are parsed and checked (cairn check-flags).
func runBench(ctx context.Context, args []string, checkOnly bool) error {
	fs := flag.NewFlagSet("cairn bench", flag.ContinueOnError)
	var (
		cfg      bench.Config
		size     = fs.String("size", "1MiB", "object size (B, KiB, MiB, GiB, or KB/MB/GB)")
		asJSON   = fs.Bool("json", false, "print results as JSON")
		progress = fs.Bool("progress", false, "print progress lines while running")
		partSize = fs.String("part-size", "16MiB", "multipart part size (at least 5MiB)")
	)
	fs.StringVar(&cfg.Endpoint, "endpoint", envOr("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"), "S3 endpoint URL (env AWS_ENDPOINT_URL)")
	fs.StringVar(&cfg.Region, "region", envOr("AWS_REGION", "us-east-1"), "region to sign with (env AWS_REGION)")
	fs.StringVar(&cfg.AccessKey, "access-key", envOr("AWS_ACCESS_KEY_ID", "cairn-dev-access"), "access key (env AWS_ACCESS_KEY_ID)")
	fs.StringVar(&cfg.SecretKey, "secret-key", envOr("AWS_SECRET_ACCESS_KEY", "cairn-dev-secret-key"), "secret key (env AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&cfg.Bucket, "bucket", "cairn-bench", "bucket to use (created if missing)")
	fs.StringVar(&cfg.Prefix, "prefix", "", "key prefix (default cairn-bench/)")
	fs.StringVar(&cfg.Op, "op", "put", "put, get or mixed")
	fs.Float64Var(&cfg.GetRatio, "get-ratio", 0.5, "share of GETs in mixed mode")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "parallel requests")
	fs.DurationVar(&cfg.Duration, "duration", 0, "run this long (default 30s unless --count is set)")
	fs.IntVar(&cfg.Count, "count", 0, "run this many operations")
	fs.IntVar(&cfg.Keys, "keys", 0, "key space (get/mixed: pre-populated first; put: 0 writes fresh keys)")
	fs.BoolVar(&cfg.Populated, "populated", false, "get/mixed: the key space was written by an earlier run (same bucket, prefix, size, --keys); skip populating it")
	fs.BoolVar(&cfg.Cleanup, "cleanup", false, "delete the objects afterwards")
	fs.BoolVar(&cfg.Checksums, "checksums", false, "keep the SDK's default flexible checksums")
	fs.BoolVar(&cfg.UnsignedPayload, "unsigned-payload", true, "sign PUTs with UNSIGNED-PAYLOAD rather than hashing bodies client-side")
	fs.BoolVar(&cfg.Multipart, "multipart", false, "PUT through the SDK upload manager (multipart above --part-size)")
	fs.IntVar(&cfg.PartConcurrency, "part-concurrency", bench.DefaultPartConcurrency, "multipart parts in flight per object")
	fs.BoolVar(&cfg.Chunked, "chunked", false, "PUT as signed aws-chunked streams (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)")
	fs.BoolVar(&cfg.SSEC, "sse-c", false, "send a random per-run SSE-C customer key (AES256) with every PUT and GET")
	fs.BoolVar(&cfg.Verify, "verify", false, "compare every GET byte for byte with what was PUT, and fail the run (exit status 1) if any operation failed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args())
	}
	n, err := parseSize(*size)
	if err != nil {
		return err
	}
	cfg.ObjectSize = n
	if cfg.PartSize, err = parseSize(*partSize); err != nil {
		return fmt.Errorf("--part-size %q: not a size", *partSize)
	}
	if checkOnly {
		return nil
	}
	if cfg.Duration == 0 && cfg.Count == 0 {
		cfg.Duration = 30e9
	}
	if *progress {
		cfg.Out = os.Stderr
	}
	nw, err := netseam.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	if nw != nil {
		cfg.Dial = nw.DialContext
	}
	results, err := bench.Run(ctx, cfg)
	if err == nil && cfg.Verify {
		err = failedOps(results)
	}
	if *asJSON {
		if jerr := bench.ReportJSON(os.Stdout, results); jerr != nil && err == nil {
			err = jerr
		}
	} else {
		bench.Report(os.Stdout, results)
	}
	return err
}

// failedOps is an error naming the failed operations of a run, or nil.
func failedOps(results []bench.Result) error {
	var failed []string
	for _, r := range results {
		if r.Errors > 0 {
			failed = append(failed, fmt.Sprintf("%d %s", r.Errors, r.Op))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("bench --verify: failed operations: %s", strings.Join(failed, ", "))
	}
	return nil
}

// parseSize reads sizes such as 4096, 4KiB, 16MiB, 1GiB, 10MB.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("--size %q: not a size", s)
			}
			return v * u.mult, nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("--size %q: not a size", s)
	}
	return v, nil
}
