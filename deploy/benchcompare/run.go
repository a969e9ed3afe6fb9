package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Run builds or locates the servers, runs every workload on every target
// rep after rep, and prints the tables to stdout (progress to stderr).
func Run(ctx context.Context, cfg Config) error {
	all := targets(cfg)
	var ts []target
	for _, key := range cfg.Targets {
		i := indexOf(all, key)
		if i < 0 {
			return fmt.Errorf("unknown target %q (known: dev, cluster, minio, seaweedfs)", key)
		}
		ts = append(ts, all[i])
	}
	minio, weed := comparators()
	var err error
	for _, t := range ts {
		switch t.Key {
		case "minio":
			cfg.MinIOBin, err = locate(ctx, minio, cfg.BinDir, cfg.MinIOBin, os.Stderr)
		case "seaweedfs":
			cfg.WeedBin, err = locate(ctx, weed, cfg.BinDir, cfg.WeedBin, os.Stderr)
		}
		if err != nil {
			return err
		}
	}
	// The targets' start functions read cfg: take them again with the
	// binaries filled in.
	all = targets(cfg)
	for i := range ts {
		ts[i] = all[indexOf(all, ts[i].Key)]
	}
	if cfg.WorkDir == "" {
		if cfg.WorkDir, err = os.MkdirTemp("", "cairn-bench-compare-"); err != nil {
			return fmt.Errorf("benchcompare: %w", err)
		}
	}
	ws := workloads(cfg.Duration, cfg.Big)
	start := time.Now()
	var samples []sample
	for rep := 1; rep <= cfg.Reps; rep++ {
		for _, t := range ts {
			samples = append(samples, runTarget(ctx, cfg, rep, t, ws)...)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	if cfg.Out != "" {
		b, err := json.MarshalIndent(samples, "", "  ")
		if err == nil {
			err = os.WriteFile(cfg.Out, b, 0o644)
		}
		if err != nil {
			return fmt.Errorf("benchcompare: writing %s: %w", cfg.Out, err)
		}
	}
	fmt.Printf("\n== bench-compare: %d cores, %d reps, %s per timed workload, %s in all; logs in %s ==\n",
		runtime.NumCPU(), cfg.Reps, cfg.Duration, time.Since(start).Round(time.Second), cfg.WorkDir)
	fmt.Printf("MinIO: %s\nSeaweedFS: %s\n\n", cfg.MinIOBin, cfg.WeedBin)
	if err := render(os.Stdout, throughputTable(ws, ts, samples)); err != nil {
		return err
	}
	fmt.Println("\nServer CPU seconds per GiB moved (median over reps; client: the load generator)")
	if err := render(os.Stdout, cpuTable(ws, ts, samples)); err != nil {
		return err
	}
	var failed []string
	for _, s := range samples {
		if s.Err != "" {
			failed = append(failed, fmt.Sprintf("rep %d %s %s: %s", s.Rep, s.Target, s.Workload, s.Err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d samples failed:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return nil
}

func indexOf(ts []target, key string) int {
	for i, t := range ts {
		if t.Key == key {
			return i
		}
	}
	return -1
}

// runTarget starts a fresh instance of t, runs every workload on it and
// stops it, removing its store. A failure is recorded in the samples.
func runTarget(ctx context.Context, cfg Config, rep int, t target, ws []workload) []sample {
	name := fmt.Sprintf("%s-%d", t.Key, rep)
	dir := filepath.Join(cfg.WorkDir, "store-"+name)
	logDir := filepath.Join(cfg.WorkDir, "logs-"+name)
	fail := func(err error) []sample {
		fmt.Fprintf(os.Stderr, "rep %d %s: %v\n", rep, t.Name, err)
		out := make([]sample, len(ws))
		for i, w := range ws {
			out[i] = sample{Rep: rep, Target: t.Key, Workload: w.Name, Err: err.Error()}
		}
		return out
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fail(err)
	}
	inst, err := t.start(ctx, dir, logDir)
	if err != nil {
		os.RemoveAll(dir)
		return fail(err)
	}
	defer func() {
		if err := inst.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "rep %d %s: stopping: %v\n", rep, t.Name, err)
		}
		os.RemoveAll(dir)
	}()
	var out []sample
	for _, w := range ws {
		s := runWorkload(ctx, cfg, inst, w)
		s.Rep, s.Target, s.Workload = rep, t.Key, w.Name
		if s.Err != "" {
			fmt.Fprintf(os.Stderr, "rep %d %-13s %-13s failed: %s\n", rep, t.Name, w.Name, s.Err)
		} else {
			fmt.Fprintf(os.Stderr, "rep %d %-13s %-13s %8s %s  cpu s/GiB: %s\n", rep, t.Name, w.Name,
				w.Metric.format(w.Metric.value(s.Result)), w.Metric.label(), cpuLine(append(t.Kinds, clientKind), s.CPU))
		}
		out = append(out, s)
		if ctx.Err() != nil {
			break
		}
	}
	return out
}

func cpuLine(kinds []string, cpu map[string]float64) string {
	var parts []string
	for _, k := range kinds {
		if v, ok := cpu[k]; ok {
			parts = append(parts, k+" "+formatCPU(v))
		}
	}
	return strings.Join(parts, ", ")
}

// runWorkload writes w's key space if it has one, then brackets the
// measured run with CPU samples of the instance's processes.
func runWorkload(ctx context.Context, cfg Config, inst *instance, w workload) sample {
	var s sample
	if w.Populate != nil {
		if _, _, err := runBench(ctx, cfg, inst.Endpoint, w.Populate); err != nil {
			s.Err = fmt.Sprintf("populating: %v", err)
			return s
		}
	}
	before, err := sampleCPU(cfg.ProcRoot, inst.Procs)
	if err != nil {
		s.Err = err.Error()
		return s
	}
	res, client, runErr := runBench(ctx, cfg, inst.Endpoint, w.Args)
	after, err := sampleCPU(cfg.ProcRoot, inst.Procs)
	s.Result = res
	if err = errors.Join(runErr, err); err != nil {
		s.Err = err.Error()
		return s
	}
	s.CPU = cpuPerGiB(before, after, res.Bytes)
	if s.CPU != nil {
		s.CPU[clientKind] = client.Seconds() / (float64(res.Bytes) / (1 << 30))
	}
	return s
}
