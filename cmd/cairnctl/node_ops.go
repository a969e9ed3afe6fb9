package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// newNodeDrainCmd is `cairnctl node drain ID`: the node takes no new
// shards and the repair engine copies its shards elsewhere, switching each
// record before the old copy is garbage-collected.
func newNodeDrainCmd(g *globals) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "drain ID",
		Short: "Move every shard off a live data node (it takes no new ones)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return setNodeState(cmd, g, args[0], cairnpb.NodeState_NODE_STATE_DRAINING, wait)
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the repair engine to finish (0: return at once)")
	return cmd
}

// newNodeRemoveCmd is `cairnctl node remove ID`: the node is declared dead
// and the repair engine rebuilds its shards from parity at once.
func newNodeRemoveCmd(g *globals) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "remove ID",
		Short: "Declare a data node dead and rebuild its shards elsewhere now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return setNodeState(cmd, g, args[0], cairnpb.NodeState_NODE_STATE_REMOVED, wait)
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the repair engine to finish (0: return at once)")
	return cmd
}

func setNodeState(cmd *cobra.Command, g *globals, id string, state cairnpb.NodeState, wait time.Duration) error {
	started := time.Now()
	resp, err := adminCallCtl(cmd.Context(), g, fmt.Sprintf("set node %s %s", id, nodeStateName(state)), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.SetNodeStateResponse, error) {
		return a.SetNodeState(ctx, &cairnpb.SetNodeStateRequest{NodeId: id, State: state})
	})
	if err != nil {
		return err
	}
	var st *cairnpb.RepairStatus
	if wait > 0 {
		if st, err = waitRepaired(cmd.Context(), g, started, wait); err != nil {
			return err
		}
	}
	if g.output == "json" {
		out := map[string]any{"node": id, "state": nodeStateName(resp.GetNode().GetState())}
		if st != nil {
			out["repair"] = repairJSONOf(st)
		}
		return writeJSON(cmd.OutOrStdout(), out)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "data node %s is now %s\n", id, nodeStateName(resp.GetNode().GetState()))
	if st != nil {
		writeRepairTable(cmd.OutOrStdout(), st)
	}
	return nil
}

