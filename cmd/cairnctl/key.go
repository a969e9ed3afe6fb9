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

func newKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Create, list, deactivate and delete users' access keys (customer secret keys)",
	}
	var createNS, createUser string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an access key for a user; the secret is shown only now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCall(cmd.Context(), g, fmt.Sprintf("create key for user %s in namespace %s", createUser, createNS), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateAccessKeyResponse, error) {
				return a.CreateAccessKey(ctx, &cairnpb.CreateAccessKeyRequest{Namespace: createNS, User: createUser})
			})
			if err != nil {
				return err
			}
			k := resp.GetKey()
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), keyToJSON(k))
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "access key id:  %s\n", k.GetAccessKeyId())
			fmt.Fprintf(w, "secret key:     %s\n", k.GetSecret())
			fmt.Fprintf(w, "namespace/user: %s/%s\n", k.GetNamespace(), k.GetUser())
			_, err = fmt.Fprintf(w, "The secret key is not shown again: store it now.\n")
			return err
		},
	}
	create.Flags().StringVarP(&createNS, "namespace", "n", "", "the user's namespace (required)")
	create.Flags().StringVarP(&createUser, "user", "u", "", "the user (required)")
	_ = create.MarkFlagRequired("namespace")
	_ = create.MarkFlagRequired("user")

	var listNS, listUser string
	list := &cobra.Command{
		Use:   "list",
		Short: "List a namespace's (or one user's) access keys, without secrets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCall(cmd.Context(), g, "list keys of namespace "+listNS, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListAccessKeysResponse, error) {
				return a.ListAccessKeys(ctx, &cairnpb.ListAccessKeysRequest{Namespace: listNS, User: listUser})
			})
			if err != nil {
				return err
			}
			return writeKeys(cmd.OutOrStdout(), g.output, resp.GetKeys())
		},
	}
	list.Flags().StringVarP(&listNS, "namespace", "n", "", "the namespace (required)")
	list.Flags().StringVarP(&listUser, "user", "u", "", "only this user's keys")
	_ = list.MarkFlagRequired("namespace")

	cmd.AddCommand(create, list, &cobra.Command{
		Use:   "deactivate ACCESS_KEY_ID",
		Short: "Deactivate an access key; gateways refuse it within a few seconds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := adminCall(cmd.Context(), g, "deactivate key "+args[0], func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeactivateAccessKeyResponse, error) {
				return a.DeactivateAccessKey(ctx, &cairnpb.DeactivateAccessKeyRequest{AccessKeyId: args[0]})
			})
			return keyDone(cmd.OutOrStdout(), g.output, err, args[0], "deactivated")
		},
	}, &cobra.Command{
		Use:   "delete ACCESS_KEY_ID",
		Short: "Delete an access key; gateways refuse it within a few seconds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := adminCall(cmd.Context(), g, "delete key "+args[0], func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeleteAccessKeyResponse, error) {
				return a.DeleteAccessKey(ctx, &cairnpb.DeleteAccessKeyRequest{AccessKeyId: args[0]})
			})
			return keyDone(cmd.OutOrStdout(), g.output, err, args[0], "deleted")
		},
	})
	return cmd
}

func keyDone(w io.Writer, output string, err error, id, what string) error {
	if err != nil {
		return err
	}
	if output == "json" {
		return writeJSON(w, map[string]string{"access_key_id": id, "result": what})
	}
	_, err = fmt.Fprintf(w, "%s access key %s\n", what, id)
	return err
}

type keyJSON struct {
	AccessKeyID string    `json:"access_key_id"`
	Secret      string    `json:"secret_key,omitempty"`
	Namespace   string    `json:"namespace"`
	User        string    `json:"user"`
	Active      bool      `json:"active"`
	Created     time.Time `json:"created"`
}

func keyToJSON(k *cairnpb.AccessKey) keyJSON {
	return keyJSON{
		AccessKeyID: k.GetAccessKeyId(), Secret: k.GetSecret(), Namespace: k.GetNamespace(), User: k.GetUser(),
		Active: k.GetActive(), Created: unixTime(k.GetCreatedUnixNano()),
	}
}

func writeKeys(w io.Writer, output string, keys []*cairnpb.AccessKey) error {
	if output == "json" {
		out := make([]keyJSON, 0, len(keys))
		for _, k := range keys {
			out = append(out, keyToJSON(k))
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ACCESS KEY ID\tNAMESPACE\tUSER\tSTATE\tCREATED\n")
	for _, k := range keys {
		state := "active"
		if !k.GetActive() {
			state = "INACTIVE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.GetAccessKeyId(), k.GetNamespace(), k.GetUser(), state, unixTime(k.GetCreatedUnixNano()).Format(time.RFC3339))
	}
	return tw.Flush()
}
