package main

import (
	"context"
	"fmt"
	"io"
	"strings"
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
	resp, err := adminCallCtl(cmd.Context(), g, fmt.Sprintf("set node %s %s", id, nodeStateName(state)), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.SetNodeStateResponse, error) {
		return a.SetNodeState(ctx, &cairnpb.SetNodeStateRequest{NodeId: id, State: state})
	})
	if err != nil {
		return err
	}
	var st *cairnpb.RepairStatus
	if wait > 0 {
		if st, err = waitRepaired(cmd.Context(), g, resp.GetAppliedIndex(), wait); err != nil {
			return err
		}
	} else {
		// The state change starts a repair round at once: its scan says
		// whether every shard the node held can be placed elsewhere.
		st = scanAfter(cmd.Context(), g, resp.GetAppliedIndex(), blockedCheckWait)
	}
	if g.output == "json" {
		out := map[string]any{"node": id, "state": nodeStateName(resp.GetNode().GetState())}
		if st != nil {
			out["repair"] = repairJSONOf(st)
		}
		return writeJSON(cmd.OutOrStdout(), out)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "data node %s is now %s\n", id, nodeStateName(resp.GetNode().GetState()))
	switch {
	case wait > 0 && st != nil:
		writeRepairTable(cmd.OutOrStdout(), st)
	case len(st.GetBlocked()) > 0:
		fmt.Fprintf(cmd.OutOrStdout(), "WARNING: repair cannot rebuild every shard now; add data nodes (hosts) or bring nodes back:\n")
		writeBlocked(cmd.OutOrStdout(), st)
	}
	return nil
}

// blockedCheckWait bounds how long `node remove` and `node drain` wait for
// the repair scan that tells whether anything is blocked.
const blockedCheckWait = 10 * time.Second

