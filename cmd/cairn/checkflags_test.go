package main

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"
)

// TestCheckFlags: check-flags accepts what the server commands accept and
// refuses unknown flags, badly typed values, stray arguments and
// contradictory bootstrap modes, with the reason.
func TestCheckFlags(t *testing.T) {
	peers := "--peers=m-0=m-0.m:7001,m-1=m-1.m:7001,m-2=m-2.m:7001"
	for _, c := range []struct {
		args []string
		err  string // "" when accepted
	}{
		{[]string{"meta", "--id", "m-1", "--dir", "/d", peers, "--raft-addr", "m-1.m:7001", "--bootstrap-if-peer"}, ""},
		{[]string{"meta", "--id", "m-3", "--dir", "/d", peers, "--raft-addr", "m-3.m:7001", "--bootstrap-if-peer"}, ""},
		{[]string{"meta", "--id", "m-1", "--dir", "/d", peers, "--bootstrap-if-peer", "--join"}, "give neither"},
		{[]string{"meta", "--id", "m-3", "--dir", "/d", "--restore", "/s", peers, "--bootstrap-if-peer"}, "--restore needs --bootstrap"},
		{[]string{"meta", "--id", "m-1", "--dir", "/d", "--nope"}, "not defined: -nope"},
		{[]string{"meta", "--id", "m-1", "--dir", "/d", "extra"}, "unexpected arguments"},
		{[]string{"data", "--id", "d-0", "--dir", "/d", "--zone", "a", "--weight", "2.5"}, ""},
		{[]string{"data", "--id", "d-0", "--dir", "/d", "--weight", "heavy"}, "invalid value"},
		{[]string{"data", "--dir", "/d"}, "--id and --dir are required"},
		{[]string{"gateway", "--listen", ":9000", "--data-shards", "4", "--memory-limit", "400MiB"}, ""},
		{[]string{"gateway", "--data-shards", "four"}, "invalid value"},
		{[]string{"meta", "--id", "m-1", "--dir", "/d", "--lifecycle-day", "2s"}, ""},
		{[]string{"gateway", "--lifecycle-day", "2s"}, ""},
		{[]string{"gateway", "--tls-cert", "/c"}, "go together"},
		{[]string{"bench", "--op", "mixed", "--count", "8", "--size", "64KiB", "--verify"}, ""},
		{[]string{"bench", "--size", "big"}, "not a size"},
		{[]string{"version"}, "want meta, data, gateway or bench"},
	} {
		err := checkFlags(context.Background(), c.args)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: refused: %v", c.args, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: got %v, want an error saying %q", c.args, err, c.err)
		}
	}
}

// TestHiddenFlags: a hidden flag parses, and --help does not show it.
func TestHiddenFlags(t *testing.T) {
	fs := flag.NewFlagSet("cairn meta", flag.ContinueOnError)
	var out strings.Builder
	fs.SetOutput(&out)
	day := fs.Duration(lifecycleDayFlag, time.Hour, "testing only")
	fs.Int("shown", 1, "an ordinary flag")
	hideFlags(fs, lifecycleDayFlag)
	if err := fs.Parse([]string{"--" + lifecycleDayFlag, "2s"}); err != nil || *day != 2*time.Second {
		t.Fatalf("parse: %v, day %v", err, *day)
	}
	if err := fs.Parse([]string{"-h"}); err != flag.ErrHelp {
		t.Fatalf("-h: %v", err)
	}
	if !strings.Contains(out.String(), "-shown") || strings.Contains(out.String(), lifecycleDayFlag) {
		t.Fatalf("usage:\n%s", out.String())
	}
}
