package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the meta group (members, leader) and the data nodes with their health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := g.context(cmd.Context())
			defer cancel()
			st, err := metaclient.Admin(ctx, c, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.StatusResponse, error) {
				return a.Status(ctx, &cairnpb.StatusRequest{})
			})
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("no meta node answered at %s within %s: is the cluster running? (%w)", g.addr, g.timeout, err)
				}
				return fmt.Errorf("status: %w", err)
			}
			// Repair progress comes from the leader; without one, skip it.
			rs, _ := metaclient.Admin(ctx, c, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RepairStatusResponse, error) {
				return a.RepairStatus(ctx, &cairnpb.RepairStatusRequest{})
			})
			bs, _ := metaclient.Admin(ctx, c, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RebalanceStatusResponse, error) {
				return a.RebalanceStatus(ctx, &cairnpb.RebalanceStatusRequest{})
			})
			js, _ := metaclient.Admin(ctx, c, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.LeaderJobsResponse, error) {
				return a.LeaderJobs(ctx, &cairnpb.LeaderJobsRequest{})
			})
			if g.output == "json" {
				return writeStatusJSON(cmd.OutOrStdout(), st, rs.GetStatus(), bs.GetStatus(), js.GetJobs())
			}
			if err := writeStatusTable(cmd.OutOrStdout(), st, time.Now()); err != nil || rs == nil {
				return err
			}
			writeRepairTable(cmd.OutOrStdout(), rs.GetStatus())
			if bs != nil {
				writeRebalanceTable(cmd.OutOrStdout(), bs.GetStatus())
			}
			if js != nil {
				writeLeaderJobsTable(cmd.OutOrStdout(), js, time.Now())
			}
			return nil
		},
	}
}

type statusJSON struct {
	Cluster  string       `json:"cluster_id"`
	Leader   string       `json:"leader"`
	Members  []memberJSON `json:"members"`
	Nodes    []nodeJSON   `json:"data_nodes"`
	Commit   uint64       `json:"commit_index"`
	Applied  uint64       `json:"applied_index"`
	Answered string       `json:"answered_by"`
	Repair   *repairJSON  `json:"repair,omitempty"`

	Rebalance *rebalanceJSON  `json:"rebalance,omitempty"`
	Jobs      []leaderJobJSON `json:"leader_jobs,omitempty"`
}

type memberJSON struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	GRPCAddr string `json:"grpc_addr"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
}

type nodeJSON struct {
	ID            string    `json:"id"`
	Addr          string    `json:"addr"`
	Healthy       bool      `json:"healthy"`
	Zone          string    `json:"zone,omitempty"`
	Rack          string    `json:"rack,omitempty"`
	Host          string    `json:"host,omitempty"`
	CapacityBytes int64     `json:"capacity_bytes"`
	UsedBytes     int64     `json:"used_bytes"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
}

func writeStatusJSON(w io.Writer, st *cairnpb.StatusResponse, rs *cairnpb.RepairStatus, bs *cairnpb.RebalanceStatus, jobs []*cairnpb.LeaderJob) error {
	out := statusJSON{Cluster: st.GetClusterId(), Leader: st.GetLeaderId(), Commit: st.GetCommitIndex(), Applied: st.GetAppliedIndex(), Answered: st.GetAnsweredBy()}
	if len(jobs) > 0 {
		out.Jobs = leaderJobsJSON(jobs)
	}
	if bs != nil {
		b := rebalanceJSONOf(bs)
		out.Rebalance = &b
	}
	if rs != nil {
		r := repairJSONOf(rs)
		out.Repair = &r
	}
	for _, m := range st.GetMembers() {
		out.Members = append(out.Members, memberJSON{m.GetId(), m.GetRaftAddr(), m.GetGrpcAddr(), m.GetSuffrage(), m.GetLeader()})
	}
	for _, n := range st.GetNodes() {
		d := n.GetNode()
		out.Nodes = append(out.Nodes, nodeJSON{
			ID: d.GetId(), Addr: d.GetAddr(), Healthy: n.GetHealthy(), Zone: d.GetZone(), Rack: d.GetRack(), Host: d.GetHost(),
			CapacityBytes: d.GetCapacityBytes(), UsedBytes: d.GetUsedBytes(),
			LastHeartbeat: time.Unix(0, d.GetLastHeartbeatUnixNano()).UTC(),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeStatusTable(w io.Writer, st *cairnpb.StatusResponse, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "META MEMBER\tRAFT ADDR\tGRPC ADDR\tSUFFRAGE\tROLE\n")
	for _, m := range st.GetMembers() {
		role := "follower"
		if m.GetLeader() {
			role = "leader"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.GetId(), m.GetRaftAddr(), m.GetGrpcAddr(), m.GetSuffrage(), role)
	}
	fmt.Fprintf(tw, "\nDATA NODE\tADDR\tHEALTH\tUSED\tCAPACITY\tLAST HEARTBEAT\n")
	for _, n := range st.GetNodes() {
		d := n.GetNode()
		health := "healthy"
		if !n.GetHealthy() {
			health = "UNHEALTHY"
		}
		ago := "never"
		if hb := d.GetLastHeartbeatUnixNano(); hb > 0 {
			ago = now.Sub(time.Unix(0, hb)).Round(100*time.Millisecond).String() + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.GetId(), d.GetAddr(), health, bytesHuman(d.GetUsedBytes()), bytesHuman(d.GetCapacityBytes()), ago)
	}
	cluster := st.GetClusterId()
	if cluster == "" {
		cluster = "(not drawn yet)"
	}
	fmt.Fprintf(tw, "\ncluster: %s   leader: %s   commit index: %d   applied index: %d   answered by: %s\n", cluster, st.GetLeaderId(), st.GetCommitIndex(), st.GetAppliedIndex(), st.GetAnsweredBy())
	return tw.Flush()
}

func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
