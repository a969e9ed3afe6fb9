package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func newGroupCmd(g *globals) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Create and list a namespace's groups; add and remove their users",
	}
	cmd.PersistentFlags().StringVarP(&ns, "namespace", "n", "", "the namespace (required)")
	_ = cmd.MarkPersistentFlagRequired("namespace")
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create a group (letters, digits, '.', '-' and '_')",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := adminCall(cmd.Context(), g, fmt.Sprintf("create group %s in namespace %s", args[0], ns), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateGroupResponse, error) {
				return a.CreateGroup(ctx, &cairnpb.CreateGroupRequest{Namespace: ns, Name: args[0]})
			})
			if err != nil {
				return err
			}
			return writeGroups(cmd.OutOrStdout(), g.output, []*cairnpb.Group{resp.GetGroup()})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the namespace's groups with their members",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCall(cmd.Context(), g, "list groups of namespace "+ns, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListGroupsResponse, error) {
				return a.ListGroups(ctx, &cairnpb.ListGroupsRequest{Namespace: ns})
			})
			if err != nil {
				return err
			}
			return writeGroups(cmd.OutOrStdout(), g.output, resp.GetGroups())
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "add-user GROUP USER",
		Short: "Add a user to a group",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := adminCall(cmd.Context(), g, fmt.Sprintf("add user %s to group %s in namespace %s", args[1], args[0], ns), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.AddGroupMemberResponse, error) {
				return a.AddGroupMember(ctx, &cairnpb.AddGroupMemberRequest{Namespace: ns, Group: args[0], User: args[1]})
			})
			if err != nil {
				return err
			}
			return writeMembership(cmd.OutOrStdout(), g.output, ns, args[0], args[1], true)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "remove-user GROUP USER",
		Short: "Remove a user from a group (its rights go within seconds on every gateway)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := adminCall(cmd.Context(), g, fmt.Sprintf("remove user %s from group %s in namespace %s", args[1], args[0], ns), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RemoveGroupMemberResponse, error) {
				return a.RemoveGroupMember(ctx, &cairnpb.RemoveGroupMemberRequest{Namespace: ns, Group: args[0], User: args[1]})
			})
			if err != nil {
				return err
			}
			return writeMembership(cmd.OutOrStdout(), g.output, ns, args[0], args[1], false)
		},
	})
	return cmd
}

func writeMembership(w io.Writer, output, ns, group, user string, member bool) error {
	if output == "json" {
		return writeJSON(w, map[string]any{"namespace": ns, "group": group, "user": user, "member": member})
	}
	verb := "added user %s to group %s of namespace %s\n"
	if !member {
		verb = "removed user %s from group %s of namespace %s\n"
	}
	_, err := fmt.Fprintf(w, verb, user, group, ns)
	return err
}

type groupJSON struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	OCID      string    `json:"ocid,omitempty"`
	Members   []string  `json:"members"`
	Created   time.Time `json:"created"`
}

func writeGroups(w io.Writer, output string, groups []*cairnpb.Group) error {
	if output == "json" {
		out := make([]groupJSON, 0, len(groups))
		for _, gr := range groups {
			members := gr.GetMembers()
			if members == nil {
				members = []string{}
			}
			out = append(out, groupJSON{Namespace: gr.GetNamespace(), Name: gr.GetName(), OCID: gr.GetOcid(), Members: members, Created: unixTime(gr.GetCreatedUnixNano())})
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NAMESPACE\tGROUP\tOCID\tMEMBERS\tCREATED\n")
	for _, gr := range groups {
		members := strings.Join(gr.GetMembers(), ",")
		if members == "" {
			members = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", gr.GetNamespace(), gr.GetName(), orDash(gr.GetOcid()), members, unixTime(gr.GetCreatedUnixNano()).Format(time.RFC3339))
	}
	return tw.Flush()
}
