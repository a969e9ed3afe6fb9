package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// newNodeCmd is the data-node command group; operations on one node
// (drain, remove, ...) are added to it as subcommands.
func newNodeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "List and manage data nodes",
	}
	cmd.AddCommand(newNodeListCmd(g), newNodeDrainCmd(g), newNodeRemoveCmd(g))
	cmd.AddCommand(newNodeSetWeightCmd(g), newNodeRebalanceCmd(g))
	return cmd
}

type nodeListJSON struct {
	ID            string `json:"id"`
	Addr          string `json:"addr"`
	Zone          string `json:"zone,omitempty"`
	Rack          string `json:"rack,omitempty"`
	Host          string `json:"host,omitempty"`
	State         string `json:"state"`
	Healthy       bool   `json:"healthy"`
	UsedBytes     int64  `json:"used_bytes"`
	CapacityBytes int64  `json:"capacity_bytes"`
}

// nodeStateName is a node state without the enum's prefix, lowercase.
func nodeStateName(s cairnpb.NodeState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "NODE_STATE_"))
}

func newNodeListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List data nodes with their placement labels, health and usage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCallCtl(cmd.Context(), g, "list data nodes", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListDataNodesResponse, error) {
				return a.ListDataNodes(ctx, &cairnpb.ListDataNodesRequest{})
			})
			if err != nil {
				return err
			}
			if g.output == "json" {
				out := make([]nodeListJSON, 0, len(resp.GetNodes()))
				for _, st := range resp.GetNodes() {
					n := st.GetNode()
					out = append(out, nodeListJSON{
						ID: n.GetId(), Addr: n.GetAddr(), Zone: n.GetZone(), Rack: n.GetRack(), Host: n.GetHost(),
						State: nodeStateName(n.GetState()), Healthy: st.GetHealthy(),
						UsedBytes: n.GetUsedBytes(), CapacityBytes: n.GetCapacityBytes(),
					})
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "ID\tADDR\tZONE\tRACK\tHOST\tSTATE\tHEALTH\tUSED\tCAPACITY\n")
			for _, st := range resp.GetNodes() {
				n := st.GetNode()
				health := "healthy"
				if !st.GetHealthy() {
					health = "UNHEALTHY"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.GetId(), n.GetAddr(), dash(n.GetZone()), dash(n.GetRack()), dash(n.GetHost()),
					nodeStateName(n.GetState()), health, bytesHuman(n.GetUsedBytes()), bytesHuman(n.GetCapacityBytes()))
			}
			return tw.Flush()
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
