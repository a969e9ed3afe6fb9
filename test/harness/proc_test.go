package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RaceReports finds the race detector's reports in a process's log, counts
// them, and is empty for a clean log.
func TestRaceReports(t *testing.T) {
	dir := t.TempDir()
	p := newProc("cairn", dir, "data-1", "127.0.0.1:1", false)
	if got := p.RaceReports(); got != "" {
		t.Fatalf("no log yet: %q", got)
	}
	clean := "time=... level=INFO msg=\"serving\"\n"
	if err := os.WriteFile(filepath.Join(dir, "data-1.log"), []byte(clean), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := p.RaceReports(); got != "" {
		t.Fatalf("clean log: %q", got)
	}
	report := "==================\nWARNING: DATA RACE\nWrite at 0x00c000 by goroutine 7:\n  main.f()\n==================\n"
	if err := os.WriteFile(filepath.Join(dir, "data-1.log"), []byte(clean+report+clean+report), 0o644); err != nil {
		t.Fatal(err)
	}
	got := p.RaceReports()
	if !strings.HasPrefix(got, "2 report(s)") || !strings.Contains(got, "main.f()") {
		t.Fatalf("log with two reports: %q", got)
	}
}