// scanAfter returns the repair status once it comes from a scan that saw
// every command up to Raft index since, or nil when none does within limit
// (the leader is busy with a long round, or cannot be reached). Indexes,
// not clocks: a scan that finished after the command may have begun
// reading before it applied.
func scanAfter(ctx context.Context, g *globals, since uint64, limit time.Duration) *cairnpb.RepairStatus {
	deadline := time.Now().Add(limit)
	for {
		resp, err := adminCallCtl(ctx, g, "repair status", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RepairStatusResponse, error) {
			return a.RepairStatus(ctx, &cairnpb.RepairStatusRequest{})
		})
		if err == nil && scannedSince(resp.GetStatus(), since) {
			return resp.GetStatus()
		}
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitRepaired polls the repair engine until a scan that saw every command
// up to Raft index since finds nothing under-replicated or left to move.
func waitRepaired(ctx context.Context, g *globals, since uint64, wait time.Duration) (*cairnpb.RepairStatus, error) {
	deadline := time.Now().Add(wait)
	for {
		resp, err := adminCallCtl(ctx, g, "repair status", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RepairStatusResponse, error) {
			return a.RepairStatus(ctx, &cairnpb.RepairStatusRequest{})
		})
		if err == nil {
			st := resp.GetStatus()
			if scannedSince(st, since) && st.GetUnderReplicated() == 0 && st.GetToMove() == 0 {
				return st, nil
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				st := resp.GetStatus()
				err = fmt.Errorf("repair not done after %s: %d units left, %s", wait, st.GetUnitsLeft(), bytesHuman(st.GetBytesLeft()))
				if len(st.GetBlocked()) > 0 {
					err = fmt.Errorf("%w; %d objects/parts cannot be repaired now: %s", err, st.GetBlockedUnits(), strings.Join(st.GetBlocked(), "; "))
				}
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

// scannedSince says whether st comes from a scan that saw every command up
// to Raft index since.
func scannedSince(st *cairnpb.RepairStatus, since uint64) bool {
	return st.GetLastScanUnixNano() > 0 && st.GetLastScanIndex() >= since
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
	// Why repair cannot proceed, in words, and how many units wait.
	Blocked      []string `json:"blocked,omitempty"`
	BlockedUnits int64    `json:"blocked_units"`
	// Shards gateways reported (Meta.ReportShards), checked, confirmed.
	ShardReportsReceived  int64          `json:"shard_reports_received"`
	ShardReportsChecked   int64          `json:"shard_reports_checked"`
	ShardReportsConfirmed int64          `json:"shard_reports_confirmed"`
	Inventory             *inventoryJSON `json:"inventory,omitempty"`
}

// inventoryJSON is the inventory reconciliation's progress.
type inventoryJSON struct {
	PassStarted      string  `json:"pass_started,omitempty"` // empty: no pass under way
	UnitsDone        int64   `json:"units_done"`
	ShardsChecked    int64   `json:"shards_checked"`
	FoundMissing     int64   `json:"found_missing"`
	FoundMismatched  int64   `json:"found_mismatched"`
	NodesSkipped     int64   `json:"nodes_skipped"`
	Passes           int64   `json:"passes"`
	LastPassFinished string  `json:"last_pass_finished,omitempty"`
	LastPassSeconds  float64 `json:"last_pass_seconds"`
	LastPassUnits    int64   `json:"last_pass_units"`
	LastPassMissing  int64   `json:"last_pass_missing"`
	LastPassMismatch int64   `json:"last_pass_mismatched"`
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
		Blocked:            st.GetBlocked(), BlockedUnits: st.GetBlockedUnits(),
		ShardReportsReceived: st.GetShardReportsReceived(), ShardReportsChecked: st.GetShardReportsChecked(),
		ShardReportsConfirmed: st.GetShardReportsConfirmed(),
	}
	if inv := st.GetInventory(); inv != nil {
		out.Inventory = &inventoryJSON{
			UnitsDone: inv.GetUnitsDone(), ShardsChecked: inv.GetShardsChecked(), FoundMissing: inv.GetFoundMissing(),
			FoundMismatched: inv.GetFoundMismatched(), NodesSkipped: inv.GetNodesSkipped(), Passes: inv.GetPasses(),
			LastPassSeconds: time.Duration(inv.GetLastPassDurationNanos()).Seconds(), LastPassUnits: inv.GetLastPassUnits(),
			LastPassMissing: inv.GetLastPassMissing(), LastPassMismatch: inv.GetLastPassMismatched(),
		}
		if t := inv.GetPassStartedUnixNano(); t > 0 {
			out.Inventory.PassStarted = time.Unix(0, t).UTC().Format(time.RFC3339)
		}
		if t := inv.GetLastPassFinishedUnixNano(); t > 0 {
			out.Inventory.LastPassFinished = time.Unix(0, t).UTC().Format(time.RFC3339)
		}
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
	writeBlocked(w, st)
	if n := st.GetShardReportsReceived(); n > 0 {
		fmt.Fprintf(w, "  shards reported by gateways: %d, checked: %d, confirmed missing or mismatched: %d\n",
			n, st.GetShardReportsChecked(), st.GetShardReportsConfirmed())
	}
	writeInventory(w, st.GetInventory(), time.Now())
}

// writeBlocked prints why repair cannot proceed, if it cannot.
func writeBlocked(w io.Writer, st *cairnpb.RepairStatus) {
	if len(st.GetBlocked()) == 0 {
		return
	}
	fmt.Fprintf(w, "  BLOCKED: %d objects/parts cannot be fully repaired now:\n", st.GetBlockedUnits())
	for _, r := range st.GetBlocked() {
		fmt.Fprintf(w, "    %s\n", r)
	}
}

// writeInventory prints the inventory reconciliation's progress.
func writeInventory(w io.Writer, inv *cairnpb.InventoryProgress, now time.Time) {
	if inv == nil {
		return
	}
	pass := "idle"
	if t := inv.GetPassStartedUnixNano(); t > 0 {
		pass = fmt.Sprintf("pass started %s ago: %d objects/parts, %d shards checked, %d missing, %d mismatched, %d nodes skipped",
			now.Sub(time.Unix(0, t)).Round(time.Second), inv.GetUnitsDone(), inv.GetShardsChecked(),
			inv.GetFoundMissing(), inv.GetFoundMismatched(), inv.GetNodesSkipped())
	}
	fmt.Fprintf(w, "  inventory reconciliation: %s\n", pass)
	if t := inv.GetLastPassFinishedUnixNano(); t > 0 {
		fmt.Fprintf(w, "    last full pass: finished %s ago, took %s, %d objects/parts, %d missing, %d mismatched (%d passes)\n",
			now.Sub(time.Unix(0, t)).Round(time.Second), time.Duration(inv.GetLastPassDurationNanos()).Round(time.Second),
			inv.GetLastPassUnits(), inv.GetLastPassMissing(), inv.GetLastPassMismatched(), inv.GetPasses())
	}
}
