package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseFlags(os.Args[1:])
	if err == nil {
		err = Run(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-compare:", err)
		os.Exit(1)
	}
}

// Config is one comparison run.
type Config struct {
	Reps     int
	Duration time.Duration
	Big      bool
	Targets  []string // keys of targets(), in run order

	CairnBin, CairnctlBin, ClusterScript string
	// MinIOBin and WeedBin override the pinned builds when set.
	MinIOBin, WeedBin string
	BinDir            string // bin/: the comparators are cached in bin/compare
	WorkDir           string // stores and logs; a new temporary one when empty
	Out               string // every sample as JSON; none when empty
	ClusterBasePort   int
	ReadyTimeout      time.Duration
	ProcRoot          string
}

func parseFlags(args []string) (Config, error) {
	fs := flag.NewFlagSet("bench-compare", flag.ContinueOnError)
	var cfg Config
	var targetList string
	fs.IntVar(&cfg.Reps, "reps", envInt("BENCH_REPS", 3), "repetitions of every target (env BENCH_REPS)")
	fs.DurationVar(&cfg.Duration, "duration", envDuration("BENCH_DURATION", 20*time.Second), "length of each timed workload (env BENCH_DURATION)")
	fs.BoolVar(&cfg.Big, "big", os.Getenv("BENCH_BIG") == "1", "add 8 x 1 GiB PUT and GET (env BENCH_BIG=1)")
	fs.StringVar(&targetList, "targets", envOr("BENCH_TARGETS", "dev,cluster,minio,seaweedfs"), "targets to run, in order (env BENCH_TARGETS)")
	fs.StringVar(&cfg.CairnBin, "cairn", "bin/cairn", "the cairn binary (server and load client)")
	fs.StringVar(&cfg.CairnctlBin, "cairnctl", "bin/cairnctl", "the cairnctl binary (for the cluster script)")
	fs.StringVar(&cfg.ClusterScript, "cluster-script", "deploy/local/cluster.sh", "the local cluster script")
	fs.StringVar(&cfg.MinIOBin, "minio", os.Getenv("MINIO_BIN"), "a MinIO server binary to use instead of the pinned build (env MINIO_BIN)")
	fs.StringVar(&cfg.WeedBin, "weed", os.Getenv("WEED_BIN"), "a SeaweedFS weed binary to use instead of the pinned build (env WEED_BIN)")
	fs.StringVar(&cfg.BinDir, "bin-dir", "bin", "where built comparison servers are cached (under compare/)")
	fs.StringVar(&cfg.WorkDir, "work-dir", os.Getenv("BENCH_WORK_DIR"), "where stores and logs go (default: a new temporary directory; env BENCH_WORK_DIR)")
	fs.StringVar(&cfg.Out, "out", "bin/bench-compare.json", "write every sample here as JSON (empty: do not)")
	fs.IntVar(&cfg.ClusterBasePort, "cluster-base-port", 27000, "BASE_PORT for the cluster script")
	fs.DurationVar(&cfg.ReadyTimeout, "ready-timeout", 2*time.Minute, "how long a server may take to serve its first PUT")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.Reps < 1 {
		return cfg, fmt.Errorf("-reps %d: at least 1", cfg.Reps)
	}
	for t := range strings.SplitSeq(targetList, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.Targets = append(cfg.Targets, t)
		}
	}
	cfg.ProcRoot = "/proc"
	return cfg, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

func envDuration(k string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(k)); err == nil {
		return v
	}
	return def
}