// waitRepaired polls the repair engine until a scan that started after
// since finds nothing under-replicated or left to move.
func waitRepaired(ctx context.Context, g *globals, since time.Time, wait time.Duration) (*cairnpb.RepairStatus, error) {
	deadline := time.Now().Add(wait)
	for {
		resp, err := adminCallCtl(ctx, g, "repair status", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RepairStatusResponse, error) {
			return a.RepairStatus(ctx, &cairnpb.RepairStatusRequest{})
		})
		if err == nil {
			st := resp.GetStatus()
			if st.GetLastScanUnixNano() > since.UnixNano() && st.GetUnderReplicated() == 0 && st.GetToMove() == 0 {
				return st, nil
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("repair not done after %s: %d units left, %s", wait, resp.GetStatus().GetUnitsLeft(), bytesHuman(resp.GetStatus().GetBytesLeft()))
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

type repairJSON struct {
	Running         bool     `json:"running"`
	LastScan        string   `json:"last_scan,omitempty"`
	UnitsScanned    int64    `json:"units_scanned"`
	UnderReplicated int64    `json:"under_replicated"`
	ToMove          int64    `json:"to_move"`
	LostUnits       int64    `json:"lost_units"`
	UnitsLeft       int64    `json:"units_left"`
	BytesLeft       int64    `json:"bytes_left"`
	UnitsRepaired   int64    `json:"units_repaired"`
	BytesRepaired   int64    `json:"bytes_repaired"`
	RateBytesPerSec float64  `json:"rate_bytes_per_second"`
	ETASeconds      float64  `json:"eta_seconds"`
	CorruptReports  int64    `json:"corrupt_reports"`
	Failures        int64    `json:"failures"`
	LostNodes       []string `json:"lost_nodes,omitempty"`
	DrainingNodes   []string `json:"draining_nodes,omitempty"`
	// Versions gateways could not read (Meta.ReportUnreadable).
	UnreadableReported int64            `json:"unreadable_reported"`
	RecentUnreadable   []unreadableJSON `json:"recent_unreadable,omitempty"`
}

type unreadableJSON struct {
	Namespace      string `json:"namespace"`
	Bucket         string `json:"bucket"`
	Key            string `json:"key"`
	VersionID      string `json:"version_id"`
	ShardsReadable int32  `json:"shards_readable"`
	ShardsNeeded   int32  `json:"shards_needed"`
	Reporter       string `json:"reporter"`
	Reported       string `json:"reported"`
	Detail         string `json:"detail"`
}

func repairJSONOf(st *cairnpb.RepairStatus) repairJSON {
	out := repairJSON{
		Running: st.GetRunning(), UnitsScanned: st.GetUnitsScanned(), UnderReplicated: st.GetUnderReplicated(),
		ToMove: st.GetToMove(), LostUnits: st.GetLostUnits(), UnitsLeft: st.GetUnitsLeft(), BytesLeft: st.GetBytesLeft(),
		UnitsRepaired: st.GetUnitsRepaired(), BytesRepaired: st.GetBytesRepaired(), RateBytesPerSec: st.GetRateBytesPerSecond(),
		ETASeconds: st.GetEtaSeconds(), CorruptReports: st.GetCorruptReports(), Failures: st.GetFailures(),
		LostNodes: st.GetLostNodes(), DrainingNodes: st.GetDrainingNodes(),
		UnreadableReported: st.GetUnreadableReported(),
	}
	for _, r := range st.GetRecentUnreadable() {
		out.RecentUnreadable = append(out.RecentUnreadable, unreadableJSON{
			Namespace: r.GetNamespace(), Bucket: r.GetBucket(), Key: r.GetKey(), VersionID: r.GetVersionId(),
			ShardsReadable: r.GetShardsReadable(), ShardsNeeded: r.GetShardsNeeded(), Reporter: r.GetReporter(),
			Reported: time.Unix(0, r.GetUnixNano()).UTC().Format(time.RFC3339), Detail: r.GetDetail(),
		})
	}
	if t := st.GetLastScanUnixNano(); t > 0 {
		out.LastScan = time.Unix(0, t).UTC().Format(time.RFC3339)
	}
	return out
}

// writeRepairTable prints the repair engine's progress.
func writeRepairTable(w io.Writer, st *cairnpb.RepairStatus) {
	scan := "no scan yet"
	if t := st.GetLastScanUnixNano(); t > 0 {
		scan = "last scan " + time.Since(time.Unix(0, t)).Round(time.Second).String() + " ago"
	}
	eta := "-"
	if e := st.GetEtaSeconds(); e >= 0 && st.GetUnitsLeft() > 0 {
		eta = (time.Duration(e) * time.Second).String()
	}
	fmt.Fprintf(w, "\nREPAIR (%s, %d units scanned)\n", scan, st.GetUnitsScanned())
	fmt.Fprintf(w, "  under-replicated: %d   to move (draining): %d   unreadable: %d   corrupt reports: %d\n",
		st.GetUnderReplicated(), st.GetToMove(), st.GetLostUnits(), st.GetCorruptReports())
	fmt.Fprintf(w, "  left: %d objects/parts, %s   rate: %s/s   ETA: %s   repaired: %d (%s)   failures: %d\n",
		st.GetUnitsLeft(), bytesHuman(st.GetBytesLeft()), bytesHuman(int64(st.GetRateBytesPerSecond())), eta,
		st.GetUnitsRepaired(), bytesHuman(st.GetBytesRepaired()), st.GetFailures())
	if len(st.GetLostNodes()) > 0 {
		fmt.Fprintf(w, "  lost nodes: %v\n", st.GetLostNodes())
	}
	if n := st.GetUnreadableReported(); n > 0 {
		fmt.Fprintf(w, "  UNREADABLE objects reported by gateways: %d (fewer shards readable than decoding needs)\n", n)
		for _, r := range st.GetRecentUnreadable() {
			fmt.Fprintf(w, "    %s/%s/%s version %s: %d of %d shards readable, %s ago, by %s\n", r.GetNamespace(), r.GetBucket(), r.GetKey(),
				r.GetVersionId(), r.GetShardsReadable(), r.GetShardsNeeded(), time.Since(time.Unix(0, r.GetUnixNano())).Round(time.Second), r.GetReporter())
		}
	}
	if len(st.GetDrainingNodes()) > 0 {
		fmt.Fprintf(w, "  draining nodes: %v\n", st.GetDrainingNodes())
	}
}
