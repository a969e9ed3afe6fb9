package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// newNodeSetWeightCmd is `cairnctl node set-weight ID W`: the node's share
// of placements changes, and the rebalancer moves the shards that the new
// weight places elsewhere.
func newNodeSetWeightCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "set-weight ID WEIGHT",
		Short: "Set a data node's placement weight (kept over its --weight flag)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			w, err := strconv.ParseFloat(args[1], 64)
			if err != nil || !(w > 0) {
				return fmt.Errorf("weight %q: want a positive number", args[1])
			}
			resp, err := adminCallCtl(cmd.Context(), g, "set node weight", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.SetNodeWeightResponse, error) {
				return a.SetNodeWeight(ctx, &cairnpb.SetNodeWeightRequest{NodeId: args[0], Weight: w})
			})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"node": args[0], "weight": resp.GetNode().GetWeight()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "data node %s now has weight %g\n", args[0], resp.GetNode().GetWeight())
			return nil
		},
	}
}

// newNodeRebalanceCmd is `cairnctl node rebalance`: a rebalance pass now,
// also when automatic rebalancing is off.
func newNodeRebalanceCmd(g *globals) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "rebalance",
		Short: "Move shards to where placement puts them now (a rebalance pass)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			resp, err := adminCallCtl(cmd.Context(), g, "rebalance", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RebalanceResponse, error) {
				return a.Rebalance(ctx, &cairnpb.RebalanceRequest{})
			})
			if err != nil {
				return err
			}
			st := resp.GetStatus()
			if wait > 0 {
				// A pass already running started before the request: wait
				// for the one after it.
				passes := st.GetPasses()
				if st.GetRunning() {
					passes++
				}
				if st, err = waitRebalanced(cmd.Context(), g, passes, wait); err != nil {
					return err
				}
			}
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), rebalanceJSONOf(st))
			}
			if wait > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "rebalance pass finished")
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), "rebalance pass requested")
			}
			writeRebalanceTable(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the pass to finish (0: return at once)")
	return cmd
}

// waitRebalanced polls until the leader finished more than passes passes.
func waitRebalanced(ctx context.Context, g *globals, passes int64, wait time.Duration) (*cairnpb.RebalanceStatus, error) {
	deadline := time.Now().Add(wait)
	for {
		resp, err := adminCallCtl(ctx, g, "rebalance status", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RebalanceStatusResponse, error) {
			return a.RebalanceStatus(ctx, &cairnpb.RebalanceStatusRequest{})
		})
		if err == nil && resp.GetStatus().GetPasses() > passes && !resp.GetStatus().GetRunning() {
			return resp.GetStatus(), nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				st := resp.GetStatus()
				err = fmt.Errorf("rebalance not done after %s: %d of %d shards moved", wait, st.GetShardsMoved(), st.GetShardsToMove())
			}
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

type rebalanceJSON struct {
	Enabled          bool   `json:"enabled"`
	Running          bool   `json:"running"`
	WaitingForRepair bool   `json:"waiting_for_repair"`
	Layout           string `json:"layout,omitempty"`
	LastPass         string `json:"last_pass,omitempty"`
	Passes           int64  `json:"passes"`
	UnitsScanned     int64  `json:"units_scanned"`
	UnitsToMove      int64  `json:"units_to_move"`
	ShardsToMove     int64  `json:"shards_to_move"`
	ShardsMoved      int64  `json:"shards_moved"`
	BytesMoved       int64  `json:"bytes_moved"`
	Blocked          int64  `json:"blocked"`
	Failures         int64  `json:"failures"`
	TotalShardsMoved int64  `json:"total_shards_moved"`
}

func rebalanceJSONOf(st *cairnpb.RebalanceStatus) rebalanceJSON {
	out := rebalanceJSON{
		Enabled: st.GetEnabled(), Running: st.GetRunning(), WaitingForRepair: st.GetWaitingForRepair(),
		Layout: st.GetLayout(), Passes: st.GetPasses(), UnitsScanned: st.GetUnitsScanned(),
		UnitsToMove: st.GetUnitsToMove(), ShardsToMove: st.GetShardsToMove(), ShardsMoved: st.GetShardsMoved(),
		BytesMoved: st.GetBytesMoved(), Blocked: st.GetBlocked(), Failures: st.GetFailures(),
		TotalShardsMoved: st.GetTotalShardsMoved(),
	}
	if t := st.GetLastPassUnixNano(); t > 0 {
		out.LastPass = time.Unix(0, t).UTC().Format(time.RFC3339)
	}
	return out
}

// writeRebalanceTable prints the rebalancer's progress.
func writeRebalanceTable(w io.Writer, st *cairnpb.RebalanceStatus) {
	mode := "automatic"
	if !st.GetEnabled() {
		mode = "manual only"
	}
	state := "idle"
	switch {
	case st.GetRunning():
		state = "running"
	case st.GetWaitingForRepair():
		state = "waiting for repair"
	}
	last := "no pass yet"
	if t := st.GetLastPassUnixNano(); t > 0 {
		last = "last pass " + time.Since(time.Unix(0, t)).Round(time.Second).String() + " ago"
	}
	fmt.Fprintf(w, "\nREBALANCE (%s, %s, %s)\n", mode, state, last)
	fmt.Fprintf(w, "  shards to move: %d (in %d of %d objects/parts)   moved: %d (%s)   blocked: %d   failures: %d   moved since leader: %d\n",
		st.GetShardsToMove(), st.GetUnitsToMove(), st.GetUnitsScanned(), st.GetShardsMoved(), bytesHuman(st.GetBytesMoved()),
		st.GetBlocked(), st.GetFailures(), st.GetTotalShardsMoved())
}
