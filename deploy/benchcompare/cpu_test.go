package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// A real line (from a cairn process) with a command name that holds a
// space and a ')' to make sure fields are counted from the last one.
const statLine = "4242 (cairn) x) S 1 4242 4242 0 -1 4194560 90123 0 12 0 1234 567 0 0 20 0 9 0 12345 1500000000 20000 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0\n"

func TestParseStatCPU(t *testing.T) {
	got, err := parseStatCPU(statLine)
	if err != nil {
		t.Fatal(err)
	}
	if want := (1234 + 567) * 10 * time.Millisecond; got != want {
		t.Errorf("cpu = %v, want %v (utime 1234 + stime 567 ticks of 10ms)", got, want)
	}
	for _, bad := range []string{
		"",
		"4242 cairn S 1 2 3", // no parentheses
		"4242 (cairn) S 1 4242 4242 0 -1 4194560",                         // too short
		"4242 (cairn) S 1 4242 4242 0 -1 4194560 90123 0 12 0 12x4 567 0", // not a number
	} {
		if _, err := parseStatCPU(bad); !errors.Is(err, errBadStat) {
			t.Errorf("parseStatCPU(%q) = %v, want errBadStat", bad, err)
		}
	}
}

func writeStat(t *testing.T, root string, pid string, utime, stime int) {
	t.Helper()
	dir := filepath.Join(root, pid)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	line := pid + " (p) S 1 1 1 0 -1 0 0 0 0 0 " + strconv.Itoa(utime) + " " + strconv.Itoa(stime) + " 0 0 20 0 1 0 1 1 1\n"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSampleCPUSumsKinds(t *testing.T) {
	root := t.TempDir()
	writeStat(t, root, "10", 100, 50) // 1.5 s
	writeStat(t, root, "11", 200, 0)  // 2 s
	writeStat(t, root, "12", 10, 10)  // 0.2 s
	procs := []proc{{"data", 10}, {"data", 11}, {"gateway", 12}}
	got, err := sampleCPU(root, procs)
	if err != nil {
		t.Fatal(err)
	}
	if got["data"] != 3500*time.Millisecond || got["gateway"] != 200*time.Millisecond || len(got) != 2 {
		t.Errorf("sample = %v, want data 3.5s, gateway 200ms", got)
	}
	if _, err := sampleCPU(root, append(procs, proc{"meta", 99})); err == nil {
		t.Error("a vanished process gave no error")
	}
}

func TestCPUPerGiB(t *testing.T) {
	before := map[string]time.Duration{"data": time.Second, "gateway": 0}
	after := map[string]time.Duration{"data": 4 * time.Second, "gateway": 500 * time.Millisecond}
	got := cpuPerGiB(before, after, 512<<20) // half a GiB
	if math.Abs(got["data"]-6) > 1e-9 || math.Abs(got["gateway"]-1) > 1e-9 {
		t.Errorf("per GiB = %v, want data 6, gateway 1", got)
	}
	if got := cpuPerGiB(before, after, 0); got != nil {
		t.Errorf("no bytes moved gave %v, want nil", got)
	}
}
