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

// adminCall connects to the cluster, runs f against the Admin service and
// words the errors an operator can act on.
func adminCall[T any](ctx context.Context, g *globals, what string, f func(context.Context, cairnpb.AdminClient) (T, error)) (T, error) {
	var zero T
	if err := g.checkOutput(); err != nil {
		return zero, err
	}
	c, err := g.client()
	if err != nil {
		return zero, err
	}
	defer c.Close()
	ctx, cancel := g.context(ctx)
	defer cancel()
	out, err := metaclient.Admin(ctx, c, f)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return zero, fmt.Errorf("%s: no meta node answered at %s within %s: is the cluster running? (%w)", what, g.addr, g.timeout, err)
		}
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func newNamespaceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "namespace",
		Aliases: []string{"ns"},
		Short:   "Create, list and show namespaces (one per tenant)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create a namespace (lowercase letters, digits and hyphens)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := adminCall(cmd.Context(), g, "create namespace "+args[0], func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateNamespaceResponse, error) {
				return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: args[0]})
			})
			if err != nil {
				return err
			}
			return writeNamespaces(cmd.OutOrStdout(), g.output, []*cairnpb.Namespace{resp.GetNamespace()})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List namespaces",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCall(cmd.Context(), g, "list namespaces", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListNamespacesResponse, error) {
				return a.ListNamespaces(ctx, &cairnpb.ListNamespacesRequest{})
			})
			if err != nil {
				return err
			}
			return writeNamespaces(cmd.OutOrStdout(), g.output, resp.GetNamespaces())
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "get NAME",
		Short: "Show a namespace with its number of users and buckets",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := adminCall(cmd.Context(), g, "get namespace "+args[0], func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.GetNamespaceResponse, error) {
				return a.GetNamespace(ctx, &cairnpb.GetNamespaceRequest{Name: args[0]})
			})
			if err != nil {
				return err
			}
			n := resp.GetNamespace()
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), namespaceJSON{
					Name: n.GetName(), OCID: n.GetOcid(), Created: unixTime(n.GetCreatedUnixNano()), Users: resp.GetUsers(), Buckets: resp.GetBuckets(),
				})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "NAMESPACE\tOCID\tCREATED\tUSERS\tBUCKETS\n")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", n.GetName(), orDash(n.GetOcid()), unixTime(n.GetCreatedUnixNano()).Format(time.RFC3339), resp.GetUsers(), resp.GetBuckets())
			return tw.Flush()
		},
	})
	return cmd
}

type namespaceJSON struct {
	Name    string    `json:"name"`
	OCID    string    `json:"ocid,omitempty"`
	Created time.Time `json:"created"`
	Users   int32     `json:"users"`
	Buckets int32     `json:"buckets"`
}

func writeNamespaces(w io.Writer, output string, ns []*cairnpb.Namespace) error {
	if output == "json" {
		out := make([]namespaceJSON, 0, len(ns))
		for _, n := range ns {
			out = append(out, namespaceJSON{Name: n.GetName(), OCID: n.GetOcid(), Created: unixTime(n.GetCreatedUnixNano())})
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NAMESPACE\tOCID\tCREATED\n")
	for _, n := range ns {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n.GetName(), orDash(n.GetOcid()), unixTime(n.GetCreatedUnixNano()).Format(time.RFC3339))
	}
	return tw.Flush()
}
