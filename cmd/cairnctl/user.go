package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func newUserCmd(g *globals) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Create, list and delete the users of a namespace",
	}
	cmd.PersistentFlags().StringVarP(&ns, "namespace", "n", "", "the namespace (required)")
	_ = cmd.MarkPersistentFlagRequired("namespace")
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create a user in the namespace",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := adminCall(cmd.Context(), g, fmt.Sprintf("create user %s in namespace %s", args[0], ns), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateUserResponse, error) {
				return a.CreateUser(ctx, &cairnpb.CreateUserRequest{Namespace: ns, Name: args[0]})
			})
			if err != nil {
				return err
			}
			return writeUsers(cmd.OutOrStdout(), g.output, []*cairnpb.User{resp.GetUser()})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the namespace's users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCall(cmd.Context(), g, "list users of namespace "+ns, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListUsersResponse, error) {
				return a.ListUsers(ctx, &cairnpb.ListUsersRequest{Namespace: ns})
			})
			if err != nil {
				return err
			}
			return writeUsers(cmd.OutOrStdout(), g.output, resp.GetUsers())
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user and all its access keys",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := adminCall(cmd.Context(), g, fmt.Sprintf("delete user %s in namespace %s", args[0], ns), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeleteUserResponse, error) {
				return a.DeleteUser(ctx, &cairnpb.DeleteUserRequest{Namespace: ns, Name: args[0]})
			})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"deleted": args[0], "namespace": ns})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "deleted user %s of namespace %s and its access keys\n", args[0], ns)
			return err
		},
	})
	return cmd
}

type userJSON struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	OCID      string    `json:"ocid,omitempty"`
	Created   time.Time `json:"created"`
}

func writeUsers(w io.Writer, output string, users []*cairnpb.User) error {
	if output == "json" {
		out := make([]userJSON, 0, len(users))
		for _, u := range users {
			out = append(out, userJSON{Namespace: u.GetNamespace(), Name: u.GetName(), OCID: u.GetOcid(), Created: unixTime(u.GetCreatedUnixNano())})
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NAMESPACE\tUSER\tOCID\tCREATED\n")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.GetNamespace(), u.GetName(), orDash(u.GetOcid()), unixTime(u.GetCreatedUnixNano()).Format(time.RFC3339))
	}
	return tw.Flush()
}

// orDash is v, or "-" when it is empty (an OCID not assigned yet).
func orDash(v string) string {
	if v == "" {
		return "-"
	}
	return v
}
