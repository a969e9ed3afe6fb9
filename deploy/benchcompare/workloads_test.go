package main

import (
	"slices"
	"testing"
	"time"
)

func argValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// Every workload that reads with --populated reads a key space that a run
// before it (its own Populate, or an earlier workload) wrote with the same
// prefix, size and --keys, each key once (--count equal to --keys).
func TestPopulatedWorkloadsReadWrittenKeys(t *testing.T) {
	for _, big := range []bool{false, true} {
		type space struct{ prefix, size, keys string }
		written := map[space]bool{}
		note := func(args []string) {
			if argValue(args, "--op") == "put" && argValue(args, "--keys") != "" && argValue(args, "--keys") == argValue(args, "--count") {
				written[space{argValue(args, "--prefix"), argValue(args, "--size"), argValue(args, "--keys")}] = true
			}
		}
		for _, w := range workloads(time.Second, big) {
			note(w.Populate)
			if slices.Contains(w.Args, "--populated") {
				sp := space{argValue(w.Args, "--prefix"), argValue(w.Args, "--size"), argValue(w.Args, "--keys")}
				if !written[sp] {
					t.Errorf("big=%v: %s reads %+v, which nothing before it wrote", big, w.Name, sp)
				}
			}
			note(w.Args)
		}
	}
}

func TestWorkloadsAreTheIssueTable(t *testing.T) {
	var names []string
	for _, w := range workloads(time.Second, true) {
		names = append(names, w.Name)
		if argValue(w.Args, "--duration") == "" && argValue(w.Args, "--count") == "" {
			t.Errorf("%s has neither a duration nor a count", w.Name)
		}
	}
	want := []string{"PUT 16MiB c8", "GET 16MiB c8", "PUT 4KiB c32", "GET 4KiB c32", "GET 4KiB c1", "PUT 1GiB c8", "GET 1GiB c8"}
	if !slices.Equal(names, want) {
		t.Errorf("workloads %q, want %q", names, want)
	}
	if n := len(workloads(time.Second, false)); n != 5 {
		t.Errorf("%d workloads without big, want 5", n)
	}
}
