package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// errFailedOps reports a bench run in which some operations failed.
var errFailedOps = errors.New("benchcompare: operations failed")

// runBench runs `cairn bench -json` against endpoint with the common
// settings and args, and returns its one result and the client's CPU time.
func runBench(ctx context.Context, cfg Config, endpoint string, args []string) (benchResult, time.Duration, error) {
	full := append([]string{"bench", "--json", "--endpoint", endpoint, "--region", "us-east-1",
		"--access-key", accessKey, "--secret-key", secretKey, "--bucket", "bench"}, args...)
	cmd := exec.CommandContext(ctx, cfg.CairnBin, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var client time.Duration
	if cmd.ProcessState != nil {
		client = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	res, err := parseBenchJSON(stdout.Bytes())
	if err != nil {
		if runErr != nil {
			return benchResult{}, client, fmt.Errorf("benchcompare: cairn bench %s: %w: %s", strings.Join(args, " "), runErr, lastLine(stderr.String()))
		}
		return benchResult{}, client, err
	}
	if res.Errors > 0 {
		return res, client, fmt.Errorf("%w: %d of %d %s (%s)", errFailedOps, res.Errors, res.Errors+res.Ops, res.Op, res.FirstError)
	}
	if runErr != nil {
		return res, client, fmt.Errorf("benchcompare: cairn bench %s: %w: %s", strings.Join(args, " "), runErr, lastLine(stderr.String()))
	}
	return res, client, nil
}

// parseBenchJSON reads `cairn bench -json` output: an array holding the
// run's one result.
func parseBenchJSON(b []byte) (benchResult, error) {
	var rs []benchResult
	if err := json.Unmarshal(b, &rs); err != nil {
		return benchResult{}, fmt.Errorf("benchcompare: cairn bench output: %w", err)
	}
	if len(rs) != 1 {
		return benchResult{}, fmt.Errorf("benchcompare: cairn bench gave %d results, want 1", len(rs))
	}
	return rs[0], nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
