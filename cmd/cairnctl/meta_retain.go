package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func newMetaRetainCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "retain ID...",
		Short: "Remove every meta member not named, one at a time, before their nodes are stopped",
		Long: `Remove from the meta group every member whose ID is not among the arguments,
one at a time and highest ID first (the leader hands leadership over before it
removes itself). Named IDs that are not members are ignored, so the same
command line serves a scale-up. Nothing needs a leader when nobody is to be
removed. It refuses to remove every member.

Run it before stopping the removed members' nodes: a member stopped first still
counts towards the group's majority until it is removed. The Helm chart runs
it as a pre-upgrade hook with the IDs of the meta pods the upgrade keeps.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := adminCallCtl(cmd.Context(), g, "read meta members", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.StatusResponse, error) {
				return a.Status(ctx, &cairnpb.StatusRequest{})
			})
			if err != nil {
				return err
			}
			var members []string
			for _, m := range st.GetMembers() {
				members = append(members, m.GetId())
			}
			drop, err := membersToDrop(members, args)
			if err != nil {
				return err
			}
			for _, id := range drop {
				resp, err := adminCallCtl(cmd.Context(), g, "remove meta member "+id, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RemoveMetaMemberResponse, error) {
					return a.RemoveMetaMember(ctx, &cairnpb.RemoveMetaMemberRequest{Id: id})
				})
				if err != nil {
					return err
				}
				if g.output != "json" {
					fmt.Fprintf(cmd.OutOrStdout(), "removed %s; %d members left\n", id, len(resp.GetMembers()))
				}
			}
			if g.output == "json" {
				if drop == nil {
					drop = []string{}
				}
				return writeJSON(cmd.OutOrStdout(), map[string][]string{"removed": drop})
			}
			if len(drop) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "nothing to remove: all %d members are retained\n", len(members))
			}
			return nil
		},
	}
}

// membersToDrop returns the members not in keep, highest first: by length,
// then bytes, so that "meta-10" comes before "meta-9" as ordinals do. It
// refuses when no member would be left.
func membersToDrop(members, keep []string) ([]string, error) {
	var drop []string
	left := 0
	for _, m := range members {
		if slices.Contains(keep, m) {
			left++
		} else {
			drop = append(drop, m)
		}
	}
	if left == 0 && len(members) > 0 {
		return nil, fmt.Errorf("none of %q is a member of the group (members: %q): retaining them would remove every member; check the IDs", keep, members)
	}
	slices.SortFunc(drop, func(a, b string) int {
		return -cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b))
	})
	return drop, nil
}
