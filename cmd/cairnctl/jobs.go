package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

type leaderJobJSON struct {
	Name         string    `json:"name"`
	Active       bool      `json:"active"`
	Running      bool      `json:"running"`
	Rounds       uint64    `json:"rounds"`
	Errors       uint64    `json:"errors"`
	LastError    string    `json:"last_error,omitempty"`
	LastDuration string    `json:"last_round,omitempty"`
	LastSuccess  time.Time `json:"last_success,omitzero"`
	Progress     string    `json:"progress,omitempty"`
}

func leaderJobsJSON(jobs []*cairnpb.LeaderJob) []leaderJobJSON {
	out := make([]leaderJobJSON, 0, len(jobs))
	for _, j := range jobs {
		e := leaderJobJSON{Name: j.GetName(), Active: j.GetActive(), Running: j.GetRunning(), Rounds: j.GetRounds(),
			Errors: j.GetErrors(), LastError: j.GetLastError(), Progress: j.GetProgress()}
		if j.GetRounds() > 0 {
			e.LastDuration = time.Duration(j.GetLastDurationNanos()).String()
		}
		if t := j.GetLastSuccessUnixNano(); t > 0 {
			e.LastSuccess = time.Unix(0, t).UTC()
		}
		out = append(out, e)
	}
	return out
}

// writeLeaderJobsTable prints the leader's jobs: whether each runs now,
// its rounds and failures, and when it last succeeded.
func writeLeaderJobsTable(w io.Writer, resp *cairnpb.LeaderJobsResponse, now time.Time) {
	fmt.Fprintf(w, "\nLEADER JOBS (on %s)\n", resp.GetLeaderId())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "JOB\tSTATE\tROUNDS\tERRORS\tLAST ROUND\tLAST SUCCESS\tLAST ERROR\n")
	for _, j := range resp.GetJobs() {
		state := "idle"
		switch {
		case j.GetRunning():
			state = "running"
		case !j.GetActive():
			state = "stopped"
		}
		last, ok := "-", "never"
		if j.GetRounds() > 0 {
			last = time.Duration(j.GetLastDurationNanos()).Round(time.Millisecond).String()
		}
		if t := j.GetLastSuccessUnixNano(); t > 0 {
			ok = now.Sub(time.Unix(0, t)).Round(time.Second).String() + " ago"
		}
		errText := j.GetLastError()
		if errText == "" {
			errText = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", j.GetName(), state, j.GetRounds(), j.GetErrors(), last, ok, errText)
	}
	tw.Flush()
	for _, j := range resp.GetJobs() {
		if p := j.GetProgress(); p != "" {
			fmt.Fprintf(w, "  %s: %s\n", j.GetName(), p)
		}
	}
}
