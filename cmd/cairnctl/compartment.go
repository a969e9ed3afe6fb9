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

func newCompartmentCmd(g *globals) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "compartment",
		Short: "Create and list a namespace's compartments; choose where S3 creates buckets",
	}
	cmd.PersistentFlags().StringVarP(&ns, "namespace", "n", "", "the namespace (required)")
	_ = cmd.MarkPersistentFlagRequired("namespace")
	var parent string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a compartment (under the root compartment unless --parent is given)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := adminCall(cmd.Context(), g, fmt.Sprintf("create compartment %s in namespace %s", args[0], ns), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateCompartmentResponse, error) {
				return a.CreateCompartment(ctx, &cairnpb.CreateCompartmentRequest{Namespace: ns, Name: args[0], Parent: parent})
			})
			if err != nil {
				return err
			}
			return writeCompartments(cmd.OutOrStdout(), g.output, []*cairnpb.Compartment{resp.GetCompartment()}, "")
		},
	}
	create.Flags().StringVar(&parent, "parent", "root", "the parent compartment")
	cmd.AddCommand(create)
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the namespace's compartments, the root first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCall(cmd.Context(), g, "list compartments of namespace "+ns, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListCompartmentsResponse, error) {
				return a.ListCompartments(ctx, &cairnpb.ListCompartmentsRequest{Namespace: ns})
			})
			if err != nil {
				return err
			}
			return writeCompartments(cmd.OutOrStdout(), g.output, resp.GetCompartments(), resp.GetS3Compartment())
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "set-s3-default NAME",
		Short: "Make S3 CreateBucket put new buckets in this compartment (existing buckets stay where they are)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := adminCall(cmd.Context(), g, fmt.Sprintf("set the S3 compartment of namespace %s to %s", ns, args[0]), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.SetS3CompartmentResponse, error) {
				return a.SetS3Compartment(ctx, &cairnpb.SetS3CompartmentRequest{Namespace: ns, Compartment: args[0]})
			})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"namespace": ns, "s3_compartment": args[0]})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "buckets created through S3 in namespace %s now go to compartment %s\n", ns, args[0])
			return err
		},
	})
	return cmd
}

type compartmentJSON struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	OCID      string    `json:"ocid,omitempty"`
	Parent    string    `json:"parent,omitempty"`
	S3Default bool      `json:"s3_default"`
	Created   time.Time `json:"created"`
}

// writeCompartments prints compartments; s3 names the S3 compartment
// ("" when unknown).
func writeCompartments(w io.Writer, output string, comps []*cairnpb.Compartment, s3 string) error {
	if output == "json" {
		out := make([]compartmentJSON, 0, len(comps))
		for _, c := range comps {
			out = append(out, compartmentJSON{Namespace: c.GetNamespace(), Name: c.GetName(), OCID: c.GetOcid(), Parent: c.GetParent(),
				S3Default: s3 != "" && c.GetName() == s3, Created: unixTime(c.GetCreatedUnixNano())})
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NAMESPACE\tCOMPARTMENT\tOCID\tPARENT\tS3 DEFAULT\tCREATED\n")
	for _, c := range comps {
		parent, def := c.GetParent(), ""
		if parent == "" {
			parent = "-"
		}
		if s3 != "" && c.GetName() == s3 {
			def = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.GetNamespace(), c.GetName(), orDash(c.GetOcid()), parent, def, unixTime(c.GetCreatedUnixNano()).Format(time.RFC3339))
	}
	return tw.Flush()
}
