package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// Linux fixes it at 100 on every architecture Go supports.
const clockTicks = 100

// errBadStat reports a /proc/<pid>/stat text that cannot be parsed.
var errBadStat = errors.New("benchcompare: malformed /proc stat")

// proc is one server process and the kind it is charged to.
type proc struct {
	Kind string
	PID  int
}

// parseStatCPU returns the user plus system CPU time in the text of a
// /proc/<pid>/stat file. The command name (field 2) is in parentheses and
// may itself hold spaces and parentheses, so fields are counted from the
// last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: no command name", errBadStat)
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: %d fields after the command name", errBadStat, len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %q is not a tick count", errBadStat, s)
		}
		ticks += v
	}
	return time.Duration(ticks) * (time.Second / clockTicks), nil
}

// sampleCPU returns the CPU time used so far by the processes, summed per
// kind. procRoot is "/proc" outside tests. A process that is gone is an
// error: a server that died mid-run makes the run's figures meaningless.
func sampleCPU(procRoot string, procs []proc) (map[string]time.Duration, error) {
	out := make(map[string]time.Duration)
	for _, p := range procs {
		b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(p.PID), "stat"))
		if err != nil {
			return nil, fmt.Errorf("benchcompare: %s process %d: %w", p.Kind, p.PID, err)
		}
		d, err := parseStatCPU(string(b))
		if err != nil {
			return nil, fmt.Errorf("benchcompare: %s process %d: %w", p.Kind, p.PID, err)
		}
		out[p.Kind] += d
	}
	return out, nil
}

// cpuPerGiB turns two samples and the bytes moved between them into CPU
// seconds per GiB for every kind in after. With no bytes moved it returns
// nil.
func cpuPerGiB(before, after map[string]time.Duration, bytes int64) map[string]float64 {
	if bytes <= 0 {
		return nil
	}
	gib := float64(bytes) / (1 << 30)
	out := make(map[string]float64, len(after))
	for k, a := range after {
		out[k] = (a - before[k]).Seconds() / gib
	}
	return out
}
